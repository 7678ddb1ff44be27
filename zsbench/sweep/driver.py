"""Planning a sweep into its folder and running it: completed runs are skipped, runs with a
``last.pt`` continue from it, failures are recorded in ``<run>/error.txt`` and the sweep goes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsbench.locks import clear_stale_lock
from zsbench.results import clear_error, write_error
from zsbench.sweep.events import SweepCallback, SweepEvent
from zsbench.sweep.executors import Executor, SequentialExecutor
from zsbench.sweep.grid import SweepGrid
from zsbench.sweep.plan import SweepPlan, build_plan, write_plan
from zsbench.sweep.state import (
    read_result_or_empty,
    refuse_completed,
    refuse_stale_runs,
    run_state,
    summary_metrics,
)
from zsbench.sweep.task import RunTask


@dataclass
class RunReport:
    key: str
    run_dir: Path
    status: str  # completed | skipped (complete before this sweep) | failed | not run
    resumed_from_epoch: int | None = None
    error: str = ""
    metrics: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "run_dir": str(self.run_dir), "status": self.status,
                "resumed_from_epoch": self.resumed_from_epoch, "error": self.error or None,
                "metrics": self.metrics}


@dataclass
class SweepSummary:
    out: Path
    runs: list[RunReport]

    @property
    def failed(self) -> list[RunReport]:
        return [r for r in self.runs if r.status == "failed"]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("completed", "skipped", "failed"), 0)
        for r in self.runs:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "total": len(self.runs), **self.counts(),
                "runs": [r.to_dict() for r in self.runs]}


def plan_sweep(grid: SweepGrid, out: Path, skip_existing: bool = False) -> SweepPlan:
    """Check the folder, plan the grid into it and write ``sweep.json``, before any run starts.
    Without ``skip_existing`` a folder that already holds completed runs is refused."""
    if not skip_existing:
        refuse_completed(Path(out))
    plan = build_plan(grid, Path(out))
    write_plan(plan)
    return plan


def run_sweep(plan: SweepPlan, executor: Executor | None = None,
              callback: SweepCallback | None = None) -> SweepSummary:
    """Run every planned run that is not complete yet. ``callback`` receives SweepEvents."""
    executor = executor or SequentialExecutor()

    def emit(event: SweepEvent) -> None:
        if callback is not None:
            callback(event)

    reports: dict[str, RunReport] = {}
    tasks: list[RunTask] = []
    completed: dict[Path, dict[str, Any]] = {}
    for run in plan.runs:
        path = plan.run_path(run)
        state = run_state(path)
        if state == "complete":
            completed[path] = read_result_or_empty(path)
            reports[run.key] = RunReport(run.key, path, "skipped", metrics=summary_metrics(completed[path]))
        else:
            clear_stale_lock(path)  # left by a killed run of this sweep: the sweep's own lock is held
            tasks.append(RunTask(run.key, str(path), run.config.to_dict(), resume=state == "partial"))
    refuse_stale_runs(completed)  # before anything runs or is reported
    emit(SweepEvent("sweep", total=len(plan.runs), done=len(reports)))
    for key in reports:
        emit(SweepEvent("skipped", key))
    paths = {run.key: plan.run_path(run) for run in plan.runs}
    for outcome in executor.run(tasks, emit):
        path = paths[outcome.key]
        if outcome.status == "completed":
            clear_error(path)
        else:
            write_error(path, outcome.error, outcome.details)
        reports[outcome.key] = RunReport(outcome.key, path, outcome.status, outcome.resumed_from_epoch,
                                         outcome.error, outcome.metrics)
        emit(SweepEvent("finished", outcome.key, status=outcome.status, error=outcome.error))
    ordered = [reports.get(r.key) or RunReport(r.key, paths[r.key], "not run") for r in plan.runs]
    return SweepSummary(plan.out, ordered)
