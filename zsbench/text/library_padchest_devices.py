"""PadChest labels for tubes, lines, implanted devices, surgical material and foreign bodies: short
descriptions of how they look on a chest radiograph, written for this project (see
:mod:`zsbench.text.library`).
"""

from __future__ import annotations

DEVICE_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "NSG tube": (
        "a nasogastric tube: a thin radiopaque line down the oesophagus ending below the diaphragm in the stomach",
        "a feeding tube running in the midline through the chest with its tip in the gastric air bubble",
        "a tubular radiopaque catheter following the oesophagus behind the trachea and heart",
    ),
    "abnormal foreign body": (
        "a dense object of unexpected shape inside the body, in an airway, the oesophagus or soft tissues",
        "an inhaled or swallowed radiopaque object projected over the chest",
        "a retained foreign object, such as a metal fragment or a coin, within the thorax",
    ),
    "aortic endoprosthesis": (
        "a metallic mesh stent graft outlining the course of the thoracic aorta",
        "a tubular wire framework projected over the aortic arch or descending aorta",
        "an endovascular aortic stent seen as a radiopaque lattice along the aorta",
    ),
    "artificial aortic heart valve": (
        "a ring-shaped metallic prosthesis over the aortic valve, higher and more medial than the mitral position",
        "a prosthetic valve in the aortic position near the centre of the heart shadow",
        "a radiopaque valve ring or struts at the root of the aorta after valve replacement",
    ),
    "artificial heart valve": (
        "a metallic ring or struts within the cardiac silhouette from a replaced valve",
        "a prosthetic cardiac valve seen as a radiopaque circle over the heart",
        "a surgically implanted valve with a dense sewing ring and sometimes visible leaflets",
    ),
    "artificial mitral heart valve": (
        "a prosthetic valve ring over the mitral position, lower and more lateral in the heart",
        "a radiopaque ring in the left atrioventricular region after mitral valve replacement",
        "a metallic mitral prosthesis oriented obliquely in the left centre of the cardiac silhouette",
    ),
    "bone cement": (
        "very dense amorphous material filling a vertebral body or a bone defect",
        "radiopaque cement from vertebroplasty or kyphoplasty within a collapsed vertebra",
        "a bright cloud-shaped density inside bone, sometimes leaking into adjacent veins",
    ),
    "catheter": (
        "a thin radiopaque tube of any kind projected over the chest",
        "a flexible line with a marked tip inserted into a vessel or body cavity",
        "a narrow tubular density following a vascular or visceral course",
    ),
    "central venous catheter": (
        "a thin radiopaque line entering a great vein with its tip in the superior vena cava",
        "a venous catheter ending near the cavoatrial junction at the right heart border",
        "a central line coursing through a brachiocephalic vein into the superior vena cava",
    ),
    "central venous catheter via jugular vein": (
        "a line entering at the base of the neck and descending vertically into the superior vena cava",
        "an internal jugular catheter crossing over the clavicle down into the right mediastinum",
        "a central venous line with a neck entry point and its tip projecting over the superior vena cava",
    ),
    "central venous catheter via subclavian vein": (
        "a line passing beneath the clavicle, then medially into the superior vena cava",
        "a subclavian catheter running horizontally under the clavicle before turning downward",
        "a central line entering below the middle of the clavicle with its tip at the cavoatrial region",
    ),
    "central venous catheter via umbilical vein": (
        "in a newborn, a line rising from the umbilicus through the liver to the inferior vena cava",
        "an umbilical venous catheter coursing upward to the right of the spine with its tip near the diaphragm",
        "a neonatal line through the ductus venosus ending where the inferior vena cava meets the right atrium",
    ),
    "chest drain tube": (
        "a wide tube with a radiopaque stripe entering through the lateral chest wall into the pleural space",
        "a thoracostomy tube curving within the hemithorax towards the apex or the base",
        "a large-bore pleural drain crossing the ribs laterally, placed to remove air or fluid",
    ),
    "dai": (
        "an implantable defibrillator: a generator in the chest wall with a lead carrying thick shock coils",
        "a cardioverter-defibrillator lead with dense coiled segments in the superior vena cava and right ventricle",
        "a subcutaneous device box with a thick coiled lead ending at the apex of the right ventricle",
    ),
    "double J stent": (
        "a thin tube with pigtail curls at both ends along the course of a ureter",
        "a ureteric stent at the lower edge of the film, projected over the kidney and upper abdomen",
        "a radiopaque coiled catheter in the renal pelvis and ureter below the diaphragm",
    ),
    "dual chamber device": (
        "a pacemaker generator with two leads, one in the right atrium and one in the right ventricle",
        "a pacing box in the chest wall with a hooked atrial lead and a lead reaching the cardiac apex",
        "two transvenous pacing wires entering the heart through the superior vena cava",
    ),
    "electrical device": (
        "an electronic implant such as a pacemaker, defibrillator or stimulator with dense metal parts",
        "a box-shaped battery and circuitry projected over the soft tissues with wires attached",
        "a radiopaque implanted generator with connecting leads or electrodes",
    ),
    "endoprosthesis": (
        "an implanted stent or endovascular graft seen as a metallic mesh tube",
        "a tubular radiopaque lattice within a vessel, an airway or the oesophagus",
        "an expandable metal prosthesis placed inside a hollow structure of the chest",
    ),
    "endotracheal tube": (
        "a tube with a radiopaque stripe in the trachea, its tip a few centimetres above the carina",
        "an airway tube passing through the larynx and ending in the mid trachea",
        "a wide tube with opaque walls lying within the tracheal air column",
    ),
    "external foreign body": (
        "an object outside the patient, on the skin or clothes, projected over the chest",
        "a button, clip, piece of jewellery or electrode lying on the surface of the body",
        "a radiopaque item external to the thorax that overlaps the lung fields",
    ),
    "gastrostomy tube": (
        "a feeding tube with a retention balloon or disc entering the stomach through the abdominal wall",
        "a tube projected over the left upper abdomen with its tip in the stomach",
        "a percutaneous gastric tube seen below the left hemidiaphragm",
    ),
    "humeral prosthesis": (
        "a metallic humeral head replacement with a stem in the shaft of the humerus",
        "a dense shoulder arthroplasty component at the edge of the chest film",
        "a prosthetic shoulder joint replacing the upper end of the humerus",
    ),
    "mammary prosthesis": (
        "a rounded homogeneous soft-tissue density over the lower chest from a breast implant",
        "a smooth oval opacity with a sharp curved edge superimposed on the lung bases",
        "a breast implant seen as a dense dome, sometimes with a thin calcified capsule",
    ),
    "mastectomy": (
        "absence of one breast shadow with increased lucency of the affected lower hemithorax",
        "asymmetric breast soft tissues after surgical removal, often with axillary clips",
        "one lower chest more lucent than the other and lacking the curved inferior breast contour",
    ),
    "metal": (
        "a very dense metallic object projected over the chest, such as clips, wires or fragments",
        "a sharply defined bright white metal density with no internal structure",
        "radiopaque metallic material of surgical or accidental origin",
    ),
    "nephrostomy tube": (
        "a drainage catheter entering the kidney through the flank, with a pigtail in the renal pelvis",
        "a percutaneous renal tube seen in the upper abdomen below the diaphragm",
        "a curled radiopaque drain in the renal collecting system exiting posterolaterally",
    ),
    "osteosynthesis material": (
        "metal plates, screws or wires fixing a fracture of a rib, clavicle, humerus or spine",
        "orthopaedic hardware with threaded screws anchored in bone",
        "radiopaque fixation devices along a bone, with straight plates and screw holes",
    ),
    "pacemaker": (
        "a cardiac pacing generator in the upper chest wall with leads running into the right heart",
        "a metal battery box below the clavicle with transvenous wires ending in the right ventricle",
        "a subcutaneous pulse generator connected to the heart by thin leads",
    ),
    "prosthesis": (
        "an artificial implant of metal or other dense material replacing part of the body",
        "a radiopaque manufactured device with regular geometric contours within the body",
        "an implanted prosthetic component seen over the chest, shoulder or heart",
    ),
    "reservoir central venous catheter": (
        "an implanted port: a round chamber under the skin of the upper chest with a catheter to the vena cava",
        "a subcutaneous reservoir with a dense rim and a line tunnelled into a central vein",
        "a port device projected over the anterior chest wall with its catheter tip at the cavoatrial junction",
    ),
    "single chamber device": (
        "a pacemaker with one lead, usually ending at the apex of the right ventricle",
        "a pulse generator in the chest wall with a single transvenous wire into the heart",
        "one pacing lead crossing the tricuspid valve from a subclavicular generator",
    ),
    "sternotomy": (
        "median sternotomy wires: metal loops aligned vertically in the midline over the sternum",
        "several twisted steel sutures along the sternum after open heart surgery",
        "a vertical row of circular wire cerclages projected over the mediastinum",
    ),
    "surgery": (
        "postoperative changes such as clips, sutures, wires or altered anatomy from a previous operation",
        "signs of previous surgery: metal material, missing structures or distorted contours",
        "surgical staples, drains or resection margins seen on the chest film",
    ),
    "surgery breast": (
        "surgical clips in the breast or axilla with distorted breast soft tissues",
        "postoperative breast changes: an asymmetric breast shadow and metallic clips",
        "breast surgery with clips, scarring or an implant over the lower chest",
    ),
    "surgery heart": (
        "signs of cardiac surgery: sternotomy wires, valve rings and clips on bypass grafts",
        "coronary bypass clips along the heart border and median sternal wires",
        "a postoperative heart with prosthetic valves, epicardial pacing wires or an altered contour",
    ),
    "surgery humeral": (
        "plates, screws or nails in the proximal humerus after surgery",
        "orthopaedic fixation of the upper arm visible at the edge of the film",
        "post-surgical changes of the humerus with metal hardware",
    ),
    "surgery lung": (
        "staple lines or suture chains in the lung after resection, with volume loss",
        "changes after lobectomy or pneumonectomy: displaced fissures, raised diaphragm, rib resection",
        "linear metallic sutures along a lung margin with pleural thickening from a previous operation",
    ),
    "surgery neck": (
        "surgical clips or wires at the thoracic inlet and in the lower neck",
        "changes after thyroid or cervical surgery with metal clips above the clavicles",
        "cervical spine fusion plates or neck clips at the top of the chest film",
    ),
    "suture material": (
        "chains of small metallic staples or clips along a surgical line",
        "radiopaque sutures seen as dense interrupted lines",
        "wire stitches or surgical staples left after an operation",
    ),
    "tracheostomy tube": (
        "a curved tube entering the trachea through the anterior neck, its tip above the carina",
        "a short airway cannula projected at the thoracic inlet with a flange at the skin",
        "a tracheal tube whose entry point is in the lower neck rather than through the mouth",
    ),
    "ventriculoperitoneal drain tube": (
        "a thin shunt catheter running under the skin down the neck and chest wall to the abdomen",
        "a cerebrospinal fluid shunt tube crossing the clavicle and the anterior chest wall",
        "long radiopaque tubing in the soft tissues of the chest from a brain ventricle to the peritoneum",
    ),
}
