"""``zsbench calibrate``: per-class thresholds for a target sensitivity or specificity."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _fraction(value: float, flag: str) -> float:
    """0.9 and 90 both mean 90%."""
    from zsbench.errors import UsageError

    fraction = value / 100.0 if value > 1.0 else value
    if not 0.0 < fraction <= 1.0:
        raise UsageError(f"{flag} must be in (0, 1] or (0, 100] percent (got {value})")
    return fraction


@click.command("calibrate")
@click.option("--checkpoint", required=True, type=click.Path(), help="A run's best.pt, or the run directory.")
@click.option("--sensitivity", type=float, help="Target sensitivity per class, e.g. 0.9 or 90.")
@click.option("--specificity", type=float, help="Target specificity per class, e.g. 0.95 or 95.")
@click.option("--labels", type=click.Path(dir_okay=False),
              help="CSV: an image column (path) and one 1/0 column per class [default: the run's validation part].")
@click.option("--classes", help="Comma-separated classes to calibrate [default: every labelled checkpoint class].")
@click.option("--classes-file", type=click.Path(dir_okay=False), help="YAML or CSV of classes with descriptions.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write the thresholds [default: beside the checkpoint, <name>.calibration.json].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration JSON to stdout and nothing else there.")
def calibrate_command(checkpoint: str, sensitivity: float | None, specificity: float | None, labels: str | None,
                      classes: str | None, classes_file: str | None, out: str | None, device: str,
                      as_json: bool) -> None:
    """Choose per-class thresholds on labelled validation images; `predict` then says present/absent."""
    from rich.table import Table

    from zsbench.calibration import calibrate, calibration_path, save_calibration
    from zsbench.checkpoint import load_checkpoint
    from zsbench.cli.output import fmt, stderr, stdout
    from zsbench.cli.predict_cmd import class_queries
    from zsbench.errors import UsageError
    from zsbench.results import to_json
    from zsbench.rundata import load_labels_csv, load_run_part
    from zsbench.runner import resolve_device

    if (sensitivity is None) == (specificity is None):
        raise UsageError("give exactly one of --sensitivity or --specificity")
    target, value = ("sensitivity", _fraction(sensitivity, "--sensitivity")) if sensitivity is not None \
        else ("specificity", _fraction(specificity, "--specificity"))  # type: ignore[arg-type]
    queries = class_queries(classes, classes_file)
    ckpt = load_checkpoint(checkpoint, resolve_device(device))
    data = load_labels_csv(labels, ckpt.meta.image_size) if labels else load_run_part(ckpt.meta.config, "val")
    result = calibrate(ckpt, data, target, value, queries)
    path = Path(out) if out else calibration_path(ckpt.path)
    save_calibration(result, path)
    if as_json:
        sys.stdout.write(to_json(result.to_dict()))
        return
    table = Table(title=f"thresholds for {target} >= {value:.3f} on {data.source} ({len(data.ids)} images)")
    for col in ("class", "positives", "negatives", "threshold", "sensitivity", "specificity", "note"):
        table.add_column(col, justify="left" if col in ("class", "note") else "right")
    for c in result.classes:
        table.add_row(c.name, str(c.n_pos), str(c.n_neg), fmt(c.threshold), fmt(c.sensitivity),
                      fmt(c.specificity), c.note)
    stdout.print(table)
    stderr.print(f"thresholds: {path}", soft_wrap=True)
