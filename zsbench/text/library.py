"""Short radiological descriptions of real chest X-ray findings, written for this project.

They describe how each finding looks on a frontal radiograph, for ``--class-text description``
on real datasets (the synthetic world has its own descriptions in its lexicon).
"""

from __future__ import annotations

NIH_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "Atelectasis": ("linear or wedge-shaped opacity with volume loss and displacement of fissures",),
    "Cardiomegaly": ("enlarged cardiac silhouette with a cardiothoracic ratio above one half",),
    "Effusion": ("blunting of the costophrenic angle with a dependent meniscus-shaped opacity",),
    "Infiltration": ("ill-defined hazy or reticular opacities in the lung parenchyma",),
    "Mass": ("a well-defined round opacity larger than three centimetres in the lung",),
    "Nodule": ("a small well-defined round opacity under three centimetres in the lung",),
    "Pneumonia": ("patchy airspace opacity, often lobar, with air bronchograms",),
    "Pneumothorax": ("a visceral pleural line with absent lung markings peripheral to it",),
    "Consolidation": ("homogeneous airspace opacity obscuring vessels, with air bronchograms",),
    "Edema": ("bilateral perihilar haziness, septal lines and vascular redistribution",),
    "Emphysema": ("hyperinflated hyperlucent lungs with flattened hemidiaphragms and sparse vessels",),
    "Fibrosis": ("coarse reticular opacities with volume loss, predominantly peripheral and basal",),
    "Pleural_Thickening": ("a smooth or irregular band of pleural opacity along the chest wall",),
    "Hernia": ("a retrocardiac rounded opacity, often with an air-fluid level, at the hiatus",),
}
