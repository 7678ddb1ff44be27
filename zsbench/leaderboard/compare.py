"""Groups of runs and their paired comparisons, as the leaderboard groups them (``zsbench
compare`` and the leaderboard's pairwise section). The statistics are in :mod:`.stats`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from zsbench.errors import UsageError
from zsbench.leaderboard.bootstrap import RunScores
from zsbench.leaderboard.collect import GroupKey, RunRecord
from zsbench.leaderboard.stats import Estimate, ImagePools, StatsSettings, Unit, estimate, holm
from zsbench.metrics import MAP_KEYS, SUH


def metric_names(records: Sequence[RunRecord]) -> list[str]:
    """S, U, H, the mAPs and f1@k for every k all the runs have."""
    ks = sorted(set.intersection(*({int(k[3:]) for k in r.metrics if k.startswith("f1@")} for r in records)))
    return [*SUH, *MAP_KEYS, *(f"f1@{k}" for k in ks)]


def group_label(key: GroupKey) -> str:
    text = "" if key.class_text == "description" else f" [{key.class_text}]"
    epochs = "" if key.epochs == "-" else f" / {key.epochs} ep"
    return f"{key.method} / {key.backbone} / {key.text_encoder}{text}{epochs}"


def _scores(record: RunRecord) -> RunScores:
    seen, unseen = record.run.columns()
    return RunScores(record.run.scores, record.run.labels, seen, unseen)


def _values(record: RunRecord, metrics: Sequence[str]) -> dict[str, float]:
    out = {}
    for name in metrics:
        value = record.metrics.get(name)
        out[name] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    return out


def run_units(records: Sequence[RunRecord], metrics: Sequence[str], pools: ImagePools | None) -> list[Unit]:
    return [Unit(r.split_name, r.seed, _values(r, metrics),
                 pools.of(r.run_id, r.run.image_ids, _scores(r)) if pools is not None else None)
            for r in records]


def group_estimates(records: Sequence[RunRecord], metrics: Sequence[str], settings: StatsSettings,
                    pools: ImagePools | None, index: int = 0) -> dict[str, Estimate]:
    """Each metric's hierarchical mean, CI and spread by source for one group (the ``index``-th of
    its table: it seeds the replicates, ``numpy.random.default_rng([seed, 0, index, j])``)."""
    units = run_units(records, metrics, pools)
    return {name: estimate(units, name, settings, np.random.default_rng([settings.seed, 0, index, j]))
            for j, name in enumerate(metrics)}


@dataclass
class Comparison:
    """``a`` against ``b`` on their common (split, seed) pairs: differences a - b."""

    a: GroupKey
    b: GroupKey
    pairs: list[tuple[str, int]]
    image_paired: bool  # every pair's two runs scored the same test images
    estimates: dict[str, Estimate]

    @property
    def n_splits(self) -> int:
        return len({split for split, _ in self.pairs})

    def to_dict(self) -> dict[str, Any]:
        return {"a": {**self.a.to_dict(), "label": group_label(self.a)},
                "b": {**self.b.to_dict(), "label": group_label(self.b)},
                "n_pairs": len(self.pairs), "n_splits": self.n_splits, "image_paired": self.image_paired,
                "pairs": [{"split": s, "seed": seed} for s, seed in self.pairs],
                "differences": {name: e.to_dict() for name, e in self.estimates.items()}}


def compare_groups(a: Sequence[RunRecord], b: Sequence[RunRecord], metrics: Sequence[str], settings: StatsSettings,
                   pools: ImagePools | None, index: int = 0) -> Comparison | None:
    """Run-by-run differences on the (split, seed) pairs both groups ran; None when they share none.
    The ``index``-th comparison of a table seeds ``numpy.random.default_rng([seed, 1, index, j])``."""
    by_pair_a = {(r.split_name, r.seed): r for r in a}
    by_pair_b = {(r.split_name, r.seed): r for r in b}
    pairs = sorted(set(by_pair_a) & set(by_pair_b))
    if not pairs:
        return None
    same_images = all(np.array_equal(by_pair_a[p].run.image_ids, by_pair_b[p].run.image_ids) for p in pairs)
    use_pools = pools if same_images else None
    units = []
    for pair in pairs:
        ra, rb = by_pair_a[pair], by_pair_b[pair]
        va, vb = _values(ra, metrics), _values(rb, metrics)
        pool = None
        if use_pools is not None:  # the same test-set resamples for both: image noise they share cancels
            pool = (use_pools.of(ra.run_id, ra.run.image_ids, _scores(ra))
                    - use_pools.of(rb.run_id, rb.run.image_ids, _scores(rb)))
        units.append(Unit(pair[0], pair[1], {m: va[m] - vb[m] for m in metrics}, pool))
    estimates = {name: estimate(units, name, settings, np.random.default_rng([settings.seed, 1, index, j]),
                                paired=True)
                 for j, name in enumerate(metrics)}
    return Comparison(a[0].key, b[0].key, pairs, same_images, estimates)


def adjust(comparisons: Sequence[Comparison]) -> None:
    """Holm-adjust every metric's p-values across the table, in place."""
    if not comparisons:
        return
    for name in comparisons[0].estimates:
        adjusted = holm([c.estimates[name].p for c in comparisons])
        for c, p in zip(comparisons, adjusted, strict=True):
            c.estimates[name].p_holm = p


def group_records(records: Sequence[RunRecord]) -> dict[GroupKey, list[RunRecord]]:
    groups: dict[GroupKey, list[RunRecord]] = {}
    for r in sorted(records, key=lambda r: (r.key, r.run_id)):
        groups.setdefault(r.key, []).append(r)
    return groups


def pairwise(groups: dict[GroupKey, list[RunRecord]], metrics: Sequence[str], settings: StatsSettings,
             pools: ImagePools | None = None) -> list[Comparison]:
    """Every pair of groups on the same dataset and protocol that share (split, seed) pairs, in
    the order given, Holm-adjusted over the table."""
    out = []
    for ka, kb in combinations(list(groups), 2):
        if (ka.dataset, ka.protocol) != (kb.dataset, kb.protocol):
            continue
        found = compare_groups(groups[ka], groups[kb], metrics, settings, pools, index=len(out))
        if found is not None:
            out.append(found)
    adjust(out)
    return out


def compare_selected(groups: dict[GroupKey, list[RunRecord]], metrics: Sequence[str],
                     settings: StatsSettings) -> list[Comparison]:
    """``zsbench compare``: every pair of the given groups; an error when no two share a pair."""
    if len(groups) < 2:
        raise UsageError(f"found {len(groups)} group of runs; compare needs at least two "
                         "(runs differing in method, backbone, text encoder, class text or epochs)")
    found = pairwise(groups, metrics, settings, ImagePools(settings))
    if not found:
        raise UsageError("no two groups were run on the same (class split, seed) pairs of one dataset and "
                         "protocol; a paired comparison needs common pairs")
    return found
