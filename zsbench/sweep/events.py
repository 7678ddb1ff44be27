"""What a sweep reports while it runs. Events are plain, picklable data: worker processes and Ray
tasks send them back to the process that shows progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from zsbench.progress import ProgressEvent

EventKind = Literal["sweep", "skipped", "started", "progress", "finished"]


@dataclass(frozen=True)
class SweepEvent:
    """One thing that happened in a sweep.

    - ``sweep``: the sweep begins; ``total`` runs planned, ``done`` of them already complete.
    - ``skipped``: run ``key`` is complete on disk and is not run again.
    - ``started``: run ``key`` began (``resumed`` when it continues from its ``last.pt``).
    - ``progress``: run ``key``'s own :class:`~zsbench.progress.ProgressEvent` (``progress``), as
      ``zsbench.runner.run`` reports it (stages ``load train``, ``train``, ``epoch``, ``test`` ...).
    - ``finished``: ``status`` is ``completed`` or ``failed`` (then ``error`` is one line).
    """

    kind: EventKind
    key: str = ""
    progress: ProgressEvent | None = None  # kind progress only
    done: int = 0  # kind sweep: runs already complete
    total: int = 0  # kind sweep: runs planned
    status: str = ""
    error: str = ""
    resumed: bool = False


SweepCallback = Callable[[SweepEvent], None]

#: how often a worker forwards step-level progress to the driver (epochs and stage changes always go)
FORWARD_INTERVAL_S = 0.5


class ThrottledForwarder:
    """A ``ProgressFn`` for one run that wraps its progress events into sweep events for ``send``,
    at most one step-level event per :data:`FORWARD_INTERVAL_S` (a queue between processes stays small)."""

    def __init__(self, key: str, send: Callable[[SweepEvent], None], interval: float = FORWARD_INTERVAL_S):
        self.key, self.send, self.interval = key, send, interval
        self._last_stage = ""
        self._last_time = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        important = event.stage != self._last_stage or event.stage == "epoch" or event.done >= event.total
        if not important and now - self._last_time < self.interval:
            return
        self._last_stage, self._last_time = event.stage, now
        self.send(progress_event(self.key, event))


def progress_event(key: str, event: ProgressEvent) -> SweepEvent:
    """Run ``key``'s progress as a sweep event; ``info`` is copied, since the trainer's epoch
    record lives on in its history while the event travels to another process."""
    return SweepEvent("progress", key, progress=ProgressEvent(event.stage, event.done, event.total,
                                                              dict(event.info)))
