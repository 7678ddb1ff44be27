"""Grouping runs into leaderboard rows: mean +- std over runs, bootstrap CIs, per-class AUROC."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import numpy as np

from zsbench import __version__
from zsbench.errors import UsageError
from zsbench.leaderboard.bootstrap import BootstrapSettings, RunScores, group_intervals, suh_replicates
from zsbench.leaderboard.collect import GroupKey, RunRecord
from zsbench.leaderboard.compare import Comparison, group_estimates, group_records, pairwise
from zsbench.leaderboard.reported import ReportedEntry
from zsbench.leaderboard.stats import Estimate, ImagePools, StatsSettings
from zsbench.metrics import COVERED_KEY, MAP_KEYS, SUH

_K_KEY = re.compile(r"^f1@(\d+)$")


@dataclass
class Stat:
    """Mean and sample standard deviation (ddof=1) over the runs that have a value; n = those runs."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat:
        arr = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
        if not len(arr):
            return cls(math.nan, math.nan, 0)
        return cls(float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan, len(arr))

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n}


@dataclass
class ClassStat:
    """A class's AUROC in a group, over the runs where it was seen and where it was unseen."""

    name: str
    seen: Stat
    unseen: Stat
    coverage: Stat = field(default_factory=lambda: Stat(math.nan, math.nan, 0))  # where unseen (synthetic)


@dataclass
class GroupRow:
    id: str
    key: GroupKey
    zero_shot: bool
    run_ids: list[str]
    splits: list[str]
    seeds: list[int]
    stats: dict[str, Stat]
    ci: dict[str, list[float]]
    per_class: list[ClassStat]
    #: hierarchical estimates (splits, seeds, test images): mean, CI, spread by source
    hierarchical: dict[str, Estimate] = field(default_factory=dict)
    #: False when no run of the group was trained on labels (a training-free method)
    trained_on_labels: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, **self.key.to_dict(), "zero_shot": self.zero_shot,
            "trained_on_labels": self.trained_on_labels,
            "n_runs": len(self.run_ids), "n_splits": len(self.splits), "n_seeds": len(self.seeds),
            "splits": self.splits, "seeds": self.seeds, "run_ids": self.run_ids,
            "metrics": {name: stat.to_dict() for name, stat in self.stats.items()},
            "ci95": self.ci,
            "hierarchical": {name: e.to_dict() for name, e in self.hierarchical.items()},
            "per_class_auroc": {c.name: {"seen": c.seen.to_dict(), "unseen": c.unseen.to_dict(),
                                         "unseen_coverage": c.coverage.to_dict()}
                                for c in self.per_class},
        }


@dataclass
class Leaderboard:
    title: str
    rows: list[GroupRow]
    ks: list[int]
    classes: list[str]
    bootstrap: BootstrapSettings
    reported: list[ReportedEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    covered: bool = False  # some run records auroc_unseen_covered (a world with class attributes)
    stats: StatsSettings | None = None  # None: no hierarchical CIs or paired comparisons
    pairwise: list[Comparison] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    zsbench_version: str = __version__

    @property
    def stat_metrics(self) -> list[str]:
        """The metrics given hierarchical CIs and paired differences."""
        return [*SUH, *([COVERED_KEY] if self.covered else []), *MAP_KEYS, *(f"f1@{k}" for k in self.ks)]

    def row_of(self, key: GroupKey) -> GroupRow:
        return next(r for r in self.rows if r.key == key)

    @property
    def metric_names(self) -> list[str]:
        return [*SUH, *([COVERED_KEY] if self.covered else []), *MAP_KEYS,
                *(f"{m}@{k}" for k in self.ks for m in ("f1", "p", "r"))]

    def notes(self) -> list[str]:
        """How the numbers were made, in sentences every format repeats."""
        b = self.bootstrap
        lo, hi = b.percentiles
        ci = (
            f"{b.level:.0%} CI: percentile bootstrap over test images ({b.replicates} replicates, seed {b.seed}). "
            "Each replicate resamples every run's test images with replacement (the group's k-th run, by run "
            f"id, uses numpy.random.default_rng([{b.seed}, k])), recomputes that run's S/U/H AUROC and "
            f"averages over the group's runs; the interval is the {lo:g}th to {hi:g}th percentile. It reflects "
            "test-set sampling only, not the spread over seeds or class splits (that is the std)."
        ) if b.replicates else "No bootstrap CIs were computed (--bootstrap 0)."
        return [
            "Each row groups runs with the same dataset, protocol (class split, or random-uN for random "
            "splits with N unseen classes), method, backbone, text encoder, class text and training epochs "
            "('-' for a training-free method).",
            "Values are the mean ± sample standard deviation (ddof=1) over the group's runs of each run's "
            "test metrics as recorded in its result.json (S, U, H = seen, unseen, harmonic AUROC; mAP-S, "
            "mAP-U, mAP = mean average precision over seen, unseen and all classes; U-cov = mean unseen "
            "AUROC over the unseen classes whose visual attributes some seen class fully shows, so that "
            "'failed to transfer' is told apart from 'nothing could transfer'; cov in the per-class table = "
            "the share of a class's attributes that seen classes show, where it was unseen).",
            ci,
            "Rows marked 'not zero-shot' are upper bounds trained on every class, unseen ones included.",
            *([] if self.stats is None else [
                f"Hierarchical {self.stats.level:.0%} CIs: percentile bootstrap ({self.stats.replicates} replicates, "
                f"seed {self.stats.seed}) that draws class splits, then seeds within them, then (S/U/H) test "
                f"images ({self.stats.image_replicates} resamples per test set); the spread is split into "
                "between-split, within-split seed and test-image standard deviations.",
                "Paired differences compare two groups run by run on their common (class split, seed) pairs "
                "(a - b), with the same hierarchical bootstrap on the differences (both runs of a pair share "
                "each test-image resample) and a two-sided sign-flip permutation p-value over splits, "
                "Holm-adjusted over all pairs of the board.",
            ]),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title, "created": self.created, "zsbench_version": self.zsbench_version,
            "metrics": self.metric_names, "ks": self.ks, "bootstrap": self.bootstrap.describe(),
            "notes": self.notes(), "warnings": self.warnings,
            "groups": [row.to_dict() for row in self.rows],
            "run_ids": [r for row in self.rows for r in row.run_ids],
            "reported_not_measured": [e.to_dict() for e in self.reported],
            "stats": None if self.stats is None else self.stats.describe(),
            "pairwise": [{"a_id": self.row_of(c.a).id, "b_id": self.row_of(c.b).id, **c.to_dict()}
                         for c in self.pairwise],
        }


def _run_scores(record: RunRecord) -> RunScores:
    seen, unseen = record.run.columns()
    return RunScores(record.run.scores, record.run.labels, seen, unseen)


def check_recorded(record: RunRecord, scores: RunScores, tol: float = 1e-9) -> None:
    """The S/U/H in result.json must be what scores.npz gives, or the CI would describe other numbers."""
    ones = np.ones((len(scores.scores), 1), dtype=np.int32)
    again = suh_replicates(scores, ones)[0]
    for name, value in zip(SUH, again, strict=True):
        recorded = record.metrics[name]
        recorded = math.nan if recorded is None else float(recorded)
        if not (abs(recorded - value) <= tol or (math.isnan(recorded) and math.isnan(value))):
            raise UsageError(f"{record.run.result_path}: {name} is {recorded:.6g} but scores.npz gives "
                             f"{value:.6g}; run `zsbench rescore {record.run.run_dir}` first")


def _k_values(runs: Sequence[RunRecord]) -> list[int]:
    return sorted({int(m.group(1)) for r in runs for key in r.metrics if (m := _K_KEY.match(key))})


def _per_class(runs: Sequence[RunRecord], classes: list[str]) -> list[ClassStat]:
    out = []
    for name in classes:
        sides: dict[str, list[float | None]] = {"seen": [], "unseen": []}
        coverage: list[float | None] = []
        for r in runs:
            cls = r.run.result["classes"]
            for side in sides:
                if name in cls[side]:
                    sides[side].append(r.metrics["auroc_per_class"][r.run.class_names.index(name)])
            recorded = (r.run.result["class_split"].get("coverage") or {}).get(name)
            if name in cls["unseen"] and isinstance(recorded, int | float):
                coverage.append(float(recorded))
        out.append(ClassStat(name, Stat.of(sides["seen"]), Stat.of(sides["unseen"]), Stat.of(coverage)))
    return out


def _group(key: GroupKey, runs: list[RunRecord], metric_names: list[str], classes: list[str],
           settings: BootstrapSettings, warnings: list[str]) -> GroupRow:
    label = f"{key.method} / {key.backbone} / {key.text_encoder} on {key.dataset} {key.protocol}"
    stats = {}
    for name in metric_names:
        lacking = [r.run_id for r in runs if name not in r.metrics]
        if lacking:
            hint = (f"; `zsbench rescore --k {name.split('@')[1]}` adds it" if "@" in name
                    else "; `zsbench rescore` adds it (metrics version 2)" if name in (*MAP_KEYS, COVERED_KEY)
                    else "")
            warnings.append(f"{label}: {len(lacking)} run(s) lack {name} (e.g. {lacking[0]}){hint}")
            stats[name] = Stat(math.nan, math.nan, 0)
        else:
            stats[name] = Stat.of([r.metrics[name] for r in runs])
    for what, values in (("dataset settings", [r.dataset_config for r in runs]),
                         ("metrics versions", [r.metrics_version for r in runs]),
                         ("zero-shot flags", [r.zero_shot for r in runs]),
                         ("trained-on-labels flags", [r.trained_on_labels for r in runs])):
        if any(v != values[0] for v in values):
            warnings.append(f"{label}: runs differ in {what}; compare with care")
    scores = [_run_scores(r) for r in runs]
    for record, s in zip(runs, scores, strict=True):
        check_recorded(record, s)
    return GroupRow(
        id="", key=key, zero_shot=all(r.zero_shot for r in runs), run_ids=[r.run_id for r in runs],
        splits=sorted({r.split_name for r in runs}), seeds=sorted({r.seed for r in runs}),
        stats=stats, ci=group_intervals(scores, settings), per_class=_per_class(runs, classes),
        trained_on_labels=any(r.trained_on_labels for r in runs),
    )


def _order(row: GroupRow) -> tuple[str, str, bool, float, GroupKey]:
    h = row.stats["auroc_harmonic"].mean
    return row.key.dataset, row.key.protocol, not row.zero_shot, -h if math.isfinite(h) else math.inf, row.key


def build_leaderboard(runs: Sequence[RunRecord], settings: BootstrapSettings, title: str = "zsbench leaderboard",
                      reported: Sequence[ReportedEntry] = (), stats: StatsSettings | None = None) -> Leaderboard:
    """One row per group of runs, ordered by dataset and protocol, zero-shot methods before upper
    bounds, then harmonic AUROC (best first). With ``stats``, each row also gets hierarchical
    estimates and the board its paired comparisons."""
    if not runs:
        raise UsageError("no runs to put on a leaderboard")
    ks = _k_values(runs)
    board = Leaderboard(title=title, rows=[], ks=ks, classes=[], bootstrap=settings, reported=list(reported),
                        covered=any(COVERED_KEY in r.metrics for r in runs))
    board.classes = list(dict.fromkeys(name for r in runs for name in r.run.class_names))
    ordered = sorted(runs, key=lambda r: (r.key, r.run_id))
    for key, members in groupby(ordered, key=lambda r: r.key):
        board.rows.append(_group(key, list(members), board.metric_names, board.classes, settings,
                                 board.warnings))
    board.rows.sort(key=_order)
    for i, row in enumerate(board.rows, start=1):
        row.id = f"G{i}"
    board.warnings = list(dict.fromkeys(board.warnings))
    if stats is not None:
        board.stats = stats
        groups = group_records(runs)
        ordered_groups = {row.key: groups[row.key] for row in board.rows}
        pools = ImagePools(stats)
        for i, row in enumerate(board.rows):
            row.hierarchical = group_estimates(ordered_groups[row.key], board.stat_metrics, stats, pools, index=i)
        board.pairwise = pairwise(ordered_groups, board.stat_metrics, stats, pools)
    return board
