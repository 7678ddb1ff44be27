"""The synthetic world's visual vocabulary and the 14 NIH classes written in it.

The world is built from 11 *primitives*: looks such as "a thin horizontal linear band in the lower
zone" or "faint ground-glass haze". A primitive is drawn the same way by every class that shows it
(a :class:`Lesion`, drawn with randomness by :mod:`zsbench.data.synthetic.render`) and has fixed
phrases. A class is a *recipe*: its primitives, each in one lung or in both, and its descriptions
are its primitives' phrases joined in the recipe's order. So an unseen class whose primitives seen
classes show (Edema: Infiltration's haze and Effusion's fluid level) looks like a combination of
seen looks, and its description reads like the same combination of seen descriptions: a coverage
of 1 (:mod:`zsbench.data.coverage`) means it can be recognised from its text.

Each description ends with a short clinical *context* ("fluid from heart failure") that says
nothing of the look, as real class descriptions mix looks with causes. Without it a description
carried exactly the attribute vector's information, and MiniLM matched the attribute oracle
(leaderboards/README.md measured it); with it, text links classes that look nothing alike (Edema
and Cardiomegaly through heart failure, Effusion and Pneumothorax through the pleural space), as
it does for real, and the oracle bounds what a text encoder can give. Four classes
(Cardiomegaly, Mass, Nodule, Hernia) have a primitive of their own: they are never covered when
unseen.

World version 2 drew no lesion the same way in two classes, so a coverage of 1 over its word-level
attributes did not mean that the unseen look had been shown (leaderboards/README.md measured it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property


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
class Primitive:
    """A look shared by every class that shows it: drawn as :attr:`lesion` (in one lung, or as the
    same lesion in each lung), described by :attr:`phrases` (one per class description)."""

    lesion: Lesion
    phrases: tuple[str, str]
    in_lung: bool = True  # its phrase takes "in both lungs" where a class shows it in both
    says: frozenset[str] = frozenset()  # the size and density words reports give it


def _primitive(lesion: Lesion, phrases: tuple[str, str], says: str = "", in_lung: bool = True) -> Primitive:
    return Primitive(lesion, phrases, in_lung, frozenset(says.split()))


PRIMITIVES: dict[str, Primitive] = {
    "lower_band": _primitive(
        Lesion("band", zone="lower", density="dense"),
        ("a thin horizontal linear band in the lower zone", "a linear plate-like band in the lower zone"), "dense"),
    "enlarged_heart": _primitive(
        Lesion("enlarged_silhouette", radial="central", size="large"),
        ("an enlarged cardiac silhouette", "a large heart shadow"), in_lung=False),
    "fluid_level": _primitive(
        Lesion("fluid_level", zone="lower", density="dense"),
        ("a meniscus of fluid blunting the costophrenic angle",
         "layering fluid with a flat meniscus at the costophrenic angle"),
        "dense"),
    "haze": _primitive(
        Lesion("hazy", density="faint"), ("faint ground-glass haze", "hazy ground-glass shadowing"), "faint"),
    "small_round": _primitive(
        Lesion("round", size="small", density="dense"),
        ("a small round dense spot", "a tiny round dense dot"), "small dense"),
    "large_round": _primitive(
        Lesion("round", size="large", density="dense"),
        ("a large round dense ball", "a big round dense globe"), "large dense"),
    "dense_patches": _primitive(
        Lesion("patchy", zone="lower", size="large", density="dense"),
        ("dense patchy airspace blotches", "clustered dense airspace blotches"), "dense"),
    "upper_lucency": _primitive(
        Lesion("lucent", zone="upper"),
        ("a dark apical lucency without vessel markings", "a black apical lucency devoid of vessel markings")),
    "hyperinflation": _primitive(
        Lesion("hyperinflation"),
        ("hyperinflation with a flattened diaphragm", "an overexpanded lung with a flat low diaphragm")),
    "pleural_band": _primitive(
        Lesion("band", zone="upper", radial="peripheral", density="dense"),
        ("a thick pleural rind along the upper chest wall",
         "a smooth rind of pleura lining the upper chest wall"), "dense"),
    "retrocardiac_round": _primitive(
        Lesion("round", zone="lower", radial="central", size="large", density="dense"),
        ("a retrocardiac round shadow", "a rounded retrocardiac shadow behind the heart"),
        "large dense", in_lung=False),
}
BILATERAL = "bilateral"
#: Every attribute, in the order of the ``attributes`` text encoder's vector: one per primitive,
#: and whether any of the class's primitives is in both lungs.
ATTRIBUTES: tuple[str, ...] = (*PRIMITIVES, BILATERAL)


@dataclass(frozen=True)
class ClassRecipe:
    name: str
    primitives: tuple[tuple[str, str], ...]  # (primitive name, "one" | "both"), in drawing order
    weight: float  # relative frequency in the synthetic world
    context: tuple[str, str]  # what the disease is, one per phrasing: words that say nothing of its look

    @cached_property  # derived once: render and reports read them for every image
    def lesions(self) -> tuple[Lesion, ...]:
        return tuple(replace(PRIMITIVES[kind].lesion, side=side) for kind, side in self.primitives)

    @cached_property
    def attributes(self) -> frozenset[str]:
        bilateral = {BILATERAL} if any(side == "both" for _, side in self.primitives) else set()
        return frozenset({kind for kind, _ in self.primitives} | bilateral)

    @cached_property
    def words(self) -> frozenset[str]:
        """The size and density words a report says about this class's lesions."""
        return frozenset().union(*(PRIMITIVES[kind].says for kind, _ in self.primitives))

    @cached_property
    def looks(self) -> tuple[str, ...]:
        """What the class looks like, one per phrasing: the primitives' phrases in order, each with
        its lungs."""
        out = []
        for variant in range(2):
            parts = []
            for kind, side in self.primitives:
                primitive = PRIMITIVES[kind]
                where = " in both lungs" if side == "both" and primitive.in_lung else ""
                parts.append(primitive.phrases[variant] + where)
            out.append(", with ".join(parts))
        return tuple(out)

    @cached_property
    def descriptions(self) -> tuple[str, ...]:
        """One description per phrasing: its look, then the clinical context."""
        return tuple(f"{look}; {context}" for look, context in zip(self.looks, self.context, strict=True))


def _recipe(name: str, primitives: str, weight: float, context: tuple[str, str]) -> ClassRecipe:
    """``primitives``: space-separated ``kind`` (one lung) or ``kind:both``."""
    parsed = tuple((kind, side or "one") for kind, _, side in (p.partition(":") for p in primitives.split()))
    unknown = sorted({kind for kind, _ in parsed} - set(PRIMITIVES))
    sides = sorted({side for _, side in parsed} - {"one", "both"})
    if sides:
        raise ValueError(f"{name}: sides must be 'one' or 'both', not {sides}")
    if unknown:  # a typo here would silently weaken the attributes encoder
        raise ValueError(f"{name}: primitives not in the lexicon: {unknown}")
    return ClassRecipe(name, parsed, weight, context)


RECIPES: tuple[ClassRecipe, ...] = (
    _recipe("Atelectasis", "lower_band", 1.2,
            ("lung collapse after surgery", "a collapse of lung tissue from a mucus plug")),
    _recipe("Cardiomegaly", "enlarged_heart", 0.8,
            ("an enlarged heart in heart failure", "a big heart from cardiomyopathy")),
    _recipe("Effusion", "fluid_level", 1.3,
            ("pleural fluid from heart failure or infection", "fluid in the pleural space from a tumour or infection")),
    _recipe("Infiltration", "haze:both", 1.5,
            ("a sign of infection or inflammation", "inflammatory cells or blood in the lung")),
    _recipe("Mass", "large_round", 0.8,
            ("often a lung cancer", "usually a malignant tumour")),
    _recipe("Nodule", "small_round", 0.9,
            ("often an old granuloma", "mostly a benign growth")),
    _recipe("Pneumonia", "dense_patches haze", 0.7,
            ("a lung infection with fever", "an infection of the lung by bacteria")),
    _recipe("Pneumothorax", "upper_lucency hyperinflation", 0.8,
            ("air in the pleural space", "air leaking around the lung after an injury")),
    _recipe("Consolidation", "dense_patches", 0.9,
            ("airspaces filled by infection", "lung filled with pus instead of air")),
    _recipe("Edema", "haze fluid_level", 0.7,
            ("fluid from heart failure", "excess lung fluid from a failing heart")),
    _recipe("Emphysema", "upper_lucency:both hyperinflation:both", 0.7,
            ("lung damage in smokers", "a chronic obstructive disease of smokers")),
    _recipe("Fibrosis", "lower_band pleural_band", 0.7,
            ("scarring of the lung", "stiff scarred lung tissue")),
    _recipe("Pleural_Thickening", "pleural_band", 0.8,
            ("scarring of the pleura", "a fibrous thickening of the lung lining")),
    _recipe("Hernia", "retrocardiac_round", 0.5,
            ("the stomach slides into the chest", "part of the stomach above the diaphragm")),
)

RECIPES_BY_NAME: dict[str, ClassRecipe] = {r.name: r for r in RECIPES}


def attribute_vector(name: str) -> list[float]:
    """The class's attributes as a vector in :data:`ATTRIBUTES` order: 1 / sqrt(k) for each of its k
    attributes, 0 elsewhere."""
    attrs = RECIPES_BY_NAME[name].attributes
    norm = len(attrs) ** 0.5  # unit length: a class of three primitives does not weigh three times one
    return [1.0 / norm if a in attrs else 0.0 for a in ATTRIBUTES]
