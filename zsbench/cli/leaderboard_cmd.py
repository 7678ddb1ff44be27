"""``zsbench leaderboard build RUNS... --out DIR``: tables, plots and a page from many runs."""

from __future__ import annotations

import click


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Leaderboards aggregated from finished runs."""


@leaderboard_group.command("build")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder to write (e.g. leaderboards/NAME); created if needed, its files replaced.")
@click.option("--title", default="zsbench leaderboard", show_default=True, help="Title of every output.")
@click.option("--bootstrap", "replicates", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates over test images for the 95% CIs (0: no CIs).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling.")
@click.option("--reported", type=click.Path(dir_okay=False),
              help="YAML of numbers reported by papers, shown only in their own section.")
@click.option("--stats-replicates", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Hierarchical bootstrap replicates (splits, seeds, test images) for the group CIs and the "
              "paired differences (0: neither).")
@click.option("--image-replicates", type=click.IntRange(min=1), default=200, show_default=True,
              help="Test-image resamples per test set that the hierarchical bootstrap draws from.")
def build_command(runs: tuple[str, ...], out: str, title: str, replicates: int, seed: int,
                  reported: str | None, stats_replicates: int, image_replicates: int) -> None:
    """Group RUNS (run folders, or folders searched for result.json) and write the leaderboard:
    leaderboard.md/.csv/.tex/.json, index.html and plots/*.png."""
    from rich.table import Table

    from zsbench.cli.output import stderr, stdout
    from zsbench.leaderboard.bootstrap import BootstrapSettings
    from zsbench.leaderboard.build import build
    from zsbench.leaderboard.cells import ci_text, key_values, mean_std
    from zsbench.leaderboard.stats import StatsSettings

    stats = (StatsSettings(replicates=stats_replicates, image_replicates=image_replicates, seed=seed)
             if stats_replicates else None)
    outcome = build(runs, out, BootstrapSettings(replicates=replicates, seed=seed), title=title,
                    reported=reported, stats=stats)
    board = outcome.board
    table = Table(title=board.title)
    for name in ("id", "protocol", "method", "backbone", "text encoder", "epochs", "runs", "H", "H 95% CI"):
        table.add_column(name, justify="right" if name in ("epochs", "runs", "H", "H 95% CI") else "left",
                         no_wrap=name in ("id", "H", "H 95% CI"))
    for row in board.rows:
        dataset, protocol, method, backbone, text, _, epochs = key_values(row)
        table.add_row(row.id, f"{dataset} {protocol}", method, backbone, text, epochs, str(len(row.run_ids)),
                      mean_std(row.stats["auroc_harmonic"]), ci_text(row.ci["auroc_harmonic"]))
    stdout.print(table)
    for warning in board.warnings:
        stderr.print(f"warning: {warning}", soft_wrap=True)
    n_runs = sum(len(r.run_ids) for r in board.rows)
    stderr.print(f"leaderboard: {outcome.out} ({len(board.rows)} groups from {n_runs} runs, "
                 f"{outcome.seconds:.1f} s)", soft_wrap=True)
