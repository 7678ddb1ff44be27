"""PadChest findings of the heart, great vessels, hila, mediastinum and diaphragm: short radiological
descriptions written for this project (see :mod:`zsbench.text.library`).
"""

from __future__ import annotations

MEDIASTINUM_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Chilaiditi sign": (
        "a gas-filled bowel loop interposed between the liver and the right hemidiaphragm",
        "colon with haustral folds lying under the right diaphragm, mimicking free air",
        "a lucency beneath the right hemidiaphragm crossed by haustral markings",
    ),
    "adenopathy": (
        "enlarged lymph nodes causing lobulated widening of the hila or mediastinum",
        "rounded soft-tissue masses at the hilum, paratracheal region or aortopulmonary window",
        "a bulky hilar contour or a widened right paratracheal stripe from nodal enlargement",
    ),
    "aortic aneurysm": (
        "focal dilatation of the aortic contour forming a rounded mediastinal bulge",
        "a widened aortic arch or descending aorta, often with curvilinear wall calcification",
        "a mediastinal mass continuous with the aorta that may displace the trachea",
    ),
    "aortic atheromatosis": (
        "curvilinear calcification in the wall of the aortic knob",
        "thin calcified rims outlining the aortic arch and descending aorta",
        "atherosclerotic plaques seen as dense lines along the aortic contour",
    ),
    "aortic button enlargement": (
        "a prominent aortic knob bulging to the left above the left hilum",
        "an enlarged rounded shadow of the aortic arch at the upper left mediastinum",
        "widening of the aortic knuckle, often with unfolding and calcification",
    ),
    "aortic elongation": (
        "an unfolded tortuous aorta widening the mediastinal contour on both sides",
        "an elongated aorta with a high arch and lateral bowing of the descending segment",
        "a sinuous aortic shadow in an older patient without true aneurysmal dilatation",
    ),
    "ascendent aortic elongation": (
        "the ascending aorta bulging beyond the right heart border in the upper mediastinum",
        "a convex right upper mediastinal contour from an elongated ascending aorta",
        "prominence of the ascending aortic segment above the right atrium",
    ),
    "azygoesophageal recess shift": (
        "displacement of the interface between the right lower lobe and the azygos vein and oesophagus",
        "a convex or displaced azygoesophageal line behind the heart from a retrocardiac lesion",
        "an abnormal contour of the right paraspinal interface behind the heart, suggesting a mass or nodes",
    ),
    "calcified adenopathy": (
        "lymph nodes containing dense calcification at the hila or in the mediastinum",
        "clumps of calcium in enlarged nodes, sometimes with eggshell rims",
        "bright lobulated calcified densities along the hilar and paratracheal node chains",
    ),
    "calcified mediastinal adenopathy": (
        "calcified lymph nodes in the paratracheal, subcarinal or aortopulmonary regions",
        "dense nodal calcifications projected over the mediastinum",
        "mediastinal lymph nodes with rim or stippled calcification from old granulomatous disease",
    ),
    "central vascular redistribution": (
        "enlargement of the central pulmonary vessels with narrowed peripheral vessels",
        "prominent hilar arteries and attenuated vessels in the outer third of the lung",
        "centralised pulmonary blood flow with dilated hilar vessels and peripheral pruning",
    ),
    "descendent aortic elongation": (
        "lateral bowing of the descending thoracic aorta to the left of the spine",
        "a tortuous descending aortic shadow projected over the left paraspinal region",
        "an elongated descending aorta with a wavy left paravertebral contour",
    ),
    "dextrocardia": (
        "the heart lies in the right hemithorax with its apex pointing to the right",
        "a mirror-image cardiac silhouette on the right side of the chest",
        "the cardiac apex and most of the heart shadow to the right of the midline",
    ),
    "diaphragmatic eventration": (
        "a localised smooth elevation of part of a hemidiaphragm, usually anteromedial on the right",
        "a thin, raised but intact diaphragm contour forming a dome-shaped bulge",
        "a focal upward bulge of a weak segment of diaphragm with abdominal contents beneath it",
    ),
    "esophagic dilatation": (
        "a widened mediastinum with a tubular opacity along its right side, sometimes with an air-fluid level",
        "a dilated oesophagus seen as a long mediastinal soft-tissue stripe containing air or food",
        "an air-fluid level in the upper mediastinum and an absent gastric bubble, as in achalasia",
    ),
    "flattened diaphragm": (
        "loss of the normal dome of the hemidiaphragms, which appear straight and low",
        "horizontal flat diaphragm contours from hyperinflation of the lungs",
        "low hemidiaphragms whose domes rise little above the line joining the costophrenic and cardiophrenic angles",
    ),
    "goiter": (
        "a soft-tissue mass in the thoracic inlet displacing or narrowing the trachea",
        "an enlarged thyroid extending into the upper mediastinum above the aortic arch",
        "superior mediastinal widening continuous with the neck, with tracheal deviation",
    ),
    "heart insufficiency": (
        "cardiomegaly with upper lobe venous diversion, interstitial oedema and pleural effusions",
        "an enlarged heart, Kerley lines and perihilar haze from congestive heart failure",
        "signs of cardiac failure: vascular redistribution, septal lines and bilateral effusions",
    ),
    "heart valve calcified": (
        "dense calcification projected over the aortic or mitral valve region of the heart",
        "a curvilinear or clumped calcification within the cardiac silhouette at a valve ring",
        "annular calcification of the mitral valve seen as a C-shaped density",
    ),
    "hemidiaphragm elevation": (
        "one hemidiaphragm lies higher than expected relative to the other",
        "a raised diaphragm dome with reduced volume of the lung above it",
        "a unilateral elevated diaphragm from phrenic palsy, volume loss or a subphrenic mass",
    ),
    "hilar congestion": (
        "enlarged indistinct hila with hazy margins from engorged pulmonary veins",
        "perihilar vascular fullness and blurring of the hilar vessels in heart failure",
        "dilated hilar vessels with peribronchial cuffing and poorly defined outlines",
    ),
    "hilar enlargement": (
        "an enlarged or dense hilar shadow on one or both sides",
        "a bulky hilum from lymph nodes, a mass or dilated pulmonary arteries",
        "increased size and a lobulated contour of the hilar structures",
    ),
    "lipomatosis": (
        "excess fat deposition producing smooth low-density widening of soft tissues or the mediastinum",
        "symmetrical fatty enlargement of the mediastinal or cardiophrenic contours",
        "accumulated fatty tissue, less dense than muscle, that does not displace the airways",
    ),
    "mediastinal enlargement": (
        "widening of the mediastinal shadow beyond its normal width on a frontal film",
        "a broad central shadow from a mass, nodes, vessels, fat or haemorrhage",
        "expansion of the mediastinal contours with displacement of the mediastinal pleural lines",
    ),
    "mediastinal mass": (
        "a focal mediastinal opacity with a sharp lateral margin and obtuse angles to the lung",
        "a soft-tissue mass in the anterior, middle or posterior mediastinum displacing lines and stripes",
        "a lobulated central mass that obliterates mediastinal interfaces, with the hilum overlay sign",
    ),
    "mediastinal shift": (
        "displacement of the heart, trachea and mediastinum to one side",
        "the mediastinum pushed away by a large effusion or pulled towards a collapsed lung",
        "lateral deviation of the midline structures from asymmetric lung volumes",
    ),
    "mediastinic lipomatosis": (
        "smooth symmetric widening of the upper mediastinum by excess fat",
        "a broad mediastinum without mass effect or tracheal compression, from fat deposition",
        "bilateral upper mediastinal widening with straight margins in obese or steroid-treated patients",
    ),
    "pericardial effusion": (
        "a globular water-bottle enlargement of the cardiac silhouette",
        "rapid enlargement of the heart shadow with clear lungs and sharp heart margins",
        "a flask-shaped cardiac outline with separation of the epicardial fat line",
    ),
    "pneumomediastinum": (
        "lucent streaks of air outlining the mediastinal structures and the heart border",
        "air around the aorta and trachea with a thin lucent line along the left heart border",
        "free mediastinal gas extending into the neck, sometimes with a continuous diaphragm sign",
    ),
    "pneumoperitoneo": (
        "free gas beneath the diaphragm: a crescent of lucency under a hemidiaphragm on an erect film",
        "a lucent band separating the liver from the right hemidiaphragm",
        "subdiaphragmatic free air outlining both sides of the diaphragm",
    ),
    "pulmonary artery enlargement": (
        "a bulging main pulmonary artery segment along the left heart border below the aortic knob",
        "enlarged central pulmonary arteries with prominent hilar shadows",
        "a convex pulmonary trunk contour and a dilated right descending pulmonary artery",
    ),
    "pulmonary artery hypertension": (
        "dilated main and hilar pulmonary arteries tapering rapidly to pruned peripheral vessels",
        "a prominent pulmonary trunk, right heart enlargement and oligaemic peripheral lungs",
        "enlarged central arteries with a right descending pulmonary artery wider than sixteen millimetres",
    ),
    "pulmonary hypertension": (
        "central pulmonary arterial enlargement with peripheral vascular pruning",
        "a bulging pulmonary artery segment and enlarged hila with lucent outer lungs",
        "raised pressure in the pulmonary circulation: large hilar arteries and right ventricular enlargement",
    ),
    "pulmonary venous hypertension": (
        "upper lobe vessels larger than lower lobe vessels from raised left atrial pressure",
        "cephalisation of blood flow with interstitial oedema and septal lines",
        "dilated upper zone veins and indistinct vessel margins from elevated venous pressure",
    ),
    "right sided aortic arch": (
        "the aortic knob lies to the right of the trachea, with no knob on the left",
        "a right paratracheal bulge with the trachea displaced to the left",
        "the descending aorta running along the right side of the spine",
    ),
    "superior mediastinal enlargement": (
        "widening of the upper mediastinum above the aortic arch",
        "a broad superior mediastinal shadow from vessels, thyroid, nodes or a mass",
        "increased width of the mediastinum at the level of the thoracic inlet and great vessels",
    ),
    "supra aortic elongation": (
        "tortuous supra-aortic vessels widening the right upper mediastinum",
        "an elongated brachiocephalic artery forming a curved right paratracheal shadow",
        "unfolded great vessels above the aortic arch producing a bulge at the thoracic inlet",
    ),
    "tracheal shift": (
        "deviation of the air-filled trachea away from the midline",
        "the tracheal lucency displaced to one side by a mass, goitre or change in lung volume",
        "a laterally shifted trachea relative to the spinous processes",
    ),
    "vascular hilar enlargement": (
        "prominent hila from dilated pulmonary vessels rather than lymph nodes",
        "enlarged hilar arteries and veins with branching tubular margins",
        "bilateral hilar fullness of vascular origin, with vessels traceable into the lung",
    ),
    "vascular redistribution": (
        "prominent upper lobe vessels as blood flow diverts towards the apices",
        "upper zone vessels as wide as or wider than those of the lower zones",
        "redistribution of pulmonary blood flow to the upper lobes in venous congestion",
    ),
}
