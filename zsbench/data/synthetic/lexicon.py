"""The synthetic world's visual vocabulary and the 14 NIH classes written in it.

Each class is a *recipe*: a list of lesions, each a pattern placed by location words, drawn with
randomness by :mod:`zsbench.data.synthetic.render`. The class descriptions use the very same words,
so a text encoder that understands them can tell what an unseen class looks like. The four unseen
classes of the paper (Edema, Pneumonia, Emphysema, Fibrosis) reuse only patterns and locations that
some seen class also shows (hyperinflation, for instance, is Emphysema's in both lungs and a
pneumothorax's in one): nothing about them can be learned from their images, only transferred
through their text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LOCATIONS = ("upper_zone", "lower_zone", "unilateral", "bilateral", "central", "peripheral", "basal")
PATTERNS = (
    "round",
    "patchy",
    "hazy",
    "reticular",
    "band",
    "fluid_level",
    "lucent",
    "enlarged_silhouette",
    "hyperinflation",
)
SIZES = ("small", "large")
DENSITIES = ("faint", "dense")

#: Every attribute, in the order of the ``attributes`` text encoder's vector.
ATTRIBUTES: tuple[str, ...] = LOCATIONS + PATTERNS + SIZES + DENSITIES


@dataclass(frozen=True)
class Lesion:
    """One drawable finding: a pattern with where it goes and how it looks."""

    pattern: str
    zone: str = "any"  # upper | lower | any
    side: str = "one"  # one | both
    radial: str = "any"  # central | peripheral | any
    size: str = "small"
    density: str = "dense"


@dataclass(frozen=True)
class ClassRecipe:
    name: str
    lesions: tuple[Lesion, ...]
    attributes: frozenset[str]
    descriptions: tuple[str, ...]
    weight: float  # relative frequency in the synthetic world
    extra: dict[str, float] = field(default_factory=dict)


def _recipe(
    name: str, lesions: list[Lesion], attributes: str, descriptions: list[str], weight: float
) -> ClassRecipe:
    attrs = frozenset(attributes.split())
    unknown = attrs - set(ATTRIBUTES)
    if unknown:  # a typo here would silently weaken the attributes encoder
        raise ValueError(f"{name}: attributes not in the lexicon: {sorted(unknown)}")
    return ClassRecipe(name, tuple(lesions), attrs, tuple(descriptions), weight)


RECIPES: tuple[ClassRecipe, ...] = (
    _recipe(
        "Atelectasis",
        [Lesion("band", zone="lower", side="one", size="small", density="dense")],
        "band lower_zone unilateral dense small",
        [
            "a dense linear band of opacity in one lower zone",
            "a thin dense band in the lower zone of one lung",
        ],
        1.2,
    ),
    _recipe(
        "Cardiomegaly",
        [Lesion("enlarged_silhouette", radial="central", size="large")],
        "enlarged_silhouette central large dense",
        [
            "an enlarged cardiac silhouette in the central lower chest",
            "a large central heart shadow",
        ],
        0.8,
    ),
    _recipe(
        "Effusion",
        [Lesion("fluid_level", zone="lower", side="one", density="dense")],
        "fluid_level basal lower_zone unilateral dense",
        [
            "a dense basal opacity with a fluid level in one lower zone",
            "fluid at the base of one lung with a flat fluid level",
        ],
        1.3,
    ),
    _recipe(
        "Infiltration",
        [
            Lesion("reticular", zone="any", side="both", density="faint"),
            Lesion("hazy", zone="any", side="both", density="faint"),
        ],
        "reticular hazy bilateral faint",
        [
            "bilateral faint hazy opacities with reticular lines",
            "reticular lines and faint haze in both lungs",
        ],
        1.5,
    ),
    _recipe(
        "Mass",
        [Lesion("round", side="one", size="large", density="dense")],
        "round large dense unilateral",
        [
            "a large round dense opacity in one lung",
            "a single large round dense lesion",
        ],
        0.8,
    ),
    _recipe(
        "Nodule",
        [Lesion("round", side="one", size="small", density="dense")],
        "round small dense unilateral",
        [
            "a small round dense opacity in one lung",
            "a single small round dense spot",
        ],
        0.9,
    ),
    _recipe(
        "Pneumonia",
        [
            Lesion("patchy", zone="lower", side="one", size="large", density="faint"),
            Lesion("hazy", zone="lower", side="one", density="faint"),
        ],
        "patchy hazy lower_zone unilateral faint large",
        [
            "a faint patchy opacity with haze in one lower zone",
            "faint patchy opacities and haze filling the lower zone of one lung",
        ],
        0.7,
    ),
    _recipe(
        "Pneumothorax",
        [
            Lesion("lucent", zone="upper", side="one", radial="peripheral"),
            Lesion("hyperinflation", side="one"),
        ],
        "lucent peripheral upper_zone unilateral hyperinflation",
        [
            "a peripheral lucent area without lung markings in one upper zone, with that lung hyperinflated",
            "a dark lucent rim at the periphery of one upper zone over a hyperinflated lung",
        ],
        0.8,
    ),
    _recipe(
        "Consolidation",
        [Lesion("patchy", zone="lower", side="one", size="large", density="dense")],
        "patchy lower_zone unilateral dense large",
        [
            "a dense patchy opacity in one lower zone",
            "dense patchy opacities filling the lower zone of one lung",
        ],
        0.9,
    ),
    _recipe(
        "Edema",
        [
            Lesion("hazy", zone="any", side="both", radial="central", density="faint"),
            Lesion("reticular", zone="lower", side="both", density="faint"),
        ],
        "hazy reticular bilateral central lower_zone faint",
        [
            "bilateral faint hazy central opacities with reticular lines in the lower zones",
            "faint central haze in both lungs with reticular lines in both lower zones",
        ],
        0.7,
    ),
    _recipe(
        "Emphysema",
        [
            Lesion("lucent", zone="upper", side="both", radial="any"),
            Lesion("hyperinflation", side="both"),
        ],
        "lucent hyperinflation bilateral upper_zone",
        [
            "bilateral lucent areas without lung markings in the upper zones, with hyperinflation",
            "lucent upper zones in both lungs and hyperinflated lungs",
        ],
        0.7,
    ),
    _recipe(
        "Fibrosis",
        [
            Lesion("band", zone="lower", side="both", density="dense"),
            Lesion("reticular", zone="lower", side="both", radial="peripheral", density="faint"),
        ],
        "band reticular bilateral peripheral lower_zone dense",
        [
            "dense linear bands of opacity in both lower zones with peripheral reticular lines",
            "linear bands and reticular lines at the periphery of both lower zones",
        ],
        0.7,
    ),
    _recipe(
        "Pleural_Thickening",
        [Lesion("band", zone="upper", side="one", radial="peripheral", density="dense")],
        "band peripheral upper_zone unilateral dense",
        [
            "a dense band along the peripheral chest wall in one upper zone",
            "a peripheral band of opacity at the edge of one upper zone",
        ],
        0.8,
    ),
    _recipe(
        "Hernia",
        [Lesion("round", zone="lower", radial="central", size="large", density="dense")],
        "round central basal lower_zone large dense",
        [
            "a large round central opacity behind the heart at the base",
            "a round dense central shadow at the base behind the heart",
        ],
        0.5,
    ),
)

RECIPES_BY_NAME: dict[str, ClassRecipe] = {r.name: r for r in RECIPES}


def attribute_vector(name: str) -> list[float]:
    """The class's attributes as a 0/1 vector in :data:`ATTRIBUTES` order."""
    attrs = RECIPES_BY_NAME[name].attributes
    return [1.0 if a in attrs else 0.0 for a in ATTRIBUTES]
