"""``zsbench run``: train and evaluate one configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import yaml

from zsbench.config import AUGMENTATIONS, RunConfig
from zsbench.errors import UsageError

_DEFAULTS = RunConfig()


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"options expect KEY=VALUE (got {pair!r})")
        options[key] = yaml.safe_load(value)
    return options


@click.command("run")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="YAML file of options; flags override it.")
@click.option("--dataset", help=f"Dataset name [default: {_DEFAULTS.dataset}].")
@click.option("--split", help=f"Class split name or YAML path [default: {_DEFAULTS.split}].")
@click.option("--method", help=f"Method name [default: {_DEFAULTS.method}].")
@click.option("--backbone", help=f"Backbone, e.g. tiny-cnn or timm:resnet18 [default: {_DEFAULTS.backbone}].")
@click.option("--no-pretrained", "pretrained", flag_value=False, default=None,
              help="Start the backbone from random weights.")
@click.option("--backbone-weights", help="Local weights file for the backbone (e.g. a timm checkpoint).")
@click.option("--text-encoder", help=f"Text encoder [default: {_DEFAULTS.text_encoder}].")
@click.option("--class-text", help=f"name or description [default: {_DEFAULTS.class_text}].")
@click.option("--seed", type=int, help=f"Seed for model init, shuffling and augmentation [default: {_DEFAULTS.seed}].")
@click.option("--data-seed", type=int, help=f"Seed of the synthetic world [default: {_DEFAULTS.data_seed}].")
@click.option("--epochs", type=int, help=f"Training epochs [default: {_DEFAULTS.epochs}].")
@click.option("--batch-size", type=int, help=f"[default: {_DEFAULTS.batch_size}]")
@click.option("--lr", type=float, help=f"Adam learning rate [default: {_DEFAULTS.lr}].")
@click.option("--image-size", type=int, help="Image side in pixels [default: the dataset's].")
@click.option("--n-images", type=int, help="Synthetic world size [default: 6000].")
@click.option("--augment", type=click.Choice(AUGMENTATIONS),
              help="Training augmentation: shift (small translation), paper (RandomResizedCrop + flip), none "
                   f"[default: {_DEFAULTS.augment}].")
@click.option("--no-augment", is_flag=True, default=None, help="Same as --augment none.")
@click.option("--root", help="Image folder of a file-based dataset (nih, chexpert, padchest, csv).")
@click.option("--metadata", help="Label file [default: the copy the dataset ships, where there is one].")
@click.option("--split-lists", help="Folder with train_list.txt / val_list.txt / test_list.txt.")
@click.option("--cache", help="Prepared pixel cache folder [default: ROOT/.zsbench-cache/DATASET-SIZE].")
@click.option("--allow-missing", is_flag=True, default=None, help="Run even if more than 1% of images are missing.")
@click.option("--feature-cache", help="Folder of the frozen-backbone feature cache [default: OUT/.features].")
@click.option("--no-feature-cache", is_flag=True, default=None,
              help="Extract a frozen backbone's features in every step instead (keeps augmentation).")
@click.option(
    "--dataset-option", "dataset_options", multiple=True, metavar="KEY=VALUE",
    help="Dataset setting, e.g. uncertain=ignore (repeatable).",
)
@click.option(
    "--text-option", "text_options", multiple=True, metavar="KEY=VALUE",
    help="Text-encoder setting, e.g. pooling=cls or layer=penultimate (repeatable).",
)
@click.option("--selection", type=click.Choice(["val-seen", "gzsl"]),
              help="Model selection: val seen AUROC, or GZSL validation with held-out seen classes.")
@click.option("--val-unseen", type=int, help="With --selection gzsl: seen classes held out [default: 2].")
@click.option(
    "--method-option", "method_options", multiple=True, metavar="KEY=VALUE",
    help="Method setting, e.g. margin=0.2 (repeatable).",
)
@click.option("--max-steps", type=int, help="Stop after this many optimizer steps.")
@click.option("--early-stop", type=int, help="Stop after this many epochs without a better val score.")
@click.option("--clip-grad", type=float, help="Clip gradients to this norm.")
@click.option("--amp", is_flag=True, default=None, help="Autocast: bf16 on CPUs that support it, bf16/fp16 on GPUs.")
@click.option("--channels-last", is_flag=True, default=None, help="channels_last memory format.")
@click.option("--tta", type=click.Choice(["none", "tencrop"]), help="Test-time augmentation [default: none].")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue the run in this directory from its last finished epoch (same settings).")
@click.option("--k", "ks", type=int, multiple=True, help="k for p/r/f1@k (repeatable) [default: 2 and 3].")
@click.option("--device", help="auto, cpu or cuda [default: auto].")
@click.option("--out", help=f"Folder for run directories [default: {_DEFAULTS.out}].")
@click.option("--json", "as_json", is_flag=True, help="Print result.json to stdout and nothing else there.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def run_command(config_file: str | None, method_options: tuple[str, ...], dataset_options: tuple[str, ...],
                text_options: tuple[str, ...], ks: tuple[int, ...], no_augment: bool | None, as_json: bool,
                quiet: bool, resume_dir: str | None, no_feature_cache: bool | None, **flags: Any) -> None:
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
    base.update({k: v for k, v in flags.items() if v is not None})
    if method_options:
        base["method_options"] = {**base["method_options"], **_parse_options(method_options)}
    if text_options:
        base["text_options"] = {**base["text_options"], **_parse_options(text_options)}
    if dataset_options:
        base["dataset_options"] = {**base["dataset_options"], **_parse_options(dataset_options)}
    if ks:
        base["ks"] = list(ks)
    if no_augment:
        if flags.get("augment") not in (None, "none"):
            raise UsageError(f"--no-augment and --augment {flags['augment']} contradict each other; pick one")
        base["augment"] = "none"
    if no_feature_cache:
        if flags.get("feature_cache"):
            raise UsageError("--feature-cache and --no-feature-cache contradict each other; pick one")
        base["feature_cache"] = None
    config = RunConfig.from_dict(base)
    if resume_dir and config.to_dict() != RunConfig.from_yaml(config_file).to_dict():
        raise UsageError("--resume continues a run with its own settings; drop the other flags")

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
    if not outcome.result.get("zero_shot", True):
        stderr.print("note: this method is an upper bound trained on ALL classes' labels; it is not zero-shot")
    image_split = str(outcome.result["dataset"].get("image_split", ""))
    if image_split.startswith("fallback"):
        stderr.print(f"note: image split was the {image_split}")
    stderr.print(f"results: {outcome.run_dir / 'result.json'}  scores: {outcome.run_dir / 'scores.npz'}")
