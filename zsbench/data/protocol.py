"""The inductive ML-GZSL protocol: which images each part keeps, and guards against leakage.

Pure functions of metadata: no pixels are read, so every rule can be checked on real label files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zsbench.data.base import ImageTable
from zsbench.data.class_splits import ClassSplit
from zsbench.errors import LeakageError


@dataclass
class DataSplits:
    """Image ids and labels per part after the protocol's filters, with seen/unseen columns."""

    train: ImageTable
    val: ImageTable
    test: ImageTable
    seen: list[int]
    unseen: list[int]

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def apply_protocol(table: ImageTable, split: ClassSplit, drop_no_finding: bool = True) -> DataSplits:
    """The paper's protocol: drop "No Finding" images everywhere (optional), and drop every image
    with an unseen positive from train and val. Test keeps every remaining image."""
    seen, unseen = split.indices(table.class_names)
    positives = np.nan_to_num(table.labels, nan=0.0) > 0
    has_finding = positives.any(axis=1)
    has_unseen = positives[:, unseen].any(axis=1)
    keep = has_finding if drop_no_finding else np.ones(len(table), dtype=bool)
    parts = {}
    for part in ("train", "val", "test"):
        mask = keep & (table.part == part)
        if part != "test":
            mask &= ~has_unseen
        parts[part] = table.select(mask)
    splits = DataSplits(parts["train"], parts["val"], parts["test"], seen, unseen)
    check_no_leakage(splits)
    return splits


def check_no_leakage(splits: DataSplits) -> None:
    """Fail loudly if a patient appears in two parts or train/val carry an unseen positive."""
    patients = {part: set(getattr(splits, part).patients.tolist()) for part in ("train", "val", "test")}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = patients[a] & patients[b]
        if shared:
            example = sorted(shared)[0]
            raise LeakageError(
                f"{len(shared)} patients are in both {a} and {b} (e.g. {example}); "
                "image splits must be patient-disjoint"
            )
    for part in ("train", "val"):
        table = getattr(splits, part)
        leaked = np.nan_to_num(table.labels[:, splits.unseen], nan=0.0) > 0
        if leaked.any():
            row = int(np.argmax(leaked.any(axis=1)))
            raise LeakageError(
                f"{int(leaked.any(axis=1).sum())} {part} images carry an unseen label "
                f"(e.g. {table.ids[row]}); the inductive protocol removes them"
            )
