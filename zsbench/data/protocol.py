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


def apply_protocol(table: ImageTable, split: ClassSplit, inductive: bool = True) -> DataSplits:
    """The paper's protocol: drop "No Finding" images (except in ``split.keep_no_finding`` parts),
    and drop every image with an unseen positive from train and val. Test keeps the rest.

    ``inductive=False`` is for upper bounds that train on every class (not zero-shot): train and
    val keep their unseen-label images, and only patient-disjointness is checked."""
    seen, unseen = split.indices(table.class_names)
    positives = np.nan_to_num(table.labels, nan=0.0) > 0
    has_finding = positives.any(axis=1)
    has_unseen = positives[:, unseen].any(axis=1)
    parts = {}
    for part in ("train", "val", "test"):
        mask = table.part == part
        if part not in split.keep_no_finding:
            mask &= has_finding
        if part != "test" and inductive:
            mask &= ~has_unseen
        parts[part] = table.select(mask)
    splits = DataSplits(parts["train"], parts["val"], parts["test"], seen, unseen)
    check_no_leakage(splits, check_unseen_labels=inductive)
    return splits


def check_no_leakage(splits: DataSplits, check_unseen_labels: bool = True) -> None:
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
    for part in ("train", "val") if check_unseen_labels else ():
        table = getattr(splits, part)
        leaked = np.nan_to_num(table.labels[:, splits.unseen], nan=0.0) > 0
        if leaked.any():
            row = int(np.argmax(leaked.any(axis=1)))
            raise LeakageError(
                f"{int(leaked.any(axis=1).sum())} {part} images carry an unseen label "
                f"(e.g. {table.ids[row]}); the inductive protocol removes them"
            )
