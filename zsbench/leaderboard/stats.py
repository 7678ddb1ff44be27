"""Paired, hierarchical statistics over many class splits and seeds.

A benchmark's runs are nested: class splits, several seeds within each split, and the test
images of each run. All three vary what a run measures, so all three enter the uncertainty:

- **Spread by source** (method of moments): ``sd_seed`` is the pooled within-split standard
  deviation over seeds; ``sd_split`` the standard deviation of the split means once their seed
  noise is taken out (``var(split means) - sd_seed^2 * mean(1/n_seeds)``, floored at 0);
  ``sd_image`` the test-image sampling standard deviation of one run's value (from its bootstrap
  over test images, averaged over runs).
- **CI of a group's mean**: a hierarchical percentile bootstrap. Each replicate draws the splits
  with replacement, then seeds within each drawn split with replacement, then, for S/U/H, one
  resample of each drawn run's test images (a random column of a pool of image resamples made per
  test set); the replicate's value is the mean over drawn splits of the mean over their drawn seeds.
- **Paired comparisons**: two groups evaluated on the same (split, seed) pairs are compared run
  by run, differences ``a - b``. The paired CI bootstraps the differences the same way; the image
  level uses the *same* image resample for both runs of a pair (a test set's pool is drawn once,
  from a generator seeded by its image ids), so image noise shared by both cancels as it should.
  The p-value is a two-sided sign-flip permutation test over splits (each split's mean
  difference keeps or flips its sign): exact up to ``EXACT_MAX_SPLITS`` splits, Monte-Carlo above.
  ``holm`` adjusts a table's p-values for multiplicity.

Metrics other than S/U/H (mAP, p/r/f1@k) have no fast image resampling: their intervals use the
split and seed levels only, and say so in ``levels``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zsbench.leaderboard.bootstrap import (
    CHUNK,
    RunScores,
    counts_from_indices,
    percentile_bounds,
    resample_indices,
    suh_replicates,
)
from zsbench.metrics import SUH

EXACT_MAX_SPLITS = 16  # 2^16 sign patterns: exact; more splits: Monte-Carlo sign flips
IMAGE_METRICS = SUH  # metrics with an image-level resample (weighted-count AUROC)


@dataclass(frozen=True)
class StatsSettings:
    replicates: int = 2000  # hierarchical bootstrap replicates
    image_replicates: int = 200  # test-image resamples per test set, the pool a replicate draws from
    permutations: int = 20000  # Monte-Carlo sign flips when there are more than EXACT_MAX_SPLITS splits
    seed: int = 0
    level: float = 0.95

    @property
    def percentiles(self) -> tuple[float, float]:
        return percentile_bounds(self.level)

    def describe(self) -> dict[str, Any]:
        return {
            "method": "hierarchical percentile bootstrap: class splits with replacement, then seeds within each "
                      "split with replacement, then (S/U/H only) one test-image resample per drawn run; "
                      "mean over splits of the mean over seeds",
            "paired": "differences a - b per (split, seed); both runs of a pair share each test-image resample",
            "p_value": f"two-sided sign-flip permutation test over splits (exact up to {EXACT_MAX_SPLITS} "
                       f"splits, else {self.permutations} Monte-Carlo flips); Holm-adjusted over a table",
            "spread": "method of moments: pooled within-split sd over seeds, sd of split means less seed noise, "
                      "test-image bootstrap sd",
            "replicates": self.replicates, "image_replicates": self.image_replicates,
            "permutations": self.permutations, "seed": self.seed, "level": self.level,
        }


@dataclass
class Unit:
    """One run (or one paired difference): its split, seed, recorded values and, for the image
    level, a pool of R resampled values per image metric (R x len(IMAGE_METRICS))."""

    split: str
    seed: int
    values: dict[str, float]
    pool: np.ndarray | None = None


@dataclass
class Estimate:
    """A mean (or mean difference) with its CI, spread by source and, for differences, a p-value."""

    mean: float
    ci: tuple[float, float]
    n_splits: int
    n_runs: int
    levels: tuple[str, ...]
    sd_split: float = math.nan
    sd_seed: float = math.nan
    sd_image: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    p_exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "ci95": list(self.ci), "n_splits": self.n_splits, "n_runs": self.n_runs,
                "levels": list(self.levels), "sd_split": self.sd_split, "sd_seed": self.sd_seed,
                "sd_image": self.sd_image, "p": self.p, "p_holm": self.p_holm, "p_exact": self.p_exact}

    @property
    def excludes_zero(self) -> bool:
        lo, hi = self.ci
        return math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)


def _by_split(units: Sequence[Unit]) -> list[list[int]]:
    splits: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        splits.setdefault(u.split, []).append(i)
    return [splits[k] for k in sorted(splits)]


def split_means(values: np.ndarray, tree: list[list[int]]) -> np.ndarray:
    """Per split, the mean of its finite run values (NaN where none)."""
    out = []
    for members in tree:
        v = values[members]
        v = v[np.isfinite(v)]
        out.append(v.mean() if len(v) else np.nan)
    return np.array(out)


def spread(values: np.ndarray, tree: list[list[int]]) -> tuple[float, float]:
    """(sd_split, sd_seed) by the method of moments (NaN where a level has fewer than 2 members)."""
    within, sizes = [], []
    for members in tree:
        v = values[members]
        v = v[np.isfinite(v)]
        if len(v):
            sizes.append(len(v))
        if len(v) >= 2:
            within.append(v.var(ddof=1))
    sd_seed = math.sqrt(float(np.mean(within))) if within else math.nan
    means = split_means(values, tree)
    means = means[np.isfinite(means)]
    if len(means) < 2:
        return math.nan, sd_seed
    seed_part = (sd_seed**2) * float(np.mean([1.0 / n for n in sizes])) if within else 0.0
    return math.sqrt(max(0.0, float(means.var(ddof=1)) - seed_part)), sd_seed


def hierarchical_replicates(values: np.ndarray, tree: list[list[int]], pool: np.ndarray | None,
                            replicates: int, rng: np.random.Generator) -> np.ndarray:
    """B bootstrap replicates of the mean over splits of the mean over seeds.

    ``values``: one value per unit; ``pool``: units x R image resamples of those values (or None).
    Vectorised over replicates: splits drawn (B x m), seeds drawn within each drawn split (B x m x
    max seeds, masked past that split's count), one pool column drawn per drawn unit.
    """
    m = len(tree)
    width = max(len(t) for t in tree)
    table = np.full((m, width), -1, dtype=np.int64)  # split x seed slot -> unit index
    sizes = np.array([len(t) for t in tree])
    for s, members in enumerate(tree):
        table[s, : len(members)] = members
    picked_split = rng.integers(0, m, size=(replicates, m))
    n_seeds = sizes[picked_split]  # B x m
    slot = np.floor(rng.random((replicates, m, width)) * n_seeds[..., None]).astype(np.int64)
    valid = np.arange(width)[None, None, :] < n_seeds[..., None]
    unit = table[picked_split[..., None], np.where(valid, slot, 0)]
    if pool is None:
        drawn = values[unit]
    else:
        columns = rng.integers(0, pool.shape[1], size=unit.shape)
        drawn = pool[unit, columns]
    drawn = np.where(valid & np.isfinite(drawn), drawn, np.nan)
    with np.errstate(invalid="ignore"):
        per_split = np.nanmean(drawn, axis=2) if drawn.size else drawn
        return np.nanmean(per_split, axis=1)


def sign_flip_p(differences: np.ndarray, permutations: int, rng: np.random.Generator) -> tuple[float, bool]:
    """Two-sided sign-flip permutation p-value of the mean of per-split differences, and whether it
    is exact. Exact: all 2^m sign patterns (the observed one included). Monte-Carlo: (1 + hits) /
    (1 + draws), which never reports 0."""
    d = differences[np.isfinite(differences)]
    m = len(d)
    if m == 0:
        return math.nan, True
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    if m <= EXACT_MAX_SPLITS:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=m)))
        stats = np.abs(signs @ d) / m
        return float((stats >= observed - tol).mean()), True
    signs = rng.choice((1.0, -1.0), size=(permutations, m))
    hits = int((np.abs(signs @ d) / m >= observed - tol).sum())
    return (1 + hits) / (1 + permutations), False


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment; NaN p-values are passed through and not counted."""
    indexed = [(p, i) for i, p in enumerate(p_values) if math.isfinite(p)]
    indexed.sort()
    adjusted = [math.nan] * len(p_values)
    running, m = 0.0, len(indexed)
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def estimate(units: Sequence[Unit], metric: str, settings: StatsSettings, rng: np.random.Generator,
             paired: bool = False) -> Estimate:
    """Mean of ``metric`` over the units with its hierarchical CI and spread by source; for paired
    differences also the sign-flip p-value over splits."""
    tree = _by_split(units)
    values = np.array([u.values.get(metric, math.nan) for u in units], dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
    image = metric in IMAGE_METRICS and all(u.pool is not None for u in units)
    pool = np.stack([u.pool[:, IMAGE_METRICS.index(metric)] for u in units]) if image else None
    levels = ("splits", "seeds", "test images") if image else ("splits", "seeds")
    means = split_means(values, tree)
    finite_runs = int(np.isfinite(values).sum())
    if not np.isfinite(means).any():
        return Estimate(math.nan, (math.nan, math.nan), 0, 0, levels)
    mean = float(np.nanmean(means))
    sd_split, sd_seed = spread(values, tree)
    sd_image = math.nan
    if pool is not None:
        with np.errstate(invalid="ignore"):
            per_unit = np.nanvar(pool, axis=1, ddof=1)
        if np.isfinite(per_unit).any():
            sd_image = math.sqrt(float(np.nanmean(per_unit)))
    ci = (math.nan, math.nan)
    if settings.replicates > 0:
        reps = hierarchical_replicates(values, tree, pool, settings.replicates, rng)
        reps = reps[np.isfinite(reps)]
        if len(reps):
            lo, hi = np.percentile(reps, settings.percentiles)
            ci = (float(lo), float(hi))
    result = Estimate(mean, ci, int(np.isfinite(means).sum()), finite_runs, levels, sd_split, sd_seed, sd_image)
    if paired:
        result.p, result.p_exact = sign_flip_p(means, settings.permutations, rng)
    return result


# --- from runs to units ---------------------------------------------------------------------------


def test_set_key(image_ids: np.ndarray) -> int:
    """A stable integer naming a test set by its image ids: runs on the same images draw the same
    image resamples, which is what pairs them at the image level."""
    digest = hashlib.sha256("\n".join(map(str, image_ids)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass
class ImagePools:
    """S/U/H image-resample pools, one per run, drawn per test set (cached by run id)."""

    settings: StatsSettings
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    def of(self, run_id: str, image_ids: np.ndarray, scores: RunScores) -> np.ndarray:
        """R x 3 S/U/H of the run on R resamples of its test set (the same R for every run on it)."""
        if run_id not in self._cache:
            n, total = len(image_ids), self.settings.image_replicates
            rng = np.random.default_rng([self.settings.seed, test_set_key(image_ids)])
            blocks = []
            for start in range(0, total, CHUNK):
                counts = counts_from_indices(resample_indices(rng, n, min(CHUNK, total - start)), n)
                blocks.append(suh_replicates(scores, counts))
            self._cache[run_id] = np.concatenate(blocks) if blocks else np.zeros((0, len(IMAGE_METRICS)))
        return self._cache[run_id]
