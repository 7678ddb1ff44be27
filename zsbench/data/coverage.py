"""Transferability ground truth, which only a dataset with known class attributes can give: for a
class split, the share of each unseen class's visual attributes that some seen class also shows.

A zero-shot model can only transfer what it has seen: an unseen class whose attributes all appear
in seen classes (coverage 1) is one it *could* recognise from its description, so its AUROC tells
"failed to transfer" apart from "nothing could transfer" (coverage below 1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from zsbench.data.base import ClassInfo

FULL = 1.0 - 1e-12  # a coverage at least this is "fully covered"


def attribute_coverage(classes: Sequence[ClassInfo], seen: Sequence[str],
                       unseen: Sequence[str]) -> dict[str, float] | None:
    """Unseen class -> share of its attributes shown by at least one seen class; None when the
    dataset's classes have no attribute vectors (real datasets)."""
    attributes = {c.name: c.attributes for c in classes}
    if any(attributes.get(name) is None for name in [*seen, *unseen]):
        return None
    shown = {a for name in seen for a, v in enumerate(attributes[name]) if v > 0}
    coverage = {}
    for name in unseen:
        own = [a for a, v in enumerate(attributes[name]) if v > 0]
        coverage[name] = sum(a in shown for a in own) / len(own) if own else math.nan
    return coverage


def fully_covered(coverage: dict[str, float] | None) -> list[str] | None:
    """The unseen classes every attribute of which some seen class shows (None: no coverage)."""
    if coverage is None:
        return None
    return [name for name, share in coverage.items() if math.isfinite(share) and share >= FULL]
