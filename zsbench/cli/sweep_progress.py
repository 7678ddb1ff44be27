"""One live display for a whole sweep on stderr: runs done/total, then a bar per running run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zsbench.cli.output import stderr
from zsbench.progress import ProgressEvent
from zsbench.sweep.events import SweepCallback, SweepEvent

KEY_WIDTH = 48


def _short(key: str) -> str:
    return key if len(key) <= KEY_WIDTH else key[: KEY_WIDTH - 1] + "…"


class SweepDisplay:
    """Turns SweepEvents into rich bars: the sweep's, and one per run while it runs."""

    def __init__(self) -> None:
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=stderr,
        )
        self.sweep_task: Any = None
        self.runs: dict[str, Any] = {}
        self.epochs: dict[str, str] = {}

    def __call__(self, event: SweepEvent) -> None:
        if not self.bars.live.is_started:
            self.bars.start()
        if event.kind == "sweep":
            self.sweep_task = self.bars.add_task("[bold]sweep[/]", total=event.total, completed=event.done,
                                                 info=f"{event.done} already complete" if event.done else "")
        elif event.kind == "started":
            note = "resuming" if event.resumed else "starting"
            self.runs[event.key] = self.bars.add_task(f"  {_short(event.key)}", total=None, info=note)
        elif event.kind == "progress" and event.key in self.runs and event.progress is not None:
            self._progress(event.key, event.progress)
        elif event.kind == "finished":
            task = self.runs.pop(event.key, None)
            if task is not None:
                self.bars.remove_task(task)
            self.epochs.pop(event.key, None)
            if self.sweep_task is not None:
                self.bars.advance(self.sweep_task)
            if event.status == "completed":
                self.bars.console.print(f"[green]done[/]    {escape(event.key)}")
            else:
                self.bars.console.print(f"[red]failed[/]  {escape(event.key)}: {escape(event.error)}")

    def _progress(self, key: str, event: ProgressEvent) -> None:
        task = self.runs[key]
        if event.stage == "epoch":
            score = event.info.get("val_score")
            self.epochs[key] = f"epoch {event.done}/{event.total}" + (
                f" val {score:.3f}" if isinstance(score, float) else "")
            self.bars.update(task, info=self.epochs[key])
            return
        epoch = self.epochs.get(key, "")
        loss = f" loss {event.info['loss']:.3f}" if "loss" in event.info else ""
        self.bars.update(task, completed=event.done, total=event.total,
                         info=f"{event.stage}{loss}  {epoch}".rstrip())

    def stop(self) -> None:
        if self.bars.live.is_started:  # stopping a display that never started still writes a newline
            self.bars.stop()


@contextmanager
def sweep_display(quiet: bool = False) -> Iterator[SweepCallback]:
    if quiet:
        yield lambda event: None
        return
    display = SweepDisplay()
    try:
        yield display
    finally:
        display.stop()
