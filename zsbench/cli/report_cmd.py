"""``zsbench report RUN_DIR``: one self-contained HTML page for a run."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="HTML file to write [default: RUN_DIR/report.html].")
@click.option("--images", "n_images", type=click.IntRange(min=0), default=12, show_default=True,
              help="Test images in the prediction grid.")
@click.option("--no-heatmaps", is_flag=True, help="Leave out the Grad-CAM heatmaps (no checkpoint needed).")
def report_command(run_dir: str, out: str | None, n_images: int, no_heatmaps: bool) -> None:
    """Metrics table, per-class ROC curves, test images with top-3 predictions and heatmaps."""
    from zsbench.cli.output import stderr
    from zsbench.report import write_report

    path = write_report(run_dir, out, n_images=n_images, heatmaps=not no_heatmaps)
    stderr.print(f"report: {path}", soft_wrap=True)
