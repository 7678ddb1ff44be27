"""The typed state of one run: :class:`RunContext`, filled stage by stage (``run_stages.py``),
and the values each stage adds to it. Kept apart from the stages so that a test, or a caller
that runs only some stages, can build and inspect a context without running any.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch

from zsbench.data.base import ClassInfo, DatasetSource
from zsbench.data.class_splits import ClassSplit
from zsbench.data.protocol import DataSplits
from zsbench.engine import distributed
from zsbench.engine.compile import CompileOutcome
from zsbench.engine.distributed import DistContext
from zsbench.engine.feature_cache import FeatureCache
from zsbench.engine.trainer import TrainOutcome, TrainSettings, ZeroShotModel
from zsbench.progress import ProgressFn
from zsbench.recipe import InputRecipe
from zsbench.resume_state import ResumeState
from zsbench.run_setup import RunFolder

if TYPE_CHECKING:
    from zsbench.config import RunConfig
    from zsbench.text.encoders import TextEncoder

T = TypeVar("T")


@dataclass
class RunResult:
    """A finished run: its folder and its ``result.json`` document."""

    run_dir: Path
    result: dict[str, Any]


@dataclass(frozen=True)
class RunParts:
    """What the resolve stage settles before any text or image is touched."""

    dist: DistContext
    device: torch.device
    dataset: DatasetSource
    split: ClassSplit
    classes: list[ClassInfo]
    resume: ResumeState | None
    recipe: InputRecipe  # augment, tta and channels with every auto resolved (zsbench/recipe.py)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]


@dataclass(frozen=True)
class ClassTexts:
    """The text stage's output: the encoder and its C x d class embeddings (float32, host memory)."""

    encoder: TextEncoder
    embeddings: np.ndarray


@dataclass(frozen=True)
class RunData:
    """The data stage's output, decided on labels alone: the protocol's parts, how many image
    files were missing, the columns training sees, and the gzsl selection's held-out columns."""

    splits: DataSplits
    missing: int
    train_columns: list[int]
    held_out: list[int] | None

    @property
    def seen(self) -> list[int]:
        return self.splits.seen

    @property
    def unseen(self) -> list[int]:
        return self.splits.unseen


@dataclass(frozen=True)
class RunInputs:
    """The inputs stage's output: per part the uint8 images, or a frozen backbone's features; the
    class embeddings on the device; the training settings (the feature cache turns augmentation off)."""

    feature_cache: FeatureCache
    pixels: dict[str, np.ndarray]
    embeddings: torch.Tensor
    settings: TrainSettings


@dataclass(frozen=True)
class Selection:
    """How the final model was chosen (``result.json``'s ``training.selection``) and the settings
    its training uses: a gzsl probe replaces the number of epochs."""

    record: dict[str, Any]
    settings: TrainSettings


@dataclass(frozen=True)
class Scored:
    """The score stage's output: test scores (n x C, every class) and their metrics."""

    scores: np.ndarray
    metrics: dict[str, Any]
    coverage: dict[str, Any] | None


@dataclass
class RunContext:
    """One run: what it was asked (the first fields), then what each stage adds, in stage order.
    A stage reads only fields of the stages before it; :func:`need` says which one is missing."""

    config: RunConfig
    progress: ProgressFn | None = None
    resume_dir: Path | None = None  # continue the run in this folder
    target_dir: Path | None = None  # a fresh run's folder, chosen by the caller (sweeps)
    folder: RunFolder = field(default_factory=lambda: RunFolder(distributed.current().is_main))
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    parts: RunParts | None = None  # resolve
    texts: ClassTexts | None = None  # text
    model: ZeroShotModel | None = None  # model
    compiled: CompileOutcome | None = None  # model, with --compile
    data: RunData | None = None  # data
    inputs: RunInputs | None = None  # inputs
    run_id: str | None = None  # folder
    run_dir: Path | None = None  # folder
    selection: Selection | None = None  # selection
    outcome: TrainOutcome | None = None  # train
    scored: Scored | None = None  # score
    result: RunResult | None = None  # record


def need(value: T | None, stage: str) -> T:
    """A field a stage depends on; a stage run out of order says which stage must come first."""
    if value is None:
        raise RuntimeError(f"the {stage} stage has not run for this context")
    return value
