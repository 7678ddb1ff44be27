"""The text that stands for each class: its name, or its description."""

from __future__ import annotations

import numpy as np

from zsbench.data.base import ClassInfo
from zsbench.errors import UsageError

CLASS_TEXT_MODES = ("name", "description", "ensemble")


def _require_descriptions(classes: list[ClassInfo], mode: str) -> None:
    missing = [c.name for c in classes if not c.descriptions]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise UsageError(
            f"--class-text {mode}: no description for {', '.join(missing[:5])}{more}; use --class-text name"
        )


def class_texts(classes: list[ClassInfo], mode: str) -> list[str]:
    """One text per class. ``description`` uses each class's first (primary) description;
    ``ensemble`` is for :func:`ensemble_groups` (it returns the primary ones here, for records)."""
    if mode == "name":
        return [c.display_name for c in classes]
    if mode in ("description", "ensemble"):
        _require_descriptions(classes, mode)
        return [c.descriptions[0] for c in classes]
    raise UsageError(f"unknown --class-text {mode!r}; choose one of {', '.join(CLASS_TEXT_MODES)}")


def ensemble_groups(classes: list[ClassInfo]) -> list[tuple[str, ...]]:
    """Every description of every class: ``--class-text ensemble`` embeds them all and averages
    each class's embeddings."""
    _require_descriptions(classes, "ensemble")
    return [c.descriptions for c in classes]


def embedded_texts(classes: list[ClassInfo], mode: str) -> list[str] | list[list[str]]:
    """What an encoder that reads text embeds for these classes, as result.json records it
    (``classes.texts``): one text per class, or each class's descriptions in ensemble mode."""
    if mode == "ensemble":
        return [list(g) for g in ensemble_groups(classes)]
    return class_texts(classes, mode)


def encode_with_mode(encode_texts, classes: list[ClassInfo], mode: str) -> np.ndarray:
    """Class embeddings from a text-list encoder, averaging per class in ensemble mode."""
    if mode != "ensemble":
        return np.asarray(encode_texts(class_texts(classes, mode)), dtype=np.float32)
    groups = ensemble_groups(classes)
    flat = [t for g in groups for t in g]
    vectors = np.asarray(encode_texts(flat), dtype=np.float32)
    out, start = [], 0
    for g in groups:
        out.append(vectors[start : start + len(g)].mean(axis=0))
        start += len(g)
    return np.stack(out)
