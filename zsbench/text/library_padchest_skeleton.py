"""PadChest findings of the bones, joints, chest wall, breasts and soft tissues: short radiological
descriptions written for this project (see :mod:`zsbench.text.library`).
"""

from __future__ import annotations

SKELETON_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "axial hyperostosis": (
        "flowing ossification along the anterolateral margins of several contiguous thoracic vertebrae",
        "large bridging osteophytes along the right side of the thoracic spine with preserved disc spaces",
        "thick candle-wax bony outgrowths along the spine, as in diffuse idiopathic skeletal hyperostosis",
    ),
    "blastic bone lesion": (
        "a focal area of increased bone density within a rib, vertebra or scapula",
        "an osteoblastic deposit that makes part of a bone whiter than normal",
        "dense bone-forming lesions, often multiple, such as sclerotic metastases",
    ),
    "bone metastasis": (
        "lytic or sclerotic lesions in the ribs, spine or shoulder girdle from cancer spread",
        "destruction of a rib or a vertebral pedicle with an associated soft-tissue mass",
        "multiple bone lesions of mixed density throughout the thoracic skeleton",
    ),
    "breast mass": (
        "a rounded soft-tissue opacity within the breast shadow over the lower chest",
        "a focal dense lump in the breast projected over the lung base",
        "an asymmetric well- or ill-defined density in the contour of one breast",
    ),
    "calcified fibroadenoma": (
        "coarse popcorn-like calcification within the breast shadow",
        "a dense lumpy calcified nodule in the breast projected over the lower chest",
        "a benign breast lesion with chunky calcifications seen over the lung base",
    ),
    "callus rib fracture": (
        "a healing rib fracture with a fusiform bony bulge of callus",
        "an old rib fracture seen as local expansion and sclerosis of the rib",
        "a healed rib break with an irregular thickened cortex and bridging bone",
    ),
    "cervical rib": (
        "an extra rib arising from the seventh cervical vertebra above the first rib",
        "a short supernumerary rib at the thoracic inlet, on one or both sides",
        "a congenital bony bar from the lowest neck vertebra projected above the first rib",
    ),
    "clavicle fracture": (
        "a break in the clavicle, usually in its middle third, with displaced fragments",
        "a lucent line or step in the contour of the collarbone",
        "an angulated or overriding fracture of the clavicular shaft",
    ),
    "costochondral junction hypertrophy": (
        "enlarged calcified costal cartilages at the anterior ends of the ribs",
        "bulbous anterior rib ends with dense cartilage calcification",
        "prominent costochondral junctions that may mimic lung nodules",
    ),
    "fracture": (
        "a discontinuity or angulation in the contour of a bone of the thorax",
        "a bony break with a sharp lucent line, displaced fragment or cortical step",
        "an acute or old break of a rib, the spine, a clavicle or a humerus visible on the film",
    ),
    "gynecomastia": (
        "enlarged male breast shadows giving increased density over the lower chest",
        "rounded soft-tissue opacities of breast tissue in a man, on one or both sides",
        "prominent male breast contours overlying the lung bases",
    ),
    "humeral fracture": (
        "a fracture of the proximal humerus at the edge of the chest radiograph",
        "a lucent line or displaced fragment of the humeral head or neck",
        "a break in the humeral shaft or neck with cortical disruption",
    ),
    "kyphosis": (
        "excessive forward curvature of the thoracic spine",
        "a rounded back with exaggerated thoracic curvature, best seen on the lateral view",
        "increased posterior convexity of the thoracic spine, often with wedged vertebrae",
    ),
    "lytic bone lesion": (
        "a focal area of bone destruction seen as a lucency in a rib or vertebra",
        "a punched-out lucent defect with loss of cortex in the thoracic skeleton",
        "an osteolytic lesion that thins or expands the bone, as from myeloma or metastasis",
    ),
    "nipple shadow": (
        "a small round soft-tissue density over the lower lung fields at the position of the nipple",
        "bilateral symmetric nodular shadows with a sharp lateral edge from the nipples",
        "a nipple projected over the lung that mimics a nodule, often with a lucent halo",
    ),
    "non axial articular degenerative changes": (
        "degenerative arthritis of the shoulder or acromioclavicular joint with osteophytes and narrowing",
        "joint space narrowing, subchondral sclerosis and bony spurs in the shoulder joints",
        "osteoarthritic changes of peripheral joints visible at the edges of the chest film",
    ),
    "obesity": (
        "thick soft tissues that degrade the image, with high diaphragms and low lung volumes",
        "abundant subcutaneous fat and large breast shadows increasing the density over the lungs",
        "a widened soft-tissue outline of the chest wall with prominent epicardial fat pads",
    ),
    "osteopenia": (
        "reduced bone density with thin cortices and more lucent vertebrae and ribs",
        "generalised demineralisation of the thoracic skeleton",
        "bones that look less dense than expected, with accentuated vertebral end plates",
    ),
    "osteoporosis": (
        "marked bone demineralisation with thin cortices and vertebral compression fractures",
        "lucent vertebral bodies with prominent vertical trabeculae and thin end plates",
        "loss of bone mass with biconcave vertebrae and fragile ribs",
    ),
    "pectum carinatum": (
        "anterior protrusion of the sternum seen on the lateral view",
        "pigeon chest: the sternum bulges forward with an increased anteroposterior chest diameter",
        "a keel-shaped chest deformity with a prominent sternum",
    ),
    "pectum excavatum": (
        "a depressed sternum with the heart displaced to the left and a blurred right heart border",
        "funnel chest: inward sternal depression with horizontal posterior ribs and steep anterior ribs",
        "posterior displacement of the lower sternum on the lateral view, narrowing the chest",
    ),
    "rib fracture": (
        "a break in the rib cortex with a lucent line or step, often along the lateral ribs",
        "an acute rib fracture with displaced ends, sometimes with pneumothorax or haematoma",
        "one or several broken ribs showing cortical discontinuity",
    ),
    "sclerotic bone lesion": (
        "a dense well-defined focus of sclerosis within a bone, such as a bone island",
        "a sharply marginated white area in a vertebra or rib",
        "focal increased bone density with a preserved bone contour",
    ),
    "scoliosis": (
        "lateral curvature of the thoracic spine on the frontal radiograph",
        "an S- or C-shaped spinal curve with vertebral rotation and rib asymmetry",
        "sideways deviation of the vertebral column distorting the chest cage",
    ),
    "soft tissue mass": (
        "a soft-tissue density outside the lung, in the chest wall or the axilla",
        "a bulging mass of the chest wall soft tissues with a sharp outer contour",
        "an extrathoracic soft-tissue swelling projected over the chest",
    ),
    "sternoclavicular junction hypertrophy": (
        "enlarged sclerotic medial ends of the clavicles and sternum at their joints",
        "degenerative bony enlargement of the sternoclavicular joints that may mimic a mass",
        "hypertrophic changes where the clavicle meets the manubrium",
    ),
    "subacromial space narrowing": (
        "reduced distance between the humeral head and the acromion from rotator cuff disease",
        "a high-riding humeral head narrowing the space under the acromion",
        "upward migration of the humerus with sclerosis of the undersurface of the acromion",
    ),
    "subcutaneous emphysema": (
        "streaks and bubbles of gas in the soft tissues of the chest wall and neck",
        "lucent gas dissecting along muscle planes and outlining the pectoral fibres",
        "air in the subcutaneous fat giving a mottled striated appearance",
    ),
    "thoracic cage deformation": (
        "an abnormally shaped chest wall from deformity of the ribs, spine or sternum",
        "an asymmetric rib cage with distorted rib spacing and an altered chest contour",
        "a deformed bony thorax after surgery, trauma or a congenital anomaly",
    ),
    "vertebral anterior compression": (
        "anterior wedging of a vertebral body with loss of its front height",
        "a wedge-shaped vertebra from a compression fracture of its anterior part",
        "reduced anterior height of a thoracic vertebral body with an intact posterior wall",
    ),
    "vertebral compression": (
        "reduced height of a vertebral body from a collapse fracture",
        "a flattened vertebra with depressed end plates",
        "a collapsed vertebral body, uniformly flattened or biconcave",
    ),
    "vertebral degenerative changes": (
        "osteophytes, narrowed disc spaces and end plate sclerosis along the thoracic spine",
        "spondylosis: marginal bony spurs at several vertebral levels",
        "degenerative disc disease with reduced disc height and bony lipping",
    ),
    "vertebral fracture": (
        "a break of a thoracic vertebra with loss of height or a visible fracture line",
        "a fractured vertebral body with cortical disruption and possible paraspinal haematoma",
        "an acute spinal fracture with displaced fragments and a widened paraspinal line",
    ),
}
