"""``--executor ray``: each run is one Ray task. Ray is imported only here, when asked for.

With ``--address`` the sweep joins an existing cluster (every node must see the sweep folder at
the same path: results are written by the node that ran the task); otherwise a local Ray
instance starts and stops with the sweep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from zsbench.errors import UsageError, one_line
from zsbench.sweep.events import SweepCallback, ThrottledForwarder
from zsbench.sweep.task import RunTask, TaskOutcome, execute

POLL_S = 0.2


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray, which is not installed; pip install 'zsbench[ray]'") from None
    return ray


def _ray_task(task: RunTask, events: Any) -> TaskOutcome:
    """Runs inside a Ray worker; progress goes back through a Ray queue."""
    return execute(task, events.put, ThrottledForwarder(task.key, events.put))


def _drain(events: Any, emit: SweepCallback) -> None:
    while events.qsize():
        for event in events.get_nowait_batch(events.qsize()):
            emit(event)


class RayExecutor:
    """One ``ray.remote`` task per run with ``cpus_per_run`` CPUs (also its torch threads) and
    ``gpus_per_run`` GPUs (default: 1 when this machine sees a CUDA GPU, else 0).
    ``num_cpus`` sizes a local instance (default: all cores); ``init_options`` go to ``ray.init``."""

    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: int = 1, gpus_per_run: float | None = None,
                 num_cpus: int | None = None, init_options: dict[str, Any] | None = None):
        if cpus_per_run < 1:
            raise UsageError(f"--cpus-per-run must be at least 1 (got {cpus_per_run})")
        if address and num_cpus:
            raise UsageError("--workers sizes a local Ray instance; a cluster joined with --address has its own")
        self.address, self.cpus_per_run, self.num_cpus = address, cpus_per_run, num_cpus
        self.gpus_per_run = gpus_per_run
        self.init_options = dict(init_options or {})

    def _gpus(self) -> float:
        if self.gpus_per_run is not None:
            return self.gpus_per_run
        import torch

        return 1 if torch.cuda.is_available() else 0

    def _init(self, ray: Any) -> bool:
        """Start or join Ray unless it already runs in this process; True when this call started it."""
        if ray.is_initialized():
            return False
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **self.init_options}
        if self.address:
            options["address"] = self.address
        elif self.num_cpus:
            options["num_cpus"] = self.num_cpus
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UsageError(f"cannot start or join Ray ({one_line(exc)})") from None
        return True

    def run(self, tasks: list[RunTask], emit: SweepCallback) -> Iterator[TaskOutcome]:
        if not tasks:
            return
        ray = import_ray()
        from ray.util.queue import Queue

        started_here = self._init(ray)
        events = Queue()
        remote = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self._gpus(), max_retries=0)(_ray_task)
        pending = {remote.remote(dataclasses.replace(t, threads=self.cpus_per_run), events): t for t in tasks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                _drain(events, emit)
                for ref in ready:
                    task = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except Exception as exc:  # the worker died, or Ray could not run the task
                        yield TaskOutcome(task.key, "failed", f"Ray task failed: {one_line(exc)}")
            _drain(events, emit)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            events.shutdown()
            if started_here:
                ray.shutdown()
