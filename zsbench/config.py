"""Typed run configuration: one pydantic model that is also the declaration of the CLI flags.

Every field of :class:`RunConfig` that a user sets from the command line carries a :class:`Cli`
marker in its ``Annotated`` metadata (flag name, help, how the flag maps to the value). ``zsbench
run`` and ``zsbench sweep`` both build their options from these markers
(:mod:`zsbench.cli.config_options`), so a field, its flag, its help text and its checks are written
once.

Unknown keys are refused (``extra="forbid"``) with one line naming the key, the valid keys and the
closest match; each value is checked before any data loads, because a meaningless value (a negative
clip norm flips the gradient, a NaN learning rate trains nothing) must never run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from zsbench.errors import UsageError, close_matches
from zsbench.options import first_problem

if TYPE_CHECKING:
    from zsbench.data.class_splits import ClassSplit

MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes 0 .. 2**32 - 1
#: the training augmentation recipes (zsbench/engine/augment.py); named here, where the CLI reads
#: them, so that parsing a command line does not import torch
AUGMENTATIONS = ("shift", "paper", "none")
TTA_MODES = ("none", "tencrop")
CHANNELS = ("1", "3")
#: ``auto``: the paper's recipe for cxr-ml-gzsl on real images, else zsbench's defaults (zsbench/recipe.py)
AUTO = "auto"
SELECTIONS = ("val-seen", "gzsl")
#: fields that change how fast a run goes, never what it computes
SPEED_ONLY = ("decode_workers",)
#: in a backbone or text-encoder spec, the run's unseen classes (:meth:`RunConfig.bound_to`)
UNSEEN_PLACEHOLDER = "{unseen}"
PER_SPLIT_FIELDS = ("backbone", "text_encoder")


@dataclass(frozen=True)
class Cli:
    """How a RunConfig field appears on the command line.

    ``kind``: ``value`` (``--flag VALUE``), ``switch`` (``--flag`` sets True), ``negated``
    (``--flag`` sets False, for fields that default to True), ``pairs`` (repeatable ``KEY=VALUE``
    into a mapping), ``repeat`` (repeatable ``--flag VALUE`` into a list). ``off`` is an extra
    switch that sets the field to ``off_value`` (``--no-augment`` is ``--augment none``).
    ``choices`` restricts a ``value`` flag.
    """

    flag: str
    help: str = ""
    kind: str = "value"
    choices: tuple[str, ...] | None = None
    off: str | None = None
    off_value: Any = None
    off_help: str = ""


class RunConfig(BaseModel):
    """Everything that decides a run's result. Recorded in full in result.json."""

    model_config = ConfigDict(extra="forbid")

    dataset: Annotated[str, Cli("--dataset", "Dataset name [default: synthetic].")] = "synthetic"
    split: Annotated[str, Cli("--split", "Class split name or YAML path [default: synthetic-paper].")] = (
        "synthetic-paper")
    method: Annotated[str, Cli("--method", "Method name [default: cxr-ml-gzsl].")] = "cxr-ml-gzsl"
    backbone: Annotated[str, Cli("--backbone", "Backbone, e.g. tiny-cnn or timm:resnet18 [default: tiny-cnn].")] = (
        "tiny-cnn")
    text_encoder: Annotated[str, Cli("--text-encoder", "Text encoder [default: minilm].")] = "minilm"
    class_text: Annotated[str, Cli("--class-text", "name, description or ensemble [default: description].")] = (
        "description")
    seed: Annotated[StrictInt, Cli("--seed", "Seed for model init, shuffling and augmentation [default: 0].")] = 0
    data_seed: Annotated[StrictInt, Cli("--data-seed", "Seed of the synthetic world [default: 0].")] = 0
    epochs: Annotated[StrictInt, Cli("--epochs", "Training epochs [default: 10].")] = 10
    batch_size: Annotated[StrictInt, Cli("--batch-size", "[default: 32]")] = 32
    lr: Annotated[float, Cli("--lr", "Adam learning rate [default: 0.001].")] = 1e-3
    weight_decay: float = 1e-5
    lr_factor: float | None = None  # ReduceLROnPlateau; None: the method's (paper: 0.01)
    lr_patience: StrictInt | None = None  # None: the method's (paper: 10)
    max_steps: Annotated[StrictInt | None, Cli("--max-steps", "Stop after this many optimizer steps.")] = None
    early_stop: Annotated[StrictInt | None, Cli(
        "--early-stop", "Stop after this many epochs without a better val score.")] = None
    clip_grad: Annotated[float | None, Cli("--clip-grad", "Clip gradients to this norm.")] = None
    amp: Annotated[StrictBool, Cli(
        "--amp", "Autocast: bf16 on CPUs that support it, bf16/fp16 on GPUs.", kind="switch")] = False
    channels_last: Annotated[StrictBool, Cli("--channels-last", "channels_last memory format.", kind="switch")] = False
    compile: Annotated[StrictBool, Cli(
        "--compile", "Compile backbone and head with torch.compile (falls back to eager, saying why).",
        kind="switch")] = False
    tta: Annotated[str, Cli(
        "--tta", "Test-time augmentation; auto: tencrop for cxr-ml-gzsl on real images, else none [default: auto].",
        choices=(AUTO, *TTA_MODES))] = AUTO
    image_size: Annotated[StrictInt | None, Cli(
        "--image-size", "Image side in pixels [default: the dataset's].")] = None
    n_images: Annotated[StrictInt | None, Cli("--n-images", "Synthetic world size [default: 6000].")] = None
    augment: Annotated[str, Cli(
        "--augment", "Training augmentation: shift (small translation), paper (RandomResizedCrop + flip), none; "
        "auto: paper for cxr-ml-gzsl on real images, else shift [default: auto].", choices=(AUTO, *AUGMENTATIONS),
        off="--no-augment", off_value="none", off_help="Same as --augment none.")] = AUTO
    channels: Annotated[str, Cli(
        "--channels", "Backbone input channels: 1 (grey; timm folds RGB filters) or 3 (grey copied to RGB, "
        "ImageNet statistics); auto: 3 for cxr-ml-gzsl on real images, else 1 [default: auto].",
        choices=(AUTO, *CHANNELS))] = AUTO
    pretrained: Annotated[StrictBool, Cli(
        "--no-pretrained", "Start the backbone from random weights.", kind="negated")] = True
    backbone_weights: Annotated[str | None, Cli(
        "--backbone-weights", "Local weights file for the backbone (e.g. a timm checkpoint).")] = None
    root: Annotated[str | None, Cli(
        "--root", "Image folder of a file-based dataset (nih, chexpert, padchest, csv).")] = None
    metadata: Annotated[str | None, Cli(
        "--metadata", "Label file [default: the copy the dataset ships, where there is one].")] = None
    split_lists: Annotated[str | None, Cli(
        "--split-lists", "Folder with train_list.txt / val_list.txt / test_list.txt.")] = None
    cache: Annotated[str | None, Cli(
        "--cache", "Prepared pixel cache folder [default: ROOT/.zsbench-cache/DATASET-SIZE].")] = None
    allow_missing: Annotated[StrictBool, Cli(
        "--allow-missing", "Run even if more than 1% of images are missing.", kind="switch")] = False
    # frozen-backbone feature cache folder; "auto": OUT/.features; None: off (engine/feature_cache.py)
    feature_cache: Annotated[str | None, Cli(
        "--feature-cache", "Folder of the frozen-backbone feature cache [default: OUT/.features].",
        off="--no-feature-cache", off_value=None,
        off_help="Extract a frozen backbone's features in every step instead (keeps augmentation).")] = "auto"
    dataset_options: Annotated[dict[str, Any], Cli(
        "--dataset-option", "Dataset setting, e.g. uncertain=ignore (repeatable).", kind="pairs")] = Field(
        default_factory=dict)
    selection: Annotated[str, Cli(
        "--selection", "Model selection: val seen AUROC, or GZSL validation with held-out seen classes.",
        choices=SELECTIONS)] = "val-seen"
    val_unseen: Annotated[StrictInt, Cli(
        "--val-unseen", "With --selection gzsl: seen classes held out [default: 2].")] = 2
    method_options: Annotated[dict[str, Any], Cli(
        "--method-option", "Method setting, e.g. margin=0.2 (repeatable).", kind="pairs")] = Field(
        default_factory=dict)
    text_options: Annotated[dict[str, Any], Cli(
        "--text-option", "Text-encoder setting, e.g. pooling=cls or layer=penultimate (repeatable).",
        kind="pairs")] = Field(default_factory=dict)
    ks: Annotated[tuple[StrictInt, ...], Cli(
        "--k", "k for p/r/f1@k (repeatable) [default: 2 and 3].", kind="repeat")] = (2, 3)
    decode_workers: Annotated[StrictInt, Cli(
        "--decode-workers", "Processes decoding image files when no pixel cache covers the run [default: 1].")] = 1
    device: Annotated[str, Cli("--device", "auto, cpu or cuda [default: auto].")] = "auto"
    out: Annotated[str, Cli("--out", "Folder for run directories [default: runs].")] = "runs"

    @field_validator("augment", mode="before")
    @classmethod
    def _named_recipe(cls, value: Any) -> Any:
        # configs and results written before the recipes had names hold augment: true/false
        return {True: "shift", False: "none"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_count(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("lr", "weight_decay", "lr_factor", "clip_grad", mode="before")
    @classmethod
    def _number(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        if isinstance(value, bool):  # lax floats would read true as 1.0
            raise UsageError(f"{flag_of(info.field_name)} must be a number (got {value!r})")
        if isinstance(value, str):  # YAML 1.1 reads 1e-5 as a string
            try:
                return float(value)
            except ValueError:
                raise UsageError(f"config {info.field_name}: {value!r} is not a number") from None
        return value

    @model_validator(mode="after")
    def _check_values(self) -> RunConfig:
        _check_range("--seed", self.seed, 0, MAX_SEED)
        _check_range("--data-seed", self.data_seed, 0, MAX_SEED)
        _check_range("--epochs", self.epochs, 1)
        _check_range("--batch-size", self.batch_size, 2)
        _check_float("--lr", self.lr, positive=True)
        _check_float("weight_decay", self.weight_decay, positive=False)
        if self.lr_factor is not None:
            _check_float("lr_factor", self.lr_factor, positive=True)
            if self.lr_factor >= 1:
                raise UsageError(f"lr_factor must be below 1: it multiplies the learning rate (got {self.lr_factor})")
        for flag, value, low in (("lr_patience", self.lr_patience, 0), ("--max-steps", self.max_steps, 1),
                                 ("--early-stop", self.early_stop, 1), ("--image-size", self.image_size, 8),
                                 ("--n-images", self.n_images, 1), ("--val-unseen", self.val_unseen, 1),
                                 ("--decode-workers", self.decode_workers, 1)):
            if value is not None:
                _check_range(flag, value, low)
        if self.clip_grad is not None:
            _check_float("--clip-grad", self.clip_grad, positive=True)
        for name, choices in (("augment", (AUTO, *AUGMENTATIONS)), ("tta", (AUTO, *TTA_MODES)),
                              ("channels", (AUTO, *CHANNELS)), ("selection", SELECTIONS)):
            if getattr(self, name) not in choices:
                raise UsageError(f"--{name} must be one of {', '.join(choices)} (got {getattr(self, name)!r})")
        if not self.ks or not all(k >= 1 for k in self.ks):
            raise UsageError(f"top-k values must be positive integers (got {self.ks})")
        if not self.out:
            raise UsageError("--out must name a folder")
        return self

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise UsageError(describe_validation_error(exc, type(self))) from None

    def to_dict(self) -> dict[str, Any]:
        d = self.model_dump()
        d["ks"] = list(self.ks)
        return d

    def identity(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields that change how fast a run goes but not its result
        (:data:`SPEED_ONLY`): what a resumed run and a sweep's run hash compare."""
        return {k: v for k, v in self.to_dict().items() if k not in SPEED_ONLY}

    def replace(self, **changes: Any) -> RunConfig:
        """A checked copy with ``changes`` applied (``dataclasses.replace`` for this model)."""
        return RunConfig(**{**self.to_dict(), **changes})

    def bound_to(self, split: ClassSplit) -> RunConfig:
        """Itself with ``{unseen}`` in the backbone and text-encoder specs replaced by ``split``'s
        unseen classes (sorted, joined by ``+``: ``class_splits.unseen_folder_name``), so that
        ``pretrained:DIR/{unseen}/pretrained.pt`` names each split's own checkpoint, as
        ``zsbench pretrain --unseen-of`` writes them; any other ``{...}`` is refused, since it would
        be read as part of a path."""
        from zsbench.data.class_splits import unseen_folder_name

        changes = {}
        for name in PER_SPLIT_FIELDS:
            spec = getattr(self, name)
            bound = spec.replace(UNSEEN_PLACEHOLDER, unseen_folder_name(split))
            if "{" in bound or "}" in bound:
                raise UsageError(f"{name.replace('_', ' ')} {spec!r} has a placeholder other than "
                                 f"{UNSEEN_PLACEHOLDER}; {UNSEEN_PLACEHOLDER} (the split's unseen classes "
                                 "joined by '+') is the only one")
            if bound != spec:
                changes[name] = bound
        return self.replace(**changes) if changes else self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
            # JSON is YAML, except that YAML 1.1 reads 1e-05 as a string
            raw = (json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)) or {}
        except UnicodeDecodeError:
            raise UsageError(f"config {path} is not UTF-8 text; save it as UTF-8") from None
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read config {path}: {exc.__class__.__name__}") from None
        if not isinstance(raw, dict):
            raise UsageError(f"config {path} must be a mapping of option: value")
        return cls.from_dict(raw)


def cli_marker(name: str) -> Cli | None:
    """The :class:`Cli` marker of a RunConfig field, or None for fields without a flag."""
    return next((m for m in RunConfig.model_fields[name].metadata if isinstance(m, Cli)), None)


def flag_of(name: str) -> str:
    """How error messages name a field: its flag where it has one, else the config key."""
    marker = cli_marker(name)
    return marker.flag if marker is not None and marker.kind == "value" else name


def describe_validation_error(exc: pydantic.ValidationError, model: type[BaseModel]) -> str:
    """The first problem of a pydantic validation of ``model`` as one line: an unknown key with the
    valid keys and a did-you-mean, or a bad value with the flag or key that holds it."""
    problem = first_problem(exc)
    known = sorted(model.model_fields)
    if problem.kind == "extra_forbidden":
        return f"unknown config keys {problem.top}; known: {', '.join(known)}{close_matches(problem.top, known)}"
    where = flag_of(problem.top) if problem.top in model.model_fields else problem.key
    return f"{where}: {problem.message} (got {problem.input!r})"


def _check_range(flag: str, value: int, low: int, high: int | None = None) -> None:
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UsageError(f"{flag} must be {span} (got {value})")


def _check_float(flag: str, value: float, positive: bool) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise UsageError(f"{flag} must be a finite number {'above' if positive else 'of at least'} 0 (got {value})")
