"""Rich output helpers shared by commands: progress on stderr, tables on stdout."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from zsbench.metrics import MAP_KEYS
from zsbench.progress import ProgressEvent, ProgressFn

stderr = Console(stderr=True)
stdout = Console()


@contextmanager
def progress_reporter(quiet: bool = False) -> Iterator[ProgressFn]:
    """A ProgressFn that draws one bar per stage on stderr (nothing when ``quiet``); ``epoch``
    events become one printed line each."""
    if quiet:
        yield lambda event: None
        return
    bars = Progress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(event: ProgressEvent) -> None:
        if not bars.live.is_started:  # started on first use: an early error leaves no empty bar
            bars.start()
        info = event.info
        if event.stage == "epoch":
            # print, not log: rich's log adds this file's name and line to every line
            bars.console.print(
                f"epoch {int(info['epoch'])}: loss {info['train_loss']:.4f}  "
                f"val {info['val_score']:.4f}  lr {info['lr']:.2g}"
            )
            return
        if event.stage not in tasks:
            tasks[event.stage] = bars.add_task(event.stage, total=event.total, info="")
        text = f"loss {info['loss']:.4f}" if "loss" in info else ""
        bars.update(tasks[event.stage], completed=event.done, total=event.total, info=text)

    try:
        yield report
    finally:
        if bars.live.is_started:  # stopping a display that never started still writes a newline
            bars.stop()


def fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def metrics_tables(result: dict[str, Any]) -> list[Table]:
    metrics, classes = result["metrics"], result["classes"]
    per_class = Table(title="AUROC per class (test)")
    per_class.add_column("class")
    per_class.add_column("split")
    per_class.add_column("AUROC", justify="right")
    seen = set(classes["seen"])
    for name, value in zip(classes["all"], metrics["auroc_per_class"], strict=True):
        if name in seen or name in classes["unseen"]:
            per_class.add_row(name, "seen" if name in seen else "[bold]unseen[/]", fmt(value))
    summary = Table(title=f"{result['config']['method']} on {result['config']['dataset']} (test)")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_row("AUROC S (seen)", fmt(metrics["auroc_seen"]))
    summary.add_row("AUROC U (unseen)", fmt(metrics["auroc_unseen"]))
    summary.add_row("AUROC H (harmonic)", fmt(metrics["auroc_harmonic"]))
    if "map_all" in metrics:  # runs scored before metrics version 2 have no mAP
        summary.add_row("mAP seen / unseen / all", " / ".join(fmt(metrics[k]) for k in MAP_KEYS))
    for k in result["config"]["ks"]:
        summary.add_row(f"r@{k} / p@{k} / f1@{k}", " / ".join(fmt(metrics[f"{m}@{k}"]) for m in ("r", "p", "f1")))
    return [per_class, summary]
