"""Radiology-style reports for the synthetic world, written from each image's findings.

A report describes every finding of an image in the lexicon's words (pattern, location, size,
density: :mod:`zsbench.data.synthetic.lexicon`), naming the lung the renderer drew it in, negates a
few absent findings, and calls a normal study normal. Wording varies between images (sentence
templates and synonyms) by a generator seeded from ``(world seed, image index)`` alone, so a report
is a pure function of them, like the image. Class names are not needed: findings are described, and
only a seeded share of reports names a class (as an impression, or in a negation such as
"No pleural effusion.").

A report is kept as sentences tagged with the finding they describe, negate or name, so
:func:`strip_findings` can drop exactly the sentences about given findings: image-text pretraining
with ``--exclude-findings`` must never read a word about the unseen classes.

Sides follow the radiological convention for a frontal view: the image's left (side 0) is the
patient's right lung.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME, ClassRecipe, Lesion
from zsbench.errors import UsageError, close_matches

#: Bumped whenever the wording changes the text a (seed, index) gets; image-text pretraining
#: records it with what it saw. The images and labels (``WORLD_VERSION``) do not depend on it.
REPORT_VERSION = 1
#: The reports' own generator stream, apart from the pixels' (0xB1A5) and labels' (0xC0FFEE), so
#: changing the wording never changes an image and vice versa.
REPORT_STREAM = 0x7E47
#: Share of reports that end with an impression naming the findings' classes.
IMPRESSION_SHARE = 0.2
#: Share of negations worded with the class's common name ("No pneumothorax.") instead of its look.
NAMED_NEGATION_SHARE = 0.25

#: A word (or stem) that every phrase of a pattern contains, so readers and tests can find it.
PATTERN_WORDS: dict[str, str] = {
    "round": "round",
    "patchy": "patchy",
    "hazy": "haz",
    "band": "band",
    "fluid_level": "fluid level",
    "lucent": "lucen",
    "enlarged_silhouette": "enlarged",
    "hyperinflation": "hyperinflat",
}

# Noun phrases per pattern with their grammar: "a" a countable singular (takes an article), "s" a
# plural, "m" a mass noun. ``{lung}`` is filled with the lesion's lung.
_NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "round": (("round opacity", "a"), ("rounded opacity", "a"), ("round density", "a")),
    "patchy": (("patchy opacity", "a"), ("patchy airspace opacity", "a"), ("patchy opacities", "s")),
    "hazy": (("hazy opacity", "a"), ("haze", "m"), ("hazy shadowing", "m")),
    "band": (("band of opacity", "a"), ("linear band", "a"), ("band-like opacity", "a")),
    "fluid_level": (("opacity with a fluid level", "a"), ("basal opacity with a flat fluid level", "a"),
                    ("layering opacity with a fluid level", "a")),
    "lucent": (("lucent area without lung markings", "a"), ("lucency devoid of lung markings", "a"),
               ("lucent region", "a")),
    "enlarged_silhouette": (("enlarged cardiac silhouette", "a"), ("enlarged heart shadow", "a")),
    "hyperinflation": (("hyperinflation of {lung}", "m"), ("hyperinflated {lung}", "a")),
}
_SIZES = {"small": ("small", "small", "tiny"), "large": ("large", "large", "sizeable")}
_DENSITIES = {"faint": ("faint", "faint", "subtle"), "dense": ("dense", "dense", "high-density")}
_RADIALS = {"central": ("central", "central", "perihilar"), "peripheral": ("peripheral", "peripheral", "subpleural")}
# patterns that change the anatomy: size, density and radial words would only repeat the noun
_NO_ADJECTIVES = frozenset({"enlarged_silhouette", "hyperinflation"})

# What a radiologist calls each class: (in an impression, in a negation).
_COMMON_NAMES: dict[str, tuple[str, str]] = {
    "Atelectasis": ("atelectasis", "atelectasis"),
    "Cardiomegaly": ("cardiomegaly", "cardiomegaly"),
    "Effusion": ("a pleural effusion", "pleural effusion"),
    "Infiltration": ("infiltrates", "infiltrate"),
    "Mass": ("a mass", "mass"),
    "Nodule": ("a nodule", "nodule"),
    "Pneumonia": ("pneumonia", "pneumonia"),
    "Pneumothorax": ("a pneumothorax", "pneumothorax"),
    "Consolidation": ("consolidation", "focal consolidation"),
    "Edema": ("pulmonary edema", "pulmonary edema"),
    "Emphysema": ("emphysema", "emphysema"),
    "Fibrosis": ("pulmonary fibrosis", "fibrosis"),
    "Pleural_Thickening": ("pleural thickening", "pleural thickening"),
    "Hernia": ("a hiatal hernia", "hiatal hernia"),
}
_OPENERS = ("", "", "Frontal view of the chest.", "PA radiograph of the chest.")
_CLEAR_LUNGS = ("The lungs are clear.", "Clear lungs.", "The lung fields are clear.")
_NORMAL_HEART = ("The cardiac silhouette is normal.", "Heart size is normal.",
                 "The cardiac silhouette is normal in size.")
_NORMAL_IMPRESSIONS = ("Impression: normal chest radiograph.", "No acute cardiopulmonary abnormality.")
_IMPRESSIONS = ("Impression: {}.", "Findings are consistent with {}.", "Appearances suggest {}.")
_NAMED_NEGATIONS = ("No {}.", "There is no {}.", "No evidence of {}.")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a report and the class it is about."""

    text: str
    finding: str | None = None  # the class it describes, negates or names; None: about no class
    negated: bool = False


@dataclass(frozen=True)
class Report:
    """A report as tagged sentences; :attr:`text` is what a reader sees."""

    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def described(self) -> set[str]:
        """Classes the report says are present."""
        return {s.finding for s in self.sentences if s.finding is not None and not s.negated}

    def negated(self) -> set[str]:
        """Classes the report says are absent."""
        return {s.finding for s in self.sentences if s.finding is not None and s.negated}


def strip_findings(report: Report, findings: Collection[str]) -> str:
    """The report's text without every sentence that describes, negates or names one of
    ``findings`` (class names of the lexicon); sentences about other classes stay word for word."""
    unknown = sorted(set(findings) - set(RECIPES_BY_NAME))
    if unknown:
        valid = sorted(RECIPES_BY_NAME)
        raise UsageError(f"unknown finding {unknown[0]!r}; valid: {', '.join(valid)}{close_matches(unknown[0], valid)}")
    return " ".join(s.text for s in report.sentences if s.finding not in findings)


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _with_article(phrase: str, grammar: str) -> str:
    if grammar != "a":
        return phrase
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _lung(side: int | None) -> str:
    if side is None:  # the renderer's side is not known: say no more than the recipe does
        return "one lung"
    return "the right lung" if side == 0 else "the left lung"


def _location(lesion: Lesion, side: int | None, rng: np.random.Generator) -> str:
    """Where the lesion is, as a phrase starting with a preposition ("" where the noun says it)."""
    if lesion.pattern in _NO_ADJECTIVES:
        return ""
    if lesion.pattern == "round" and lesion.radial == "central":  # drawn behind the heart
        return _pick(rng, ("behind the heart at the base", "in the retrocardiac region at the base"))
    zone = "" if lesion.zone == "any" else lesion.zone
    if lesion.side == "both":
        if not zone:
            return _pick(rng, ("in both lungs", "throughout both lungs", "bilaterally"))
        return _pick(rng, (f"in both {zone} zones", f"in the {zone} zones of both lungs",
                           f"bilaterally in the {zone} zones"))
    if not zone:
        return _pick(rng, (f"in {_lung(side)}", f"within {_lung(side)}"))
    named = f"in the {'right' if side == 0 else 'left'} {zone} zone" if side is not None else f"in one {zone} zone"
    return _pick(rng, (named, f"in the {zone} zone of {_lung(side)}"))


def _noun_phrase(lesion: Lesion, recipe: ClassRecipe, side: int | None, rng: np.random.Generator) -> tuple[str, str]:
    """The lesion as adjectives + noun (no article) and its grammar. Size and density words are
    said only where the class's attributes name them, so a report says what the class looks like."""
    noun, grammar = _NOUNS[lesion.pattern][int(rng.integers(len(_NOUNS[lesion.pattern])))]
    lung = "both lungs" if lesion.side == "both" else _lung(side)
    if lesion.pattern == "hyperinflation" and lesion.side == "both":
        noun, grammar = _pick(rng, ("hyperinflation of both lungs", "hyperinflated lungs")), "m"
    elif lesion.pattern == "hyperinflation" and side is None:  # not "a hyperinflated one lung"
        noun, grammar = "hyperinflation of {lung}", "m"
    noun = noun.format(lung=lung)
    if noun.startswith("hyperinflated the "):  # "hyperinflated the right lung" -> "hyperinflated right lung"
        noun = "hyperinflated " + noun.removeprefix("hyperinflated the ")
    words = []
    if lesion.pattern not in _NO_ADJECTIVES:
        if lesion.size in recipe.words:
            words.append(_pick(rng, _SIZES[lesion.size]))
        if lesion.density in recipe.words:
            words.append(_pick(rng, _DENSITIES[lesion.density]))
        if lesion.radial in _RADIALS:
            words.append(_pick(rng, _RADIALS[lesion.radial]))
    return " ".join([*words, noun]), grammar


def _finding_sentence(name: str, side: int | None, rng: np.random.Generator) -> Sentence:
    """One sentence describing every lesion of finding ``name``."""
    recipe = RECIPES_BY_NAME[name]
    phrases = []
    for lesion in recipe.lesions:
        noun, grammar = _noun_phrase(lesion, recipe, side, rng)
        phrases.append((noun, grammar, _location(lesion, side, rng), (lesion.zone, lesion.side)))
    first, grammar, where, place = phrases[0]
    rest = ""
    for noun, later_grammar, later_where, later_place in phrases[1:]:
        joiner = _pick(rng, (" with ", ", with ", " and "))
        rest += joiner + _with_article(noun, later_grammar)
        if later_where and later_place != place:  # in the same place: said once, after the first
            rest += f" {later_where}"
    tail = (f" {where}" if where else "") + rest
    verb = "are" if grammar == "s" else "is"
    # "... is seen." after a long compound reads badly: that form only for one-lesion findings
    template = int(rng.integers(3 if len(phrases) == 1 else 2))
    if template == 0:
        text = f"There {verb} {_with_article(first, grammar)}{tail}."
    elif template == 1:  # the telegraphic style of many reports: no article, no verb
        text = f"{first[0].upper()}{first[1:]}{tail}."
    else:
        lead = _with_article(first, grammar)
        text = f"{lead[0].upper()}{lead[1:]}{tail} {verb} {_pick(rng, ('seen', 'noted', 'present'))}."
    return Sentence(text, name)


def _negation(name: str, rng: np.random.Generator, named_share: float = NAMED_NEGATION_SHARE) -> Sentence:
    """A sentence saying finding ``name`` is absent: in its look (its first lesion) or by name."""
    if rng.random() < named_share:
        return Sentence(_pick(rng, _NAMED_NEGATIONS).format(_COMMON_NAMES[name][1]), name, negated=True)
    lesion = RECIPES_BY_NAME[name].lesions[0]
    if lesion.pattern == "enlarged_silhouette":
        return Sentence(_pick(rng, _NORMAL_HEART), name, negated=True)
    noun, grammar = _NOUNS[lesion.pattern][int(rng.integers(len(_NOUNS[lesion.pattern])))]
    if lesion.size in RECIPES_BY_NAME[name].words:  # "no small round opacity" is not a mass's
        noun = f"{lesion.size} {noun}"
    if lesion.pattern == "round" and lesion.radial == "central":
        where = " behind the heart"
    elif lesion.zone == "any":
        where = ""
    else:
        where = f" in either {lesion.zone} zone" if lesion.side == "one" else f" in the {lesion.zone} zones"
    verb = "are" if grammar == "s" else "is"
    text = _pick(rng, (f"No {noun}{where}.", f"There {verb} no {noun}{where}.", f"No {noun} {verb} seen{where}."))
    return Sentence(text, name, negated=True)


def _negatable(present: Sequence[str]) -> list[str]:
    """Absent classes that can be negated without contradicting the image: none of their patterns
    is drawn by a present finding ("no round opacity" would deny a present mass)."""
    shown = {lesion.pattern for name in present for lesion in RECIPES_BY_NAME[name].lesions}
    return [
        name for name, recipe in RECIPES_BY_NAME.items()
        if name not in present and not shown & {lesion.pattern for lesion in recipe.lesions}
    ]


def write_report(seed: int, index: int, findings: Sequence[str], sides: Mapping[str, int] | None = None) -> Report:
    """The report of image ``index`` of the world with ``seed``, showing ``findings`` (class names;
    empty for a normal study); ``sides`` gives the side the renderer drew each finding on
    (0 = image-left = the patient's right), else a one-sided finding is "in one lung"."""
    rng = np.random.default_rng([seed, index, REPORT_STREAM])
    sides = sides or {}
    sentences = []
    opener = _pick(rng, _OPENERS)
    if opener:
        sentences.append(Sentence(opener))
    negatable = _negatable(findings)
    if findings:
        for n in rng.permutation(len(findings)):
            sentences.append(_finding_sentence(findings[n], sides.get(findings[n]), rng))
        n_negations = int(rng.integers(0, 3))
    else:  # a normal study always says so, heart included
        sentences.append(Sentence(_pick(rng, _CLEAR_LUNGS)))
        sentences.append(_negation("Cardiomegaly", rng, named_share=0.0))
        negatable.remove("Cardiomegaly")
        n_negations = int(rng.integers(0, 3))
    chosen = rng.choice(len(negatable), size=min(n_negations, len(negatable)), replace=False)
    sentences.extend(_negation(negatable[n], rng) for n in sorted(chosen))
    if rng.random() < IMPRESSION_SHARE:
        if findings:
            sentences.extend(
                Sentence(_pick(rng, _IMPRESSIONS).format(_COMMON_NAMES[name][0]), name) for name in findings
            )
        else:
            sentences.append(Sentence(_pick(rng, _NORMAL_IMPRESSIONS)))
    return Report(tuple(sentences))
