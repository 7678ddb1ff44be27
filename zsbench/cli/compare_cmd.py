"""``zsbench compare A B [C ...]``: paired differences between groups of runs, over splits and seeds."""

from __future__ import annotations

import sys

import click

SHOWN = ("auroc_seen", "auroc_unseen", "auroc_harmonic", "map_unseen")  # the table's columns; --json has all


@click.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path())
@click.option("--replicates", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Hierarchical bootstrap replicates (splits, then seeds, then test images).")
@click.option("--image-replicates", type=click.IntRange(min=1), default=200, show_default=True,
              help="Test-image resamples per test set that the bootstrap draws from.")
@click.option("--permutations", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Monte-Carlo sign flips when there are more than 16 class splits (else exact).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every resampling.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparisons as JSON and nothing else.")
def compare_command(runs: tuple[str, ...], replicates: int, image_replicates: int, permutations: int, seed: int,
                    as_json: bool) -> None:
    """Compare groups of RUNS (run folders, or folders searched for result.json, grouped as the
    leaderboard groups them) run by run on their common (class split, seed) pairs: the mean
    difference of every metric with a paired hierarchical 95% CI and a sign-flip permutation
    p-value over splits, Holm-adjusted over the table."""
    from rich.table import Table

    from zsbench.cli.output import stderr, stdout
    from zsbench.leaderboard.cells import label, num
    from zsbench.leaderboard.collect import collect_runs
    from zsbench.leaderboard.compare import compare_selected, group_label, group_records, metric_names
    from zsbench.leaderboard.stats import StatsSettings
    from zsbench.results import to_json

    settings = StatsSettings(replicates=replicates, image_replicates=image_replicates, permutations=permutations,
                             seed=seed)
    records = collect_runs(runs)
    groups = group_records(records)
    comparisons = compare_selected(groups, metric_names(records), settings)
    if as_json:
        sys.stdout.write(to_json({"settings": settings.describe(),
                                  "comparisons": [c.to_dict() for c in comparisons]}))
        return
    table = Table(title=f"paired differences a - b ({settings.level:.0%} CI, Holm-adjusted p)")
    for name in ("a", "b", "pairs"):
        table.add_column(name)
    for name in SHOWN:
        table.add_column(f"Δ{label(name)}", justify="right")
    for c in comparisons:
        cells = []
        for name in SHOWN:
            e = c.estimates[name]
            mark = "*" if e.excludes_zero else ""
            cells.append(f"{e.mean:+.3f}{mark} [{num(e.ci[0])}, {num(e.ci[1])}] p={num(e.p_holm)}")
        table.add_row(group_label(c.a), group_label(c.b), f"{len(c.pairs)} ({c.n_splits} splits)", *cells)
    stdout.print(table)
    stderr.print("* the CI excludes 0. Levels: splits, seeds and test images for S/U/H; splits and seeds for "
                 "the rest (--json has every metric).", soft_wrap=True)
