"""``zsbench sweep``: a grid of runs, planned into OUT/sweep.json and run resumably."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zsbench.cli.config_options import config_flags, config_overrides, parse_pairs
from zsbench.errors import UsageError

#: grid axis -> its option name
AXIS_OPTIONS = {
    "methods": "--methods",
    "backbones": "--backbones",
    "text_encoders": "--text-encoders",
    "class_texts": "--class-texts",
    "splits": "--splits",
    "seeds": "--seeds",
}
#: the RunConfig fields a sweep does not take from run flags: its grid axes, and --out (the sweep's)
SWEEP_OWN_FIELDS = ("method", "backbone", "text_encoder", "class_text", "split", "seed", "out")


def _grid_and_base_options(f: Any) -> Any:
    options = [
        click.option(flag, axis, multiple=True, metavar="A,B,...",
                     help=f"Grid axis: {axis.replace('_', ' ')} (comma-separated, repeatable).")
        for axis, flag in AXIS_OPTIONS.items()
    ]
    options.append(click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
                                help="Any other RunConfig field for every run, e.g. weight_decay=0 (repeatable)."))
    for option in reversed(options):
        f = option(f)
    return config_flags(exclude=SWEEP_OWN_FIELDS)(f)


def _axis_values(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _build_grid(config_file: str | None, axes: dict[str, tuple[str, ...]], random_count: int | None,
                n_unseen: int | None, split_seed: int | None, base: dict[str, Any],
                min_coverage: float | None = None) -> Any:
    from zsbench.sweep import RandomSplits, SweepGrid

    grid = SweepGrid.from_yaml(config_file) if config_file else SweepGrid()
    for axis, values in axes.items():
        if values:
            items: list[Any] = _axis_values(values)
            if axis == "seeds":
                try:
                    items = [int(s) for s in items]
                except ValueError:
                    raise UsageError(f"--seeds takes integers (got {', '.join(items)})") from None
            grid = grid.model_copy(update={axis: items})
    if axes["splits"] and random_count is not None:
        raise UsageError("give --splits or --random, not both")
    if axes["splits"]:
        grid = grid.model_copy(update={"random": None})
    if random_count is not None:
        random = RandomSplits(count=random_count, n_unseen=4 if n_unseen is None else n_unseen,
                              seed=0 if split_seed is None else split_seed, min_coverage=min_coverage)
        grid = grid.model_copy(update={"splits": [], "random": random})
    elif n_unseen is not None or split_seed is not None or min_coverage is not None:
        if grid.random is None:
            raise UsageError("--n-unseen, --split-seed and --min-coverage go with --random N "
                             "(or random: in the sweep config)")
        given = {"n_unseen": n_unseen, "seed": split_seed, "min_coverage": min_coverage}
        random = RandomSplits(**{**grid.random.model_dump(), **{k: v for k, v in given.items() if v is not None}})
        grid = grid.model_copy(update={"random": random})
    return grid.model_copy(update={"base": {**grid.base, **base}})


def _base_overrides(flags: dict[str, Any], settings: tuple[str, ...]) -> dict[str, Any]:
    """The RunConfig values every run takes from the run flags and ``--set FIELD=VALUE``."""
    return {**config_overrides(flags, exclude=SWEEP_OWN_FIELDS), **parse_pairs(settings)}


GRID_COLUMNS = ("method", "backbone", "text_encoder", "class_text", "split", "seed")


def _grid_cells(runs: list[Any]) -> tuple[list[str], list[list[str]], str]:
    """The grid columns that vary across ``runs`` (their cells per run), and a caption naming the
    values every run shares, so a table fits a terminal."""
    rows = []
    for run in runs:
        config = run.config.to_dict()
        config["split"] = Path(config["split"]).stem
        rows.append([str(config[name]) for name in GRID_COLUMNS])
    varying = [i for i, name in enumerate(GRID_COLUMNS) if name == "method" or len({r[i] for r in rows}) > 1]
    shared = [f"{GRID_COLUMNS[i].replace('_', ' ')} {rows[0][i]}" for i in range(len(GRID_COLUMNS))
              if i not in varying and rows]
    return [GRID_COLUMNS[i] for i in varying], [[r[i] for i in varying] for r in rows], ", ".join(shared)


def _table(title: str, runs: list[Any], extra: tuple[str, ...]) -> tuple[Any, list[list[str]]]:
    from rich.table import Table

    columns, cells, caption = _grid_cells(runs)
    table = Table(title=title, caption=caption or None)
    for column in (*columns, *extra):
        table.add_column(column.replace("_", " "), justify="right" if len(column) == 1 else "left")
    return table, cells


def _print_plan(plan: Any, as_json: bool) -> None:
    from zsbench.cli.output import stdout
    from zsbench.results import to_json
    from zsbench.sweep.state import run_state

    rows = [(run, run_state(plan.run_path(run))) for run in plan.runs]
    if as_json:
        sys.stdout.write(to_json({"out": str(plan.out), "runs": [
            {**run.to_dict(), "run_dir": str(plan.run_path(run)), "state": state} for run, state in rows]}))
        return
    table, cells = _table(f"{len(rows)} planned runs in {plan.out}", plan.runs, ("on disk",))
    for row, (_run, state) in zip(cells, rows, strict=True):
        table.add_row(*row, state)
    stdout.print(table)


def _print_summary(plan: Any, summary: Any, as_json: bool) -> None:
    from zsbench.cli.output import fmt, stderr, stdout
    from zsbench.results import to_json

    if as_json:
        sys.stdout.write(to_json(summary.to_dict()))
    else:
        table, cells = _table(f"sweep {summary.out}", plan.runs, ("status", "S", "U", "H"))
        for row, report in zip(cells, summary.runs, strict=True):
            metrics = [fmt(report.metrics.get(f"auroc_{k}")) for k in ("seen", "unseen", "harmonic")]
            table.add_row(*row, report.status, *metrics)
        stdout.print(table)
    for r in summary.failed:
        stderr.print(f"failed: {r.key}: {r.error} (see {r.run_dir / 'error.txt'})", markup=False, highlight=False)
    counts = ", ".join(f"{n} {status}" for status, n in summary.counts().items())
    stderr.print(f"sweep: {counts}; plan in {summary.out / 'sweep.json'}", markup=False, highlight=False)


@click.command("sweep")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="Sweep YAML: methods, backbones, text_encoders, class_texts, splits or random, seeds, base.")
@click.option("--out", help="Sweep folder: sweep.json, runs/, splits/ [default: sweep].")
@_grid_and_base_options
@click.option("--random", "random_count", type=int, help="Class splits: N random ones drawn on the dataset.")
@click.option("--n-unseen", type=int, help="With --random: unseen classes per split [default: 4].")
@click.option("--split-seed", type=int, help="With --random: seed of the split draw [default: 0].")
@click.option("--min-coverage", type=float, help="With --random: only splits where every unseen class has at "
              "least this share of its attributes shown by a seen class (synthetic world).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--workers", type=int, help="local: parallel worker processes [default: 1, in this process]; "
              "ray: runs at a time on a local Ray instance [default: one per core].")
@click.option("--address", help="ray: join this Ray cluster instead of starting a local instance.")
@click.option("--cpus-per-run", type=int, default=1, show_default=True, help="ray: CPUs (and torch threads) per run.")
@click.option("--gpus-per-run", type=float, help="ray: GPUs per run [default: 1 if CUDA is visible, else 0].")
@click.option("--skip-existing", is_flag=True, help="Keep completed runs in --out and run the others.")
@click.option("--resume", "resume_out", type=click.Path(file_okay=False, exists=True),
              help="Continue the sweep in this folder with its own plan.")
@click.option("--dry-run", is_flag=True, help="List the planned runs and what is on disk; run nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary to stdout and nothing else there.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.pass_context
def sweep_command(ctx: click.Context, config_file: str | None, out: str | None, random_count: int | None,
                  n_unseen: int | None, split_seed: int | None, min_coverage: float | None, executor: str,
                  workers: int | None, address: str | None, cpus_per_run: int, gpus_per_run: float | None,
                  skip_existing: bool, resume_out: str | None, dry_run: bool, as_json: bool, quiet: bool,
                  settings: tuple[str, ...], **flags: Any) -> None:
    """Run every combination of methods, backbones, text encoders, class texts, class splits and
    seeds. Each run goes to OUT/runs/<key>-<hash>; a run is complete when its result.json exists."""
    from zsbench.cli.sweep_progress import sweep_display
    from zsbench.locks import FolderLock
    from zsbench.sweep import build_plan, load_plan, run_sweep
    from zsbench.sweep.driver import plan_sweep
    from zsbench.sweep.executors import make_executor

    axes = {axis: flags.pop(axis) for axis in AXIS_OPTIONS}
    base = _base_overrides(flags, settings)
    grid = None
    if resume_out:
        given = [config_file, out, random_count, n_unseen, split_seed, min_coverage, *base.values(),
                 *(v or None for v in axes.values())]
        if any(v is not None for v in given) or skip_existing:
            raise UsageError("--resume continues a sweep with its own plan; drop the grid and run options")
        target = Path(resume_out)
    else:
        grid = _build_grid(config_file, axes, random_count, n_unseen, split_seed, base, min_coverage)
        target = Path(out or "sweep")
    if dry_run:  # writes nothing, so it takes no lock
        _print_plan(load_plan(target) if grid is None else build_plan(grid, target, write_splits=False), as_json)
        return
    # make_executor checks --workers (before anything is written); under Ray it only sizes a local cluster
    ray_cpus = workers * cpus_per_run if executor == "ray" and workers else None
    runner = make_executor(executor, workers=1 if workers is None else workers, address=address,
                           cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, num_cpus=ray_cpus)
    # one sweep at a time in a folder: a second one would train the same runs or replace the plan
    with FolderLock(target, "--resume" if grid is None else "--out"):
        plan = load_plan(target) if grid is None else plan_sweep(grid, target, skip_existing)
        try:
            with sweep_display(quiet=quiet) as report:
                summary = run_sweep(plan, runner, callback=report)
        except KeyboardInterrupt:
            click.echo(f"zsbench: completed runs are kept; continue with: zsbench sweep --resume {plan.out}",
                       err=True)
            raise
    _print_summary(plan, summary, as_json)
    if summary.failed:
        ctx.exit(1)
