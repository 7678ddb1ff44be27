"""Canonical class names and their aliases across chest X-ray datasets.

NIH ChestX-ray14 spelling is canonical (``Pleural_Thickening``, ``Effusion``); other datasets'
names map onto it where the finding is the same, so a class split means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from zsbench.errors import DataError

NIH_CLASSES: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)
NO_FINDING = "No Finding"

# alias (lower case, spaces) -> canonical name
ALIASES: dict[str, str] = {
    "pleural effusion": "Effusion",
    "effusions": "Effusion",
    "infiltrate": "Infiltration",
    "infiltrates": "Infiltration",
    "pleural thickening": "Pleural_Thickening",
    "hiatal hernia": "Hernia",
    "pulmonary edema": "Edema",
    "pulmonary fibrosis": "Fibrosis",
    "pulmonary mass": "Mass",
    "lung nodule": "Nodule",
    "pulmonary nodule": "Nodule",
    "no findings": NO_FINDING,
    "normal": NO_FINDING,
}


def _key(name: str) -> str:
    return " ".join(name.replace("_", " ").strip().lower().split())


_CANONICAL_BY_KEY = {_key(c): c for c in NIH_CLASSES} | {_key(NO_FINDING): NO_FINDING}


def canonical(name: str) -> str:
    """The canonical spelling of ``name`` if it is an NIH class or a known alias, else ``name``."""
    key = _key(name)
    return _CANONICAL_BY_KEY.get(key) or ALIASES.get(key) or name.strip()


def aliases_of(name: str) -> list[str]:
    return sorted(a for a, c in ALIASES.items() if c == name)


def check_known_labels(found: Iterable[str], known: Iterable[str], source: str) -> None:
    """Raise :class:`DataError` naming labels that are neither known classes nor aliases."""
    known_set = set(known) | {NO_FINDING}
    unknown = sorted({canonical(f) for f in found} - known_set)
    if unknown:
        alias_text = "; ".join(f"{a} -> {c}" for a, c in sorted(ALIASES.items()))
        raise DataError(
            f"{source}: unknown labels {', '.join(repr(u) for u in unknown[:10])}"
            f"{' ...' if len(unknown) > 10 else ''}; known classes: {', '.join(sorted(known_set))}; "
            f"known aliases: {alias_text}"
        )
