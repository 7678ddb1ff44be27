"""``rescore``: recompute a finished run's metrics from its stored test scores.

The scores, labels and class lists on disk are enough: no checkpoint, no images. The metrics the
run had are kept, with the metrics version that made them, under ``metrics_history`` in
result.json; result.json is rewritten atomically.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zsbench import __version__
from zsbench.data.coverage import fully_covered
from zsbench.errors import UsageError
from zsbench.metrics import METRICS_VERSION, evaluate
from zsbench.results import as_stored, write_json
from zsbench.runfiles import StoredRun, read_stored_run

_K_KEY = re.compile(r"^(?:p|r|f1)@(\d+)$")


@dataclass
class Rescored:
    """One run's metrics before and after (both as JSON would store them: NaN is None)."""

    run_dir: Path
    run_id: str
    ks: list[int]
    before: dict[str, Any]
    after: dict[str, Any]
    result: dict[str, Any]  # the new result.json content

    @property
    def added(self) -> list[str]:
        return [k for k in self.after if k not in self.before]

    @property
    def changed(self) -> list[str]:
        return [k for k in self.after if k in self.before and not _same(self.before[k], self.after[k])]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def run_ks(result: dict[str, Any], extra: Sequence[int] = ()) -> list[int]:
    """The run's configured ks, every k its current metrics already have, and ``extra``: a rescore
    never drops a metric that readers of the run (its config's ks) may look for."""
    bad = [k for k in extra if isinstance(k, bool) or not isinstance(k, int) or k < 1]
    if bad:
        raise UsageError(f"--k must be a positive integer (got {bad[0]!r})")
    ks = {int(k) for k in result.get("config", {}).get("ks", []) if isinstance(k, int)}
    ks |= {int(m.group(1)) for key in result["metrics"] if (m := _K_KEY.match(key))}
    return sorted(ks | set(extra))


def _synthetic_coverage(result: dict[str, Any]) -> dict[str, float] | None:
    """A run of the current synthetic world recorded before coverage was: computed from the
    world's attribute vectors (an older world's recipes differ, so those get none)."""
    from zsbench.data.coverage import attribute_coverage
    from zsbench.data.synthetic.world import GENERATOR, WORLD_VERSION, world_classes

    dataset = result.get("dataset") or {}
    if dataset.get("generator") != GENERATOR or dataset.get("world_version", 1) != WORLD_VERSION:
        return None
    return attribute_coverage(world_classes(), result["classes"]["seen"], result["classes"]["unseen"])


def recorded_coverage(result: dict[str, Any], run_dir: Path) -> dict[str, float] | None:
    """``class_split.coverage`` as the run recorded it (None: not recorded, or not a synthetic world)."""
    coverage = (result.get("class_split") or {}).get("coverage")
    if coverage is None:
        return _synthetic_coverage(result)
    unseen = result["classes"]["unseen"]
    if not isinstance(coverage, dict) or set(coverage) != set(unseen) or not all(
            isinstance(v, int | float) or v is None for v in coverage.values()):
        raise UsageError(f"{run_dir / 'result.json'}: class_split.coverage must map each unseen class to a share")
    return {k: math.nan if v is None else float(v) for k, v in coverage.items()}


def rescore_stored(run: StoredRun, ks: Sequence[int] = (), now: datetime | None = None) -> Rescored:
    """New metrics for a run read from disk, and its result.json content with the old ones moved
    to ``metrics_history``. Nothing is written."""
    result = run.result
    seen, unseen = run.columns()
    all_ks = run_ks(result, ks)
    coverage = recorded_coverage(result, run.run_dir)
    covered = fully_covered(coverage)
    try:
        metrics = evaluate(run.scores, run.labels, seen, unseen, ks=all_ks,
                           covered=None if covered is None else [run.class_names.index(n) for n in covered])
    except ValueError as exc:
        raise UsageError(f"{run.run_dir}: cannot score it ({exc})") from None
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    history = list(result.get("metrics_history") or [])
    history.append({
        "metrics_version": result.get("metrics_version"),  # None: recorded before versions existed
        "replaced": stamp,
        "metrics": result["metrics"],
    })
    new = {key: value for key, value in result.items() if key not in ("metrics", "metrics_history")}
    if coverage is not None:
        new["class_split"] = {**result["class_split"], "coverage": coverage}
    new.update(
        metrics_version=METRICS_VERSION,
        metrics=metrics,
        metrics_ks=all_ks,
        rescored={"at": stamp, "zsbench_version": __version__},
        metrics_history=history,
    )
    new = as_stored(new)
    run_id = str(result.get("run_id", run.run_dir.name))
    return Rescored(run.run_dir, run_id, all_ks, result["metrics"], new["metrics"], new)


def rescore_runs(run_dirs: Sequence[str | Path], ks: Sequence[int] = ()) -> list[Rescored]:
    """Rescore every run and then rewrite each result.json; a bad run stops the batch before any
    file is written."""
    if not run_dirs:
        raise UsageError("give at least one run directory")
    now = datetime.now(UTC)
    unique = list(dict.fromkeys(Path(d).resolve() for d in run_dirs))  # a run named twice is rescored once
    outcomes = [rescore_stored(read_stored_run(d), ks, now) for d in unique]
    for outcome in outcomes:
        write_json(outcome.run_dir / "result.json", outcome.result)
    return outcomes
