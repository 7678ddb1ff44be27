"""``zsbench rescore RUN_DIR...``: recompute metrics from stored scores, keeping the old ones."""

from __future__ import annotations

import click


@click.command("rescore")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--k", "ks", type=click.IntRange(min=1), multiple=True,
              help="Also compute p/r/f1@k for this k (repeatable); the run's own ks are always kept.")
def rescore_command(run_dirs: tuple[str, ...], ks: tuple[int, ...]) -> None:
    """Recompute each run's metrics from scores.npz and rewrite result.json.

    The previous metrics move to result.json's metrics_history with their metrics version.
    """
    from rich.table import Table

    from zsbench.cli.output import fmt, stderr, stdout
    from zsbench.rescore import rescore_runs

    outcomes = rescore_runs(run_dirs, ks)
    table = Table(title="rescored (test)")
    for name in ("run", "S", "U", "H", "ks", "changes"):
        table.add_column(name, justify="right" if name in ("S", "U", "H") else "left")
    for o in outcomes:
        changes = [f"+{k}" for k in o.added] + o.changed
        table.add_row(o.run_id, *(fmt(o.after[f"auroc_{m}"]) for m in ("seen", "unseen", "harmonic")),
                      ",".join(map(str, o.ks)), ", ".join(changes) or "none")
    stdout.print(table)
    stderr.print(f"rescored {len(outcomes)} run(s); old metrics kept under metrics_history", soft_wrap=True)
