"""Executors run a sweep's tasks and yield their outcomes as they finish.

``SequentialExecutor``: one run after another in this process. ``PoolExecutor``: a pool of
worker processes, each limited to its share of the CPU cores. ``RayExecutor``
(``zsbench.sweep.ray_executor``): one Ray task per run, locally or on a cluster.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from zsbench.errors import UsageError, one_line
from zsbench.progress import ProgressEvent
from zsbench.sweep.events import SweepCallback, ThrottledForwarder, progress_event
from zsbench.sweep.task import RunTask, TaskOutcome, execute

POLL_S = 0.2


class Executor(Protocol):
    name: str

    def run(self, tasks: list[RunTask], emit: SweepCallback) -> Iterator[TaskOutcome]:
        """Run every task; yield each outcome once it is known; events go to ``emit``."""
        ...


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


class SequentialExecutor:
    """In this process, one run at a time; progress reaches ``emit`` directly, so an exception
    raised by it (KeyboardInterrupt) stops the sweep at once."""

    name = "local"

    def run(self, tasks: list[RunTask], emit: SweepCallback) -> Iterator[TaskOutcome]:
        for task in tasks:
            def progress(event: ProgressEvent, _key: str = task.key) -> None:
                emit(progress_event(_key, event))

            yield execute(task, emit, progress)


# set in each pool worker by _init_worker
_worker_queue: Any = None
_worker_threads: int | None = None


def _init_worker(events: Any, threads: int) -> None:
    global _worker_queue, _worker_threads
    _worker_queue, _worker_threads = events, threads


def _pool_task(task: RunTask) -> TaskOutcome:
    import dataclasses

    task = dataclasses.replace(task, threads=task.threads or _worker_threads)
    return execute(task, _worker_queue.put, ThrottledForwarder(task.key, _worker_queue.put))


def drain(events: Any, emit: SweepCallback) -> None:
    while True:
        try:
            event = events.get_nowait()
        except queue_module.Empty:
            return
        emit(event)


class PoolExecutor:
    """``workers`` processes (spawned, so no thread pools are inherited half-initialised), each
    with ``cores // workers`` torch threads so the runs share the machine instead of fighting."""

    name = "local"

    def __init__(self, workers: int, threads: int | None = None):
        if workers < 2:
            raise UsageError("a process pool needs --workers 2 or more")
        self.workers = workers
        self.threads = threads or max(1, available_cores() // workers)

    def run(self, tasks: list[RunTask], emit: SweepCallback) -> Iterator[TaskOutcome]:
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        events = context.Queue()
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(tasks)), mp_context=context,
            initializer=_init_worker, initargs=(events, self.threads),
        )
        try:
            pending: dict[Future[TaskOutcome], RunTask] = {pool.submit(_pool_task, t): t for t in tasks}
            while pending:
                done, _ = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                drain(events, emit)
                for future in done:
                    task = pending.pop(future)
                    try:
                        yield future.result()
                    except Exception as exc:  # the worker process died (killed, out of memory)
                        yield TaskOutcome(task.key, "failed", f"worker process failed: {one_line(exc)}")
        except BaseException:
            # interrupted (or the consumer stopped): end this pool's own workers, do not wait for them
            workers = list(getattr(pool, "_processes", {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()
            raise
        pool.shutdown(wait=True)
        drain(events, emit)
        events.close()


def make_executor(kind: str, workers: int = 1, address: str | None = None, cpus_per_run: int = 1,
                  gpus_per_run: float | None = None, num_cpus: int | None = None) -> Executor:
    """``local`` (sequential for one worker, else a process pool) or ``ray``."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    if kind == "local":
        if address:
            raise UsageError("--address joins a Ray cluster; use it with --executor ray")
        return SequentialExecutor() if workers == 1 else PoolExecutor(workers)
    if kind == "ray":
        from zsbench.sweep.ray_executor import RayExecutor

        return RayExecutor(address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run,
                           num_cpus=num_cpus)
    raise UsageError(f"unknown --executor {kind!r}; choose local or ray")
