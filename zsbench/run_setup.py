"""What a run settles before it trains, each piece usable on its own: the device, the names and
options a run may use, the dataset with its class split, missing image files, the model's build,
the training settings and the run's folder. ``runner.run`` strings them together through the
stages of ``run_stages.py``; sweeps, ``rundata`` and the commands reuse them (through ``runner``).
Library code: returns or raises, never prints.
"""

from __future__ import annotations

import hashlib
import json
import random
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench.data.base import ClassInfo, DatasetSource
from zsbench.data.class_splits import ClassSplit, load_class_split
from zsbench.data.files import FileImageSource
from zsbench.data.protocol import DataSplits
from zsbench.engine.feature_cache import seed_frozen_backbone
from zsbench.engine.trainer import TrainSettings, ZeroShotModel, create_model
from zsbench.errors import LeakageError, UsageError, one_line
from zsbench.locks import FolderLock
from zsbench.methods.base import LrSchedule, TrainingContext
from zsbench.registry import BACKBONES, DATASETS, METHODS, TEXT_ENCODERS
from zsbench.results import write_error
from zsbench.text.class_texts import CLASS_TEXT_MODES

MAX_MISSING_SHARE = 0.01  # a run refuses when more images than this are missing


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown --device {name!r}; use auto, cpu or cuda[:N]") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA GPU is visible; use --device cpu")
    return device


def new_run_dir(out: Path, config: dict[str, Any]) -> tuple[str, Path]:
    """A new folder under ``out`` named by time, method, dataset, seed and a config digest."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:6]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{config['method']}-{config['dataset']}-s{config['seed']}-{digest}"
    run_id, n = base, 1
    while True:  # mkdir itself decides: two runs started in the same second never share a folder
        try:
            (out / run_id).mkdir(parents=True)
            return run_id, out / run_id
        except FileExistsError:
            n += 1
            run_id = f"{base}-{n}"


class RunFolder:
    """The folder a run writes into, once it is known. Rank 0 holds its lock while the run is in
    it (a second writer is refused); a run that fails after it began writing there leaves
    ``error.txt`` (the error, then the traceback), and a run that completes removes a stale one."""

    def __init__(self, is_main: bool) -> None:
        self.is_main = is_main
        self.path: Path | None = None
        self.started = False  # config.json (re)written: from here a failure is recorded
        self._lock: FolderLock | None = None

    def claim(self, path: Path) -> Path:
        if self.is_main:
            self._lock = FolderLock(path, "run").acquire()
        self.path = path
        return path

    def record_failure(self, exc: BaseException) -> None:
        if self.path is not None and self.started and self._lock is not None:
            write_error(self.path, one_line(exc), traceback.format_exc())

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()


def validate_names(config: Any) -> None:
    """Fail fast, before any work, on names that no registry knows and on dataset or text-encoder
    options that the part does not declare (a misspelt option must not run the default experiment)."""
    for registry, spec in (
        (DATASETS, config.dataset),
        (METHODS, config.method),
        (BACKBONES, config.backbone),
        (TEXT_ENCODERS, config.text_encoder),
    ):
        registry.entry(spec)
    BACKBONES.check_argument(config.backbone)
    TEXT_ENCODERS.check_argument(config.text_encoder)
    DATASETS.check_options(config.dataset, config.dataset_options)
    TEXT_ENCODERS.check_options(config.text_encoder, config.text_options)
    check_method_options(config.method, config.method_options)
    if config.class_text not in CLASS_TEXT_MODES:
        raise UsageError(
            f"unknown --class-text {config.class_text!r}; choose one of {', '.join(CLASS_TEXT_MODES)}"
        )


def check_method_options(method: str, options: dict[str, Any]) -> None:
    """A method checks its options when it is built, which a run does only after loading its data;
    building it once on tiny sizes here refuses a misspelt option first. Only the method's own
    UsageErrors count: anything else the tiny sizes may cause is left to the real build."""
    try:
        METHODS.create(method, feature_dim=8, feature_map_dim=8, text_dim=8, n_classes=2, options=dict(options))
    except UsageError:
        raise
    except Exception:  # the tiny trial build failed for its sizes, not for the user's option
        return


def preflight(config: Any, split: ClassSplit | None = None) -> tuple[DatasetSource, ClassSplit, list[ClassInfo]]:
    """The checks that need the dataset's metadata but no image: the dataset's own settings, the
    class split and its dataset, and k against the number of classes. A run makes them before it
    loads anything; a sweep makes them once per distinct dataset and split before any run starts,
    handing in the ``split`` it already holds (a dry run's random splits exist only in memory)."""
    validate_names(config)
    dataset = create_dataset(config)
    split = load_class_split(config.split) if split is None else split
    if split.dataset and split.dataset != config.dataset:
        raise UsageError(
            f"class split {split.name!r} is for dataset {split.dataset!r}, not {config.dataset!r}; "
            "pick a split made for this dataset"
        )
    classes = dataset.classes()
    split.validate([c.name for c in classes])
    if max(config.ks) > len(classes):
        raise UsageError(f"--k {max(config.ks)} is more than the {len(classes)} classes of {config.dataset}; "
                         f"use k from 1 to {len(classes)}")
    return dataset, split, classes


def check_training_classes(training: list[int], unseen: list[int], allowed: bool) -> None:
    """Unseen class texts must never reach training unless a method preset says so explicitly."""
    leaked = sorted(set(training) & set(unseen))
    if leaked and not allowed:
        raise LeakageError(
            f"class columns {leaked} are unseen but were handed to training; "
            "only a preset that declares unseen_texts_in_training may do this"
        )


def create_dataset(config: Any) -> DatasetSource:
    dataset = DATASETS.create(
        config.dataset,
        n_images=config.n_images,
        image_size=config.image_size,
        seed=config.data_seed,
        root=config.root,
        metadata=config.metadata,
        split_lists=config.split_lists,
        cache=config.cache,
        **DATASETS.check_options(config.dataset, config.dataset_options),
    )
    if isinstance(dataset, FileImageSource):  # files decoded in this many processes without a cache
        dataset.decode_workers = config.decode_workers
    return dataset


def drop_missing_images(dataset: DatasetSource, splits: DataSplits, allow_missing: bool) -> int:
    """Count image files that cannot be found; refuse above 1% unless allowed, else drop them."""
    if not isinstance(dataset, FileImageSource):
        return 0
    ids = np.concatenate([splits.train.ids, splits.val.ids, splits.test.ids])
    missing = set(dataset.missing_ids(ids))
    if not missing:
        return 0
    share = len(missing) / max(len(ids), 1)
    if share > MAX_MISSING_SHARE and not allow_missing:
        raise UsageError(
            f"{len(missing)} of {len(ids)} images ({share:.1%}) are missing under {dataset.root} "
            f"(e.g. {sorted(missing)[0]!r}); fix --root, see `zsbench data verify`, or pass --allow-missing"
        )
    for part in ("train", "val", "test"):
        table = getattr(splits, part)
        setattr(splits, part, table.select(~np.isin(table.ids, list(missing))))
    return len(missing)


def build_model(config: Any, dataset: DatasetSource, text_dim: int, n_classes: int,
                device: torch.device, channels: int = 1) -> ZeroShotModel:
    """The run's model, from the same initial weights on every build (a gzsl probe builds twice)."""
    def build() -> ZeroShotModel:
        return create_model(
            config.backbone, config.method, config.method_options,
            image_size=dataset.image_size, text_dim=text_dim, n_classes=n_classes,
            pretrained=config.pretrained, weights=config.backbone_weights, channels=channels,
        )

    seed_everything(config.seed)  # every build starts from the same initial weights
    model = build()
    if config.seed != config.data_seed:  # a frozen backbone follows the data seed: its features are shared
        seed_frozen_backbone(model, lambda: build().backbone, config.data_seed)
    return model.to(device)


def bind_class_context(model: ZeroShotModel, train_labels: np.ndarray, columns: list[int],
                       all_embeddings: torch.Tensor, unseen_texts: bool) -> None:
    """What some methods see besides the training batches, from the training columns only."""
    if unseen_texts:  # only presets that declare it (e.g. the public code's L_con over all classes)
        model.method.bind_all_classes(all_embeddings)
    model.method.bind_training_context(TrainingContext(torch.from_numpy(train_labels[:, columns]),
                                                       all_embeddings[columns]))


def train_settings(config: Any, schedule: LrSchedule, augment: str) -> TrainSettings:
    """The run's flags as training settings; the learning-rate schedule is the method's own
    (``Method.lr_schedule``) unless the flags override it; ``augment`` is the resolved recipe's."""
    return TrainSettings(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        lr_factor=config.lr_factor if config.lr_factor is not None else schedule.factor,
        lr_patience=config.lr_patience if config.lr_patience is not None else schedule.patience,
        seed=config.seed,
        augment=augment,
        max_steps=config.max_steps,
        early_stop=config.early_stop,
        clip_grad=config.clip_grad,
        amp=config.amp,
        channels_last=config.channels_last,
        lr_monitor=schedule.monitor,
        keep="best" if config.selection == "val-seen" else "last",
    )
