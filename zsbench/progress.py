"""The one progress event of zsbench. Library code reports progress as :class:`ProgressEvent`s to
a :data:`ProgressFn` and never prints; the CLI draws them (``cli/output.py``), a sweep forwards
them to its driver inside its own events (``sweep/events.py``).

Stages a run reports: ``load train`` / ``load val`` / ``load test`` (images or cached features),
``train`` (one event per optimizer step, ``info["loss"]``), ``epoch`` (one per finished epoch,
``info`` is the epoch's history record) and ``test`` (scoring). Commands add their own
(``verify``, ``prepare``). Within a stage ``done`` never decreases.

Loaders below the runner (``DatasetSource.load_images``, the feature and pixel caches) only count:
they take a :data:`CountFn` ``(done, total)``, and :func:`stage_counter` turns one into events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units of ``stage`` finished; ``info`` holds numbers worth showing
    (a step's loss, an epoch's record). Plain data, so it pickles across sweep worker processes."""

    stage: str
    done: int
    total: int
    info: dict[str, float] = field(default_factory=dict)


ProgressFn = Callable[[ProgressEvent], None]

CountFn = Callable[[int, int], None]  # (done, total): what a loader reports, before it has a stage name


def stage_counter(progress: ProgressFn | None, stage: str) -> CountFn | None:
    """A loader's ``(done, total)`` callback that reports :class:`ProgressEvent`s of ``stage``;
    None without ``progress``, so the loader skips reporting altogether."""
    if progress is None:
        return None

    def count(done: int, total: int) -> None:
        progress(ProgressEvent(stage, done, total))

    return count
