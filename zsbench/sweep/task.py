"""One sweep run, executed in whichever process an executor chose. Exceptions become a failed
outcome (the sweep goes on); KeyboardInterrupt and other BaseExceptions still stop everything."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zsbench.errors import one_line
from zsbench.progress import ProgressFn
from zsbench.sweep.events import SweepEvent
from zsbench.sweep.state import summary_metrics


@dataclass(frozen=True)
class RunTask:
    """Picklable description of one run: its config as a dict and where it goes.
    ``resume``: continue from the folder's last.pt; ``threads``: torch CPU threads for this run."""

    key: str
    run_dir: str
    config: dict[str, Any]
    resume: bool = False
    threads: int | None = None


@dataclass(frozen=True)
class TaskOutcome:
    key: str
    status: str  # completed | failed
    error: str = ""  # one line
    details: str = ""  # the traceback
    resumed_from_epoch: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)


def execute(task: RunTask, send: Callable[[SweepEvent], None], progress: ProgressFn | None = None) -> TaskOutcome:
    """Run ``task`` with ``zsbench.runner.run``; ``send`` gets the ``started`` event and
    ``progress`` the run's own progress."""
    # model hubs are never reached from a sweep worker either (the CLI sets the same in its process)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from zsbench.config import RunConfig
    from zsbench.runner import run

    if task.threads:
        torch.set_num_threads(task.threads)
    send(SweepEvent("started", task.key, resumed=task.resume))
    run_dir = Path(task.run_dir)
    try:
        config = RunConfig.from_dict(task.config)
        outcome = run(config, progress=progress, resume_dir=run_dir if task.resume else None,
                      run_dir=None if task.resume else run_dir)
    except Exception as exc:
        return TaskOutcome(task.key, "failed", one_line(exc), traceback.format_exc())
    resumed = outcome.result.get("training", {}).get("resumed_from_epoch")
    return TaskOutcome(task.key, "completed", resumed_from_epoch=resumed, metrics=summary_metrics(outcome.result))
