"""``zsbench run``: train and evaluate one configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from zsbench.cli.config_options import config_flags, config_overrides, merge_overrides
from zsbench.config import UNSEEN_PLACEHOLDER, RunConfig
from zsbench.errors import UsageError


@click.command("run")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="YAML file of options; flags override it.")
@config_flags()
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue the run in this directory from its last finished epoch (same settings).")
@click.option("--json", "as_json", is_flag=True, help="Print result.json to stdout and nothing else there.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run_command(config_file: str | None, as_json: bool, quiet: bool, resume_dir: str | None, **flags: Any) -> None:
    """Train a method on the seen classes and evaluate on seen + unseen classes."""
    from zsbench.cli.output import metrics_tables, progress_reporter, stderr, stdout
    from zsbench.engine.distributed import session
    from zsbench.results import to_json
    from zsbench.runner import run

    if resume_dir:
        # the run's own settings, so that a resumed run is the run that was started
        config_file = str(Path(resume_dir) / "config.json")
        if not Path(config_file).is_file():
            raise UsageError(f"{resume_dir} has no config.json; is it a zsbench run directory?")
    base = RunConfig.from_yaml(config_file).to_dict() if config_file else RunConfig().to_dict()
    config = RunConfig.from_dict(merge_overrides(base, config_overrides(flags)))
    if resume_dir and config.identity() != RunConfig.from_yaml(config_file).identity():
        raise UsageError("--resume continues a run with its own settings; drop the other flags")
    if UNSEEN_PLACEHOLDER in config.backbone + config.text_encoder:  # one checkpoint per split
        from zsbench.data.class_splits import load_class_split

        config = config.bound_to(load_class_split(config.split))

    # under torchrun: one process group for the run, torn down also on error; rank 0 alone prints
    with session(config.device) as dist, progress_reporter(quiet=quiet or not dist.is_main) as report:
        outcome = run(config, progress=report, resume_dir=Path(resume_dir) if resume_dir else None)
    if not dist.is_main:
        return
    if as_json:
        sys.stdout.write(to_json(outcome.result))
        return
    for table in metrics_tables(outcome.result):
        stdout.print(table)
    compiled = outcome.result.get("compile")
    if compiled and not compiled["used"]:
        stderr.print(f"note: {compiled['message']}", markup=False, highlight=False)
    if not outcome.result.get("zero_shot", True):
        stderr.print("note: this method is an upper bound trained on ALL classes' labels; it is not zero-shot")
    image_split = str(outcome.result["dataset"].get("image_split", ""))
    if image_split.startswith("fallback"):
        stderr.print(f"note: image split was the {image_split}")
    stderr.print(f"results: {outcome.run_dir / 'result.json'}  scores: {outcome.run_dir / 'scores.npz'}")
