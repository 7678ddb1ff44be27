"""PadChest findings of the lungs, airways and pleura: short radiological descriptions written for
this project (see :mod:`zsbench.text.library`). Keys are PadChest label names as
:mod:`zsbench.data.padchest` exposes them; classes that map onto NIH names live in the NIH table.
"""

from __future__ import annotations

LUNG_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "COPD signs": (
        "overexpanded lucent lungs with low flat diaphragms and a long narrow heart from chronic airway disease",
        "increased lung volumes with more than ten posterior ribs above the diaphragm and thick bronchial walls",
        "hyperinflation, attenuated peripheral vessels and bronchial wall thickening of obstructive lung disease",
    ),
    "abscess": (
        "a thick-walled cavity within an area of consolidation, often containing an air-fluid level",
        "a round opacity with a lucent centre and an irregular inner wall from a suppurative lung infection",
        "a focal collection of pus in the lung seen as a cavitating mass with a horizontal fluid level",
    ),
    "air bronchogram": (
        "dark branching air-filled bronchi outlined by the surrounding opaque airspace",
        "tubular lucencies of patent airways visible inside an area of consolidation",
        "branching radiolucent lines crossing a dense region of lung whose alveoli are filled",
    ),
    "air fluid level": (
        "a straight horizontal interface between dependent fluid and gas above it on an erect film",
        "a sharp flat line separating air from liquid within a cavity, the pleural space or a viscus",
        "gas lying above liquid, forming a level horizontal border inside a lucent space",
    ),
    "air trapping": (
        "regions of abnormally lucent lung that fail to empty, with increased lung volume",
        "hyperlucent lung with reduced vascular markings from obstruction of the small airways",
        "increased lung volume and lucency persisting on expiration, often patchy or one-sided",
    ),
    "alveolar pattern": (
        "fluffy confluent airspace opacities with ill-defined margins and air bronchograms",
        "acinar nodular shadows a few millimetres across coalescing into patchy consolidation",
        "cotton-wool opacities filling the airspaces that tend to merge and change quickly",
    ),
    "asbestosis signs": (
        "basal reticular interstitial opacities with bilateral pleural plaques after asbestos exposure",
        "lower zone fine reticulation blurring the heart border, a shaggy heart, with pleural plaques",
        "calcified diaphragmatic and lateral pleural plaques together with basal lung fibrosis",
    ),
    "atelectasis basal": (
        "band-like opacities just above the hemidiaphragms from collapse of the lung bases",
        "loss of volume of the lower lobes with crowded basal vessels and a raised diaphragm",
        "horizontal streaks of increased density at the bases from poorly aerated dependent lung",
    ),
    "atypical pneumonia": (
        "bilateral patchy reticular or ground-glass opacities without lobar consolidation",
        "diffuse interstitial and peribronchial shadowing from viral or mycoplasma infection",
        "multifocal hazy opacities with peribronchial thickening and little pleural fluid",
    ),
    "azygos lobe": (
        "a thin curved fissure line in the right upper zone ending in a teardrop shadow above the hilum",
        "an accessory fissure running obliquely from the right apex down to the azygos vein",
        "a normal variant: a fine line convex laterally through the right upper lobe with the azygos vein at its base",
    ),
    "bronchiectasis": (
        "dilated thick-walled bronchi seen as parallel tram-track lines and ring shadows",
        "clustered cystic lucencies and tubular opacities, often in the lower lobes",
        "thickened bronchial walls that fail to taper towards the periphery, sometimes with fluid levels",
    ),
    "bronchovascular markings": (
        "prominent linear markings radiating from the hila from thickened bronchi and vessels",
        "accentuated branching lung markings in the central and basal lung fields",
        "increased peribronchial and vascular lines that make the lung pattern look busy",
    ),
    "bullas": (
        "thin-walled avascular lucent spaces larger than one centimetre within the lung",
        "large air-containing areas without lung markings outlined by hairline walls",
        "round hyperlucent regions, often apical, that compress the adjacent lung",
    ),
    "calcified densities": (
        "small very dense white foci of calcium in the lung, pleura or mediastinum",
        "punctate or amorphous calcifications as bright as bone on the radiograph",
        "scattered sharply defined high-density spots projected over the chest",
    ),
    "calcified granuloma": (
        "a small densely calcified round nodule from a healed granulomatous infection",
        "a sharply marginated spot of bone density in the lung, usually a few millimetres across",
        "a uniformly calcified benign nodule, sometimes with calcified hilar lymph nodes",
    ),
    "calcified pleural plaques": (
        "irregular holly-leaf calcifications along the chest wall and diaphragmatic pleura",
        "dense linear calcified plaques on the domes of the diaphragm and the lateral pleura",
        "bilateral discontinuous calcified pleural thickening typical of asbestos exposure",
    ),
    "calcified pleural thickening": (
        "a thick rind of pleura with coarse calcification encasing part of the lung",
        "a dense calcified pleural peel after old empyema or haemothorax, often on one side",
        "sheet-like calcium along the pleural surface with volume loss of the affected hemithorax",
    ),
    "cavitation": (
        "a gas-filled lucency inside a nodule, mass or consolidation, surrounded by a wall",
        "an air-containing hole within a lung opacity, with thin or thick irregular walls",
        "central breakdown of a lung lesion producing a ring-shaped opacity with a lucent centre",
    ),
    "chronic changes": (
        "long-standing lung alterations such as fibrotic streaks, calcifications and bronchial thickening",
        "stable coarse lung markings and scarring without signs of acute disease",
        "nonspecific chronic parenchymal and pleural changes, typical of older patients",
    ),
    "costophrenic angle blunting": (
        "loss of the sharp acute lateral angle between the diaphragm and the chest wall",
        "rounding off of the lateral costodiaphragmatic recess by fluid or pleural thickening",
        "a shallow meniscus filling the lowest lateral corner of the hemithorax",
    ),
    "cyst": (
        "a round air-filled lucency with a thin well-defined wall in the lung",
        "a sharply marginated lucent space whose wall is under a few millimetres thick",
        "a circumscribed air- or fluid-containing space with a smooth thin lining",
    ),
    "empyema": (
        "a loculated pleural collection with a lenticular shape and obtuse angles to the chest wall",
        "infected pleural fluid forming a D-shaped peripheral opacity, sometimes containing gas",
        "a pleural collection that does not layer freely and may show an air-fluid level",
    ),
    "end on vessel": (
        "a small round well-defined density next to a bronchus: a vessel seen in cross section",
        "a vessel running along the beam that appears as a sharply defined dot near the hilum",
        "a nodular shadow of a pulmonary artery or vein viewed end on, as wide as the adjacent vessels",
    ),
    "fibrotic band": (
        "a linear scar: a thin dense band running through the lung, often reaching the pleura",
        "a fixed streak of fibrous tissue with mild local volume loss",
        "a parenchymal band of scarring after previous infection or infarction",
    ),
    "fissure thickening": (
        "an interlobar fissure seen as a thicker and denser line than normal",
        "prominent fissure lines from fluid, fibrosis or subpleural infiltration",
        "thickened visceral pleura along the interlobar fissures",
    ),
    "granuloma": (
        "a small well-defined nodule, not or only partly calcified, from chronic inflammation",
        "a sharply marginated small round density, often in the upper zones, that stays stable",
        "a focal inflammatory nodule with smooth edges and no surrounding mass effect",
    ),
    "ground glass pattern": (
        "hazy increased lung density through which vessels and bronchi remain visible",
        "a faint veil-like opacity that does not obscure the underlying vascular markings",
        "diffuse or patchy slight increase in lung attenuation with preserved vessel outlines",
    ),
    "hydropneumothorax": (
        "air and fluid in the pleural space with a straight horizontal air-fluid level",
        "a visible pleural line above a flat fluid level that has no meniscus",
        "pneumothorax with pleural fluid, giving a long horizontal fluid interface across the hemithorax",
    ),
    "hyperinflated lung": (
        "enlarged lung volumes with low flattened diaphragms and widened rib spaces",
        "the diaphragm lying below the eleventh posterior rib with overexpanded lungs",
        "overinflation of the lungs with a narrow cardiac shadow and increased lucency",
    ),
    "hypoexpansion": (
        "low lung volumes with elevated hemidiaphragms and crowded vessels",
        "poor inspiration: few ribs visible above the diaphragm and a broad-looking heart",
        "small lungs with bronchovascular crowding at the bases",
    ),
    "hypoexpansion basal": (
        "reduced aeration of the lower zones with raised diaphragm domes",
        "poorly expanded lung bases with crowded basal vascular markings",
        "basal underinflation producing a hazy lower zone density and high diaphragms",
    ),
    "increased density": (
        "an area of the lung or chest that appears whiter than expected",
        "a nonspecific focal rise in radiographic density without a defined pattern",
        "an ill-characterised opacity increasing the attenuation of part of a lung field",
    ),
    "interstitial pattern": (
        "fine lines and small nodules throughout the lungs from thickening of the interstitium",
        "a diffuse net-like or linear network of opacities with preserved airspaces",
        "reticular and septal lines giving the lungs a coarse textured appearance",
    ),
    "kerley lines": (
        "short horizontal lines at the lung periphery perpendicular to the pleura at the bases",
        "thickened interlobular septa seen as thin lines one to two centimetres long near the costophrenic angles",
        "septal lines from interstitial fluid or lymphatic infiltration, at the periphery or radiating from the hila",
    ),
    "laminar atelectasis": (
        "a thin horizontal plate-like band of opacity, usually just above the diaphragm",
        "discoid atelectasis: a flat streak a few millimetres thick crossing the lower zone",
        "a horizontal line of subsegmental collapse several centimetres long",
    ),
    "lepidic adenocarcinoma": (
        "a persistent ground-glass or consolidative opacity from adenocarcinoma growing along alveolar walls",
        "a chronic focal or multifocal airspace opacity with air bronchograms that mimics pneumonia",
        "a slowly growing ill-defined lung opacity or nodule, partly solid and partly hazy",
    ),
    "lobar atelectasis": (
        "collapse of a whole lobe: a dense triangular opacity with shift of the fissure and hilum",
        "lobar volume loss with displaced fissure, elevated hemidiaphragm and mediastinal shift",
        "a collapsed lobe silhouetting the adjacent heart border or diaphragm",
    ),
    "loculated fissural effusion": (
        "a lenticular or oval fluid opacity within an interlobar fissure that resembles a mass",
        "a vanishing pseudotumour: fluid trapped in a fissure with tapering ends",
        "an elliptical sharply defined density lying along the minor or major fissure",
    ),
    "loculated pleural effusion": (
        "a pleural fluid collection fixed in place, with a convex border towards the lung",
        "a non-dependent pleural opacity that does not layer, with obtuse angles to the chest wall",
        "encapsulated pleural fluid forming a lobulated peripheral opacity",
    ),
    "lung metastasis": (
        "multiple round nodules of varying size, mainly peripheral and at the lung bases",
        "cannonball masses scattered through both lungs from the spread of a distant cancer",
        "well-defined rounded opacities in both lungs that sometimes cavitate",
    ),
    "lung vascular paucity": (
        "a reduced number and calibre of pulmonary vessels with relatively lucent lung",
        "oligaemic lung fields with thin sparse vascular markings",
        "regional absence of vessels, as in emphysema or pulmonary embolism",
    ),
    "lymphangitis carcinomatosa": (
        "coarse reticular lines and septal thickening with hilar nodes from tumour spread in the lymphatics",
        "interstitial streaks radiating from enlarged hila with Kerley B lines, on one or both sides",
        "reticulonodular interstitial thickening with pleural effusion in a patient with cancer",
    ),
    "major fissure thickening": (
        "the oblique fissure visible as a thickened line, best seen on the lateral view",
        "a thick oblique line crossing the lower chest from the posterior upper zone to the anterior diaphragm",
        "thickening of the major interlobar fissure by fluid or fibrosis",
    ),
    "miliary opacities": (
        "innumerable tiny nodules of one to three millimetres evenly spread through both lungs",
        "millet-seed-sized uniform dots diffusely scattered in the lung fields",
        "a fine diffuse micronodular pattern from haematogenous spread",
    ),
    "minor fissure thickening": (
        "the horizontal fissure seen as a thick line across the right mid zone",
        "a thickened horizontal line running from the right hilum to the lateral chest wall",
        "fluid or fibrosis thickening the right horizontal interlobar fissure",
    ),
    "multiple nodules": (
        "several rounded opacities under three centimetres scattered in one or both lungs",
        "numerous discrete nodular densities of varying size in the lung fields",
        "multifocal round lesions such as metastases, granulomas or septic emboli",
    ),
    "pleural mass": (
        "a peripheral soft-tissue opacity with obtuse angles to the chest wall and a sharp inner border",
        "a lobulated pleural-based lesion with an incomplete border sign",
        "a focal mass arising from the pleura, sometimes with destruction of an adjacent rib",
    ),
    "pleural plaques": (
        "discrete areas of pleural thickening along the lateral chest wall and the diaphragm",
        "flat plaques seen en face as irregular faint opacities over both lungs after asbestos exposure",
        "circumscribed non-calcified pleural thickenings, usually on the mid and lower chest wall",
    ),
    "post radiotherapy changes": (
        "straight-edged fibrosis and volume loss confined to a radiation field",
        "linear scarring with hilar retraction in a geometric, non-anatomical distribution",
        "a sharply marginated paramediastinal or apical opacity after radiation treatment",
    ),
    "pseudonodule": (
        "a nodule-like shadow from overlapping structures such as a rib end, vessel or skin lesion",
        "an apparent round density that is not a true lung nodule, such as a bone island or costal cartilage",
        "a summation shadow mimicking a nodule that disappears on another projection",
    ),
    "respiratory distress": (
        "bilateral diffuse airspace opacities with air bronchograms and a normal-sized heart",
        "widespread symmetric ground-glass to consolidative shadowing, often with support devices",
        "in a newborn, granular ground-glass lungs with low volumes and air bronchograms",
    ),
    "reticular interstitial pattern": (
        "a network of fine or coarse intersecting lines throughout the lungs",
        "net-like linear opacities forming a lace pattern, often basal and peripheral",
        "crisscrossing interstitial lines that outline small polygonal spaces",
    ),
    "reticulonodular interstitial pattern": (
        "a combination of interstitial lines and small nodules throughout the lungs",
        "net-like lines studded with tiny nodular densities",
        "mixed reticular and micronodular shadowing, diffuse or confined to some zones",
    ),
    "round atelectasis": (
        "a rounded peripheral subpleural mass-like opacity next to thickened pleura",
        "a round collapsed portion of lung with vessels and bronchi curving into it, the comet tail sign",
        "folded lung: a peripheral round opacity beside pleural plaques or an effusion",
    ),
    "segmental atelectasis": (
        "a wedge-shaped opacity with its apex at the hilum from collapse of one segment",
        "collapse of a bronchopulmonary segment with mild local volume loss",
        "a triangular segmental density with slight displacement of the adjacent fissure",
    ),
    "total atelectasis": (
        "complete collapse of one lung: an opaque hemithorax with the mediastinum shifted towards it",
        "a white hemithorax with loss of volume, a raised hemidiaphragm and narrowed rib spaces",
        "whole-lung collapse with the trachea pulled to the affected side",
    ),
    "tuberculosis": (
        "upper lobe consolidation with cavitation and enlarged hilar lymph nodes",
        "patchy apical and posterior upper zone opacities with cavities and nodular spread",
        "active mycobacterial infection: cavitating upper zone lesions, miliary nodules or effusion",
    ),
    "tuberculosis sequelae": (
        "apical fibrosis, calcified nodules and upward retraction of the hila after old tuberculosis",
        "upper zone scarring with volume loss, calcified granulomas and pleural thickening",
        "healed tuberculous changes: fibrotic bands, calcifications and bronchiectasis in the upper lobes",
    ),
    "volume loss": (
        "reduced size of a lung or lobe with shift of the fissures, hilum or mediastinum towards it",
        "an elevated hemidiaphragm and crowded ribs on one side from decreased lung volume",
        "shrinkage of part of the lung with compensatory hyperinflation of the rest",
    ),
    "apical pleural thickening": (
        "a cap of soft-tissue density over the lung apex, usually under five millimetres thick",
        "an apical pleural cap: a smooth curved opacity along the top of the hemithorax",
        "thickened pleura at one or both apices, often with underlying scarring",
    ),
}
