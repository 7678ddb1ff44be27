"""Bootstrap confidence intervals of a group's mean S/U/H AUROC over test images.

A replicate resamples a run's n test images with replacement; that is the same as giving each
image a count (how often it was drawn). AUROC is a rank statistic, so each class's images are
sorted once per block of up to CHUNK replicates and every replicate is prefix sums over the
counts: B replicates of one class cost a gather and a sum over an (n x B) count array instead of
B sorts. Counts are integers, so the
area is exact (ties count 1/2 as in :func:`zsbench.metrics.auroc`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zsbench.metrics import SUH

CHUNK = 256  # replicates per block: bounds memory to a few (n x CHUNK) arrays


def percentile_bounds(level: float) -> tuple[float, float]:
    """The lower and upper percentiles of a central ``level`` interval (95% -> 2.5, 97.5)."""
    tail = 100.0 * (1.0 - level) / 2.0
    return tail, 100.0 - tail


@dataclass(frozen=True)
class BootstrapSettings:
    replicates: int = 1000
    seed: int = 0
    level: float = 0.95

    @property
    def percentiles(self) -> tuple[float, float]:
        return percentile_bounds(self.level)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of the ``index``-th run of a group (runs sorted by run id)."""
        return np.random.default_rng([self.seed, index])

    def describe(self) -> dict[str, object]:
        lo, hi = self.percentiles
        return {
            "replicates": self.replicates,
            "seed": self.seed,
            "level": self.level,
            "percentiles": [lo, hi],
            "rng": f"numpy.random.default_rng([{self.seed}, k]) for the k-th run of a group, runs sorted by run id",
            "resampling": "test images with replacement, each run separately, all classes together",
        }


@dataclass
class RunScores:
    """What the bootstrap needs from one run: n x C scores and labels (NaN = unknown)."""

    scores: np.ndarray
    labels: np.ndarray
    seen: list[int]
    unseen: list[int]


def resample_indices(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    """B x n indices of test images drawn with replacement."""
    return rng.integers(0, n, size=(replicates, n))


def counts_from_indices(indices: np.ndarray, n: int) -> np.ndarray:
    """n x B (image x replicate): how many times each image was drawn in each replicate."""
    b = indices.shape[0]
    flat = (indices * b + np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=n * b).reshape(n, b).astype(np.int32)


def weighted_auroc(scores: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AUROC of one class in each of B replicates, given as n x B image counts.

    Equal to ``roc_auc_score`` on the resampled images (a tie counts 1/2); NaN labels are ignored
    and a replicate without a positive or without a negative gives NaN. For each positive image,
    the negatives below its score and tied with it are found once (by position in the sorted
    order); each replicate then needs only prefix sums of negative counts at those positions.
    """
    replicates = counts.shape[1]
    rows = np.flatnonzero(~np.isnan(labels))
    order = np.argsort(scores[rows], kind="mergesort")
    rows = rows[order]
    s, y = scores[rows], labels[rows] > 0
    neg_at, pos_at = np.flatnonzero(~y), np.flatnonzero(y)
    if not len(neg_at) or not len(pos_at):
        return np.full(replicates, np.nan)
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]  # runs of equal scores
    ends = np.r_[starts[1:], len(s)]
    group = np.searchsorted(starts, pos_at, side="right") - 1  # each positive's run of ties
    below = np.searchsorted(neg_at, starts[group])  # negatives strictly below it
    upto = np.searchsorted(neg_at, ends[group])  # ... plus the tied ones
    cuts = np.unique(np.r_[0, below, upto, len(neg_at)])
    segments = np.add.reduceat(counts[rows[neg_at]], cuts[:-1], axis=0)
    prefix = np.zeros((len(cuts), replicates), dtype=np.int64)  # negatives' counts before each cut
    np.cumsum(segments, axis=0, out=prefix[1:])
    neg_below = prefix[np.searchsorted(cuts, below)]
    neg_tied = prefix[np.searchsorted(cuts, upto)] - neg_below
    pos = counts[rows[pos_at]].astype(np.int64)
    twice_wins = (pos * (2 * neg_below + neg_tied)).sum(axis=0)
    pairs = pos.sum(axis=0) * prefix[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, twice_wins / (2.0 * pairs), np.nan)


def _finite_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` of the finite entries; NaN where there are none."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    n = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def harmonic(s: np.ndarray, u: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        h = 2.0 * s * u / (s + u)
    return np.where(np.isfinite(h), h, np.nan)


def suh_replicates(run: RunScores, counts: np.ndarray) -> np.ndarray:
    """B x 3: the run's S, U and H AUROC in each replicate (classes without both labels left out)."""
    cols = run.seen + run.unseen
    per_class = np.stack([weighted_auroc(run.scores[:, c], run.labels[:, c], counts) for c in cols], axis=1)
    s = _finite_mean(per_class[:, : len(run.seen)], axis=1)
    u = _finite_mean(per_class[:, len(run.seen):], axis=1)
    return np.stack([s, u, harmonic(s, u)], axis=1)


def run_replicates(run: RunScores, rng: np.random.Generator, replicates: int) -> np.ndarray:
    """B x 3 S/U/H of one run over ``replicates`` resamples of its test images."""
    n = len(run.scores)
    out = []
    for start in range(0, replicates, CHUNK):
        b = min(CHUNK, replicates - start)
        out.append(suh_replicates(run, counts_from_indices(resample_indices(rng, n, b), n)))
    return np.concatenate(out) if out else np.zeros((0, 3))


def group_intervals(runs: Sequence[RunScores], settings: BootstrapSettings) -> dict[str, list[float]]:
    """Percentile CI of the group's mean S, U and H: each replicate averages its runs' values."""
    names = SUH
    if settings.replicates < 1 or not runs:
        return {name: [float("nan"), float("nan")] for name in names}
    per_run = np.stack([run_replicates(r, settings.rng(k), settings.replicates) for k, r in enumerate(runs)])
    group_mean = _finite_mean(per_run, axis=0)  # B x 3
    out = {}
    for j, name in enumerate(names):
        values = group_mean[:, j][np.isfinite(group_mean[:, j])]
        lo, hi = np.percentile(values, settings.percentiles) if len(values) else (np.nan, np.nan)
        out[name] = [float(lo), float(hi)]
    return out
