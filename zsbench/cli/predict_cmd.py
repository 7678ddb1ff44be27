"""``zsbench predict``: rank classes (seen, unseen or brand new) for X-ray images with a checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def class_queries(classes: str | None, classes_file: str | None) -> list | None:
    """--classes and --classes-file together; None when neither is given (every checkpoint class)."""
    from zsbench.predict import parse_class_list, read_class_file

    queries = []
    if classes_file:
        queries += read_class_file(classes_file)
    if classes is not None:  # an empty --classes "" is a mistake, not "every class"
        queries += parse_class_list(classes)
    return queries if classes_file or classes is not None else None


@click.command("predict")
@click.option("--checkpoint", required=True, type=click.Path(), help="A run's best.pt, or the run directory.")
@click.argument("images", nargs=-1, required=True, type=click.Path())
@click.option("--classes", help='Comma-separated names, e.g. "Edema,COVID-19 pneumonia" '
              "[default: the checkpoint's classes].")
@click.option("--classes-file", type=click.Path(dir_okay=False),
              help="YAML or CSV with class names and descriptions (descriptions are what get embedded).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--top", type=click.IntRange(min=1), help="Only the K best classes per image [default: all].")
@click.option("--calibration", type=click.Path(dir_okay=False),
              help="Thresholds from `zsbench calibrate` [default: the one beside the checkpoint, if any].")
@click.option("--no-calibration", is_flag=True, help="Ignore thresholds: scores and ranks only.")
@click.option("--heatmaps", "heatmap_dir", type=click.Path(file_okay=False),
              help="Write Grad-CAM overlays (PNG) of each image's top classes into this folder.")
@click.option("--heatmap-top", type=click.IntRange(min=1), default=3, show_default=True,
              help="Heatmaps for this many top classes per image.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the csv/json here instead of stdout.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
def predict_command(checkpoint: str, images: tuple[str, ...], classes: str | None, classes_file: str | None,
                    fmt: str, top: int | None, calibration: str | None, no_calibration: bool,
                    heatmap_dir: str | None, heatmap_top: int, out: str | None, device: str) -> None:
    """Rank the given classes for each image (PNG, JPEG or DICOM; files or folders)."""
    from zsbench.calibration import calibration_path, load_calibration
    from zsbench.checkpoint import load_checkpoint
    from zsbench.cli.output import stderr
    from zsbench.errors import UsageError
    from zsbench.imageio import expand_image_paths
    from zsbench.predict import predict
    from zsbench.results import atomic_write_bytes, to_json
    from zsbench.runner import resolve_device

    if calibration and no_calibration:
        raise UsageError("--calibration and --no-calibration contradict each other; give one")
    if out and fmt == "table":
        raise UsageError("--out writes csv or json; add --format csv or --format json")
    queries = class_queries(classes, classes_file)
    paths = expand_image_paths(list(images))
    ckpt = load_checkpoint(checkpoint, resolve_device(device))
    cal = None
    if not no_calibration:
        cal_path = Path(calibration) if calibration else calibration_path(ckpt.path)
        if calibration or cal_path.is_file():
            cal = load_calibration(cal_path, ckpt.sha256)
    prediction = predict(ckpt, paths, queries, cal)

    if fmt == "table":
        _print_tables(prediction, top)
    else:
        text = prediction.to_csv(top) if fmt == "csv" else to_json(prediction.to_dict(top))
        if out:
            atomic_write_bytes(Path(out), text.encode())
            stderr.print(f"predictions: {out}", soft_wrap=True)
        else:
            sys.stdout.write(text)
    if heatmap_dir:
        from zsbench.saliency import write_heatmaps

        written = write_heatmaps(ckpt, prediction, Path(heatmap_dir), top=heatmap_top)
        stderr.print(f"heatmaps: {len(written)} PNG overlays in {heatmap_dir}", soft_wrap=True)


def _print_tables(prediction, top: int | None) -> None:
    from rich.table import Table

    from zsbench.cli.output import stdout

    for i, image in enumerate(prediction.images):
        table = Table(title=image, title_justify="left")
        for col, justify in (("rank", "right"), ("class", "left"), ("kind", "left"), ("score", "right"),
                             ("threshold", "right"), ("call", "left")):
            table.add_column(col, justify=justify)
        for rank, c in enumerate(prediction.order(i)[:top], start=1):
            cls, t, present = prediction.classes[c], prediction.thresholds[c], prediction.present(i, int(c))
            call = "n/a" if present is None else "[bold green]present[/]" if present else "absent"
            kind = f"[bold]{cls.kind}[/]" if cls.kind in ("unseen", "new") else cls.kind
            table.add_row(str(rank), cls.name, kind, f"{prediction.scores[i, c]:.4f}",
                          "n/a" if t is None else f"{t:.4f}", call)
        stdout.print(table)
