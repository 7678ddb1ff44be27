"""Seeded patient-disjoint image splits, for datasets without official split lists."""

from __future__ import annotations

import numpy as np

from zsbench.data.base import PARTS


def patient_split(
    patients: np.ndarray,
    fractions: tuple[float, ...] = (0.7, 0.1, 0.2),
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Assign every image a part so that no patient spans two parts.

    Patients are stratified by size (number of images, then ``weights`` summed per patient, e.g.
    diseased images): consecutive groups of similar patients are dealt out in the given
    proportions, in a seeded random order within each group. Unlike a greedy fill, which
    sends large (often sicker) patients to the biggest part, this keeps every part's share of
    images and of diseased images close to its fraction.
    """
    unique, inverse, counts = np.unique(patients, return_inverse=True, return_counts=True)
    rng = np.random.default_rng([seed, 0x5EED])
    secondary = np.zeros(len(unique)) if weights is None else np.bincount(inverse, weights=weights)
    order = np.lexsort((rng.random(len(unique)), secondary, counts))[::-1]
    group = 20  # slots per group: fractions are dealt in twentieths
    slots = np.repeat(np.arange(len(fractions)), np.round(np.asarray(fractions) * group).astype(int))
    part_of_patient = np.empty(len(unique), dtype=np.int64)
    for start in range(0, len(order), len(slots)):
        members = order[start : start + len(slots)]
        part_of_patient[members] = rng.permutation(slots)[: len(members)]
    return np.asarray(PARTS)[part_of_patient[inverse]]
