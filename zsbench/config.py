"""Typed run configuration."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from zsbench.errors import UsageError, close_matches

FLOAT_FIELDS = ("lr", "weight_decay", "lr_factor", "clip_grad")
MAX_SEED = 2**32 - 1  # numpy's legacy seeding takes 0 .. 2**32 - 1
#: the training augmentation recipes (zsbench/engine/augment.py); named here, where the CLI reads
#: them, so that parsing a command line does not import torch
AUGMENTATIONS = ("shift", "paper", "none")


def _check_int(flag: str, value: Any, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{flag} must be a whole number (got {value!r})")
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UsageError(f"{flag} must be {span} (got {value})")


def _check_float(flag: str, value: Any, positive: bool) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UsageError(f"{flag} must be a number (got {value!r})")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise UsageError(f"{flag} must be a finite number {'above' if positive else 'of at least'} 0 (got {value})")


@dataclass
class RunConfig:
    """Everything that decides a run's result. Recorded in full in result.json."""

    dataset: str = "synthetic"
    split: str = "synthetic-paper"
    method: str = "cxr-ml-gzsl"
    backbone: str = "tiny-cnn"
    text_encoder: str = "minilm"
    class_text: str = "description"
    seed: int = 0
    data_seed: int = 0
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-5
    lr_factor: float | None = None  # ReduceLROnPlateau; None: the method's (paper: 0.01)
    lr_patience: int | None = None  # None: the method's (paper: 10)
    max_steps: int | None = None  # stop after this many optimizer steps
    early_stop: int | None = None  # stop after this many epochs without a better val score
    clip_grad: float | None = None  # max gradient norm
    amp: bool = False  # autocast (bf16 on CPUs that support it, bf16/fp16 on GPUs)
    channels_last: bool = False
    tta: str = "none"  # test-time augmentation: none | tencrop
    image_size: int | None = None  # None: the dataset's default
    n_images: int | None = None  # synthetic world size; None: the dataset's default
    augment: str = "shift"  # training augmentation: shift | paper | none (engine/augment.py); true/false = shift/none
    pretrained: bool = True  # backbones with pretrained weights load them (offline); False: random
    backbone_weights: str | None = None  # a local weights file for the backbone
    root: str | None = None  # image folder of file-based datasets
    metadata: str | None = None  # label file, where the dataset has a default
    split_lists: str | None = None  # folder with train/val/test_list.txt
    cache: str | None = None  # prepared pixel cache folder (default: ROOT/.zsbench-cache/...)
    allow_missing: bool = False  # run even when more than 1% of the images are missing
    # frozen-backbone feature cache folder; "auto": OUT/.features; None: off (engine/feature_cache.py)
    feature_cache: str | None = "auto"
    dataset_options: dict[str, Any] = field(default_factory=dict)
    selection: str = "val-seen"  # model selection: val-seen | gzsl (held-out seen classes)
    val_unseen: int = 2  # with selection gzsl: how many seen classes play unseen on val
    method_options: dict[str, Any] = field(default_factory=dict)
    text_options: dict[str, Any] = field(default_factory=dict)  # e.g. pooling=cls, layer=penultimate
    ks: tuple[int, ...] = (2, 3)
    device: str = "auto"
    out: str = "runs"

    def __post_init__(self) -> None:
        # Every number is checked here, before any data is loaded: a meaningless value (a negative
        # clip norm flips the gradient, a NaN learning rate trains nothing) must never run.
        _check_int("--seed", self.seed, 0, MAX_SEED)
        _check_int("--data-seed", self.data_seed, 0, MAX_SEED)
        _check_int("--epochs", self.epochs, 1)
        _check_int("--batch-size", self.batch_size, 2)
        _check_float("--lr", self.lr, positive=True)
        _check_float("weight_decay", self.weight_decay, positive=False)
        if self.lr_factor is not None:
            _check_float("lr_factor", self.lr_factor, positive=True)
            if self.lr_factor >= 1:
                raise UsageError(f"lr_factor must be below 1: it multiplies the learning rate (got {self.lr_factor})")
        if self.lr_patience is not None:
            _check_int("lr_patience", self.lr_patience, 0)
        if self.max_steps is not None:
            _check_int("--max-steps", self.max_steps, 1)
        if self.early_stop is not None:
            _check_int("--early-stop", self.early_stop, 1)
        if self.clip_grad is not None:
            _check_float("--clip-grad", self.clip_grad, positive=True)
        if self.image_size is not None:
            _check_int("--image-size", self.image_size, 8)
        if self.n_images is not None:
            _check_int("--n-images", self.n_images, 1)
        _check_int("--val-unseen", self.val_unseen, 1)
        if isinstance(self.augment, bool):  # configs and results written before the recipes had names
            self.augment = "shift" if self.augment else "none"
        if self.augment not in AUGMENTATIONS:
            raise UsageError(f"--augment must be one of {', '.join(AUGMENTATIONS)} (got {self.augment!r})")
        if self.tta not in ("none", "tencrop"):
            raise UsageError(f"--tta must be none or tencrop (got {self.tta!r})")
        if self.selection not in ("val-seen", "gzsl"):
            raise UsageError(f"--selection must be val-seen or gzsl (got {self.selection!r})")
        if not self.ks or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in self.ks):
            raise UsageError(f"top-k values must be positive integers (got {self.ks})")
        if not self.out:
            raise UsageError("--out must name a folder")
        for name in ("dataset_options", "method_options", "text_options"):
            if not isinstance(getattr(self, name), dict):
                raise UsageError(f"config {name} must be a mapping of option: value")
        self.ks = tuple(int(k) for k in self.ks)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ks"] = list(self.ks)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown config keys {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                             f"{close_matches(unknown[0], known)}")
        data = dict(data)
        for name in FLOAT_FIELDS:  # YAML 1.1 reads 1e-5 as a string
            if isinstance(data.get(name), str):
                try:
                    data[name] = float(data[name])
                except ValueError:
                    raise UsageError(f"config {name}: {data[name]!r} is not a number") from None
        if "ks" in data:
            data["ks"] = tuple(data["ks"])
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
