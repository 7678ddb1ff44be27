"""One benchmark run, from configuration to result files. Library code: returns, never prints.

``run`` holds the run's folder (lock, ``error.txt`` on failure) around the stages of
``run_stages.py``, which fill one typed :class:`RunContext`. The checks and builders the stages
use live in ``run_setup.py`` and are importable from here, as callers always have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zsbench.engine import distributed
from zsbench.progress import ProgressFn
from zsbench.run_context import RunContext, RunResult, need
from zsbench.run_setup import (
    MAX_MISSING_SHARE,
    RunFolder,
    build_model,
    check_method_options,
    check_training_classes,
    create_dataset,
    drop_missing_images,
    preflight,
    resolve_device,
    seed_everything,
    validate_names,
)
from zsbench.run_stages import MAIN_STAGES, STAGES

__all__ = [
    "MAX_MISSING_SHARE",
    "RunContext",
    "RunFolder",
    "RunResult",
    "build_model",
    "check_method_options",
    "check_training_classes",
    "create_dataset",
    "drop_missing_images",
    "execute_stages",
    "preflight",
    "resolve_device",
    "run",
    "seed_everything",
    "validate_names",
]


def run(config: Any, progress: ProgressFn | None = None, resume_dir: Path | None = None,
        run_dir: Path | None = None) -> RunResult:
    """Train and evaluate one (dataset, class split, method, backbone, text encoder, seed).

    ``resume_dir``: continue the run in that directory from its last completed epoch.
    ``run_dir``: write a fresh run into this directory (created if needed) instead of a new
    timestamped one under ``config.out``; a sweep uses it to place each run deterministically.
    The run's folder is locked while the run is in it; a failed run leaves ``error.txt`` there.
    """
    folder = RunFolder(distributed.current().is_main)
    ctx = RunContext(config, progress, resume_dir=Path(resume_dir) if resume_dir is not None else None,
                     target_dir=Path(run_dir) if run_dir is not None else None, folder=folder)
    try:
        return execute_stages(ctx)
    except Exception as exc:
        folder.record_failure(exc)
        raise
    finally:
        folder.release()


def execute_stages(ctx: RunContext) -> RunResult:
    """Every stage on ``ctx``: all ranks train; rank 0 alone scores the test set and writes the
    results, and the other ranks get its result."""
    for stage in STAGES:
        stage(ctx)
    dist = need(ctx.parts, "resolve").dist
    if not dist.is_main:
        return distributed.share(None, dist)
    for stage in MAIN_STAGES:
        stage(ctx)
    return distributed.share(need(ctx.result, "record"), dist)
