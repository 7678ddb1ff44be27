"""What a sweep reports while it runs. Events are plain, picklable data: worker processes and Ray
tasks send them back to the process that shows progress."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["sweep", "skipped", "started", "progress", "finished"]


@dataclass(frozen=True)
class SweepEvent:
    """One thing that happened in a sweep.

    - ``sweep``: the sweep begins; ``total`` runs planned, ``done`` of them already complete.
    - ``skipped``: run ``key`` is complete on disk and is not run again.
    - ``started``: run ``key`` began (``resumed`` when it continues from its ``last.pt``).
    - ``progress``: the run's own progress (``stage``, ``done``/``total``, ``info``), as
      ``zsbench.runner.run`` reports it (stages ``load train``, ``train``, ``epoch``, ``test`` ...).
    - ``finished``: ``status`` is ``completed`` or ``failed`` (then ``error`` is one line).
    """

    kind: EventKind
    key: str = ""
    stage: str = ""
    done: int = 0
    total: int = 0
    info: dict[str, float] = field(default_factory=dict)
    status: str = ""
    error: str = ""
    resumed: bool = False


SweepCallback = Callable[[SweepEvent], None]

#: how often a worker forwards step-level progress to the driver (epochs and stage changes always go)
FORWARD_INTERVAL_S = 0.5


class ThrottledForwarder:
    """A ``ProgressFn`` for one run that turns progress into events for ``send``, at most one
    step-level event per :data:`FORWARD_INTERVAL_S` (a queue between processes stays small)."""

    def __init__(self, key: str, send: Callable[[SweepEvent], None], interval: float = FORWARD_INTERVAL_S):
        self.key, self.send, self.interval = key, send, interval
        self._last_stage = ""
        self._last_time = 0.0

    def __call__(self, stage: str, done: int, total: int, info: dict[str, float]) -> None:
        now = time.monotonic()
        important = stage != self._last_stage or stage == "epoch" or done >= total
        if not important and now - self._last_time < self.interval:
            return
        self._last_stage, self._last_time = stage, now
        self.send(SweepEvent("progress", self.key, stage, done, total, dict(info)))
