"""Typed run configuration."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from zsbench.errors import UsageError

FLOAT_FIELDS = ("lr", "weight_decay", "lr_factor", "clip_grad")


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
    augment: bool = True
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
        if self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 2:
            raise UsageError(f"--batch-size must be at least 2 (got {self.batch_size})")
        if self.lr <= 0:
            raise UsageError(f"--lr must be positive (got {self.lr})")
        if self.tta not in ("none", "tencrop"):
            raise UsageError(f"--tta must be none or tencrop (got {self.tta!r})")
        if self.selection not in ("val-seen", "gzsl"):
            raise UsageError(f"--selection must be val-seen or gzsl (got {self.selection!r})")
        if not self.ks or min(self.ks) < 1:
            raise UsageError(f"top-k values must be positive integers (got {self.ks})")
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
            raise UsageError(f"unknown config keys {', '.join(unknown)}; known: {', '.join(sorted(known))}")
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
            text = Path(path).read_text()
            # JSON is YAML, except that YAML 1.1 reads 1e-05 as a string
            raw = (json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)) or {}
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read config {path}: {exc.__class__.__name__}") from None
        if not isinstance(raw, dict):
            raise UsageError(f"config {path} must be a mapping of option: value")
        return cls.from_dict(raw)
