"""Short radiological descriptions of real chest X-ray findings, written for this project.

Each class has several descriptions of how the finding looks on a frontal radiograph, for
``--class-text description`` (the first one) and ``--class-text ensemble`` (the mean of all of
their embeddings) on real datasets. The synthetic world has its own descriptions in its lexicon.

NIH and CheXpert classes are here; the PadChest labels that do not map onto an NIH name (devices,
surgical material and technical labels included) are in the ``library_padchest_*`` modules, keyed
by the label names :mod:`zsbench.data.padchest` exposes. :data:`DESCRIPTIONS` merges them all.
"""

from __future__ import annotations

from zsbench.text.library_padchest_devices import DEVICE_DESCRIPTIONS
from zsbench.text.library_padchest_lung import LUNG_DESCRIPTIONS
from zsbench.text.library_padchest_mediastinum import MEDIASTINUM_DESCRIPTIONS
from zsbench.text.library_padchest_skeleton import SKELETON_DESCRIPTIONS

NIH_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Atelectasis": (
        "linear or wedge-shaped opacity with volume loss and displacement of fissures",
        "collapse of part of a lung: a dense band or triangle with shift of the fissure towards it",
        "plate-like linear opacities at the lung bases from subsegmental collapse",
    ),
    "Cardiomegaly": (
        "enlarged cardiac silhouette with a cardiothoracic ratio above one half",
        "the heart shadow is wider than half of the chest on a frontal film",
        "globular enlargement of the heart border extending towards the chest wall",
    ),
    "Effusion": (
        "blunting of the costophrenic angle with a dependent meniscus-shaped opacity",
        "fluid in the pleural space: homogeneous basal opacity with a curved upper border",
        "a layering density at the lung base that obscures the hemidiaphragm",
    ),
    "Infiltration": (
        "ill-defined hazy or reticular opacities in the lung parenchyma",
        "patchy poorly defined increased density of the lung without volume loss",
        "diffuse interstitial or airspace shadowing with indistinct margins",
    ),
    "Mass": (
        "a well-defined round opacity larger than three centimetres in the lung",
        "a large solitary rounded lesion in the lung or mediastinum",
        "a bulky dense focal opacity with lobulated or spiculated margins",
    ),
    "Nodule": (
        "a small well-defined round opacity under three centimetres in the lung",
        "a solitary rounded spot of increased density in the lung field",
        "a small focal round lesion, sometimes calcified, surrounded by aerated lung",
    ),
    "Pneumonia": (
        "patchy airspace opacity, often lobar, with air bronchograms",
        "focal consolidation of infective origin filling part of a lobe",
        "ill-defined airspace shadowing in one zone of the lung",
    ),
    "Pneumothorax": (
        "a visceral pleural line with absent lung markings peripheral to it",
        "air in the pleural space: a dark rim without vessels at the apex or the lateral chest",
        "a collapsed lung edge separated from the chest wall by lucent air",
    ),
    "Consolidation": (
        "homogeneous airspace opacity obscuring vessels, with air bronchograms",
        "alveolar spaces filled with fluid or cells giving a dense confluent opacity",
        "lobar or segmental dense shadowing that silhouettes adjacent borders",
    ),
    "Edema": (
        "bilateral perihilar haziness, septal lines and vascular redistribution",
        "batwing perihilar opacities with Kerley B lines and peribronchial cuffing",
        "diffuse bilateral interstitial and alveolar shadowing from fluid overload",
    ),
    "Emphysema": (
        "hyperinflated hyperlucent lungs with flattened hemidiaphragms and sparse vessels",
        "overexpanded dark lungs with bullae and a narrow vertical heart",
        "increased lung volumes and lucency with attenuated peripheral vascular markings",
    ),
    "Fibrosis": (
        "coarse reticular opacities with volume loss, predominantly peripheral and basal",
        "scarring of the lung: fine to coarse lines and honeycombing with shrunken lungs",
        "reticulonodular shadowing and traction changes at the lung bases and periphery",
    ),
    "Pleural_Thickening": (
        "a smooth or irregular band of pleural opacity along the chest wall",
        "thickened pleura seen as a soft-tissue rim lining the inner chest wall",
        "apical or lateral pleural capping and blunting from old pleural disease",
    ),
    "Hernia": (
        "a retrocardiac rounded opacity, often with an air-fluid level, at the hiatus",
        "stomach herniated through the diaphragm: a round density behind the heart",
        "an air-containing mass projected over the heart just above the diaphragm",
    ),
}

#: CheXpert observations beyond the NIH classes.
CHEXPERT_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Enlarged Cardiomediastinum": (
        "widening of the mediastinum and cardiac silhouette on a frontal film",
        "a broad upper mediastinal shadow or an enlarged heart contour",
        "increased width of the central chest shadow between the lungs",
    ),
    "Lung Opacity": (
        "any area of increased density in the lung parenchyma",
        "a region of the lung that is whiter than normal aerated lung",
        "focal or diffuse opacification of the lung fields",
    ),
    "Lung Lesion": (
        "a focal abnormality of the lung such as a nodule or a mass",
        "a circumscribed lesion within the lung parenchyma",
        "a discrete rounded or irregular focal opacity in the lung",
    ),
    "Pleural Other": (
        "pleural abnormality other than effusion, such as plaques or thickening",
        "calcified pleural plaques or irregular pleural contours",
        "abnormal pleura along the chest wall or diaphragm without fluid",
    ),
    "Fracture": (
        "a break in the cortex of a rib, clavicle or vertebra",
        "a lucent line or step in a bone of the chest wall",
        "displaced or healing rib fractures with callus",
    ),
    "Support Devices": (
        "tubes, lines, pacemakers or other medical devices projected over the chest",
        "an endotracheal tube, central venous catheter or pacing leads on the radiograph",
        "radiopaque lines and wires from monitoring and support equipment",
    ),
}

#: PadChest labels beyond the NIH classes (PadChest's NIH-equivalent terms map onto NIH names).
PADCHEST_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    **LUNG_DESCRIPTIONS,
    **MEDIASTINUM_DESCRIPTIONS,
    **DEVICE_DESCRIPTIONS,
    **SKELETON_DESCRIPTIONS,
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {**NIH_DESCRIPTIONS, **CHEXPERT_DESCRIPTIONS, **PADCHEST_DESCRIPTIONS}
