"""Typed run configuration."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from zsbench.errors import UsageError


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
    lr_factor: float = 0.01  # ReduceLROnPlateau, as in the paper
    lr_patience: int = 10
    image_size: int | None = None  # None: the dataset's default
    n_images: int | None = None  # synthetic world size; None: the dataset's default
    augment: bool = True
    method_options: dict[str, Any] = field(default_factory=dict)
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
        if "ks" in data:
            data["ks"] = tuple(data["ks"])
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read config {path}: {exc.__class__.__name__}") from None
        if not isinstance(raw, dict):
            raise UsageError(f"config {path} must be a mapping of option: value")
        return cls.from_dict(raw)
