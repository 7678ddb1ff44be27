"""One benchmark run, from configuration to result files. Library code: returns, never prints."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import random
import time
import traceback
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench import __version__
from zsbench.checkpoint import checkpoint_meta
from zsbench.data.base import ClassInfo, DatasetSource
from zsbench.data.class_splits import ClassSplit, load_class_split
from zsbench.data.coverage import attribute_coverage, fully_covered
from zsbench.data.files import FileImageSource
from zsbench.data.protocol import DataSplits, apply_protocol
from zsbench.engine import distributed
from zsbench.engine.feature_cache import FeatureCache, restore_backbone, seed_frozen_backbone, use_features
from zsbench.engine.selection import choose_held_out, harmonic_validator
from zsbench.engine.trainer import (
    ProgressFn,
    TrainSettings,
    ZeroShotModel,
    create_model,
    score_images,
    seen_auroc_validator,
    seen_loss_validator,
    train,
)
from zsbench.errors import LeakageError, UsageError, one_line
from zsbench.locks import FolderLock
from zsbench.methods.base import TrainingContext
from zsbench.metrics import METRICS_VERSION, evaluate
from zsbench.registry import BACKBONES, DATASETS, METHODS, TEXT_ENCODERS, ensure_builtins
from zsbench.results import (
    RESULT_SCHEMA_VERSION,
    atomic_write_bytes,
    clear_error,
    ensure_folder,
    git_hash,
    write_checkpoint,
    write_error,
    write_json,
    write_scores,
)
from zsbench.resume_state import check_resume_dataset, load_resume_state, resume_payload
from zsbench.text.class_texts import CLASS_TEXT_MODES, class_texts, ensemble_groups

MAX_MISSING_SHARE = 0.01  # a run refuses when more images than this are missing


@dataclass
class RunResult:
    run_dir: Path
    result: dict[str, Any]


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


def _new_run_dir(out: Path, config: dict[str, Any]) -> tuple[str, Path]:
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
    ensure_builtins()
    for registry, spec in (
        (DATASETS, config.dataset),
        (METHODS, config.method),
        (BACKBONES, config.backbone),
        (TEXT_ENCODERS, config.text_encoder),
    ):
        registry.entry(spec)
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
    return DATASETS.create(
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


def _build_model(config: Any, dataset: DatasetSource, text_dim: int, n_classes: int,
                 device: torch.device) -> ZeroShotModel:
    def build() -> ZeroShotModel:
        return create_model(
            config.backbone, config.method, config.method_options,
            image_size=getattr(dataset, "image_size", 224), text_dim=text_dim, n_classes=n_classes,
            pretrained=config.pretrained, weights=config.backbone_weights,
        )

    seed_everything(config.seed)  # every build starts from the same initial weights
    model = build()
    if config.seed != config.data_seed:  # a frozen backbone follows the data seed: its features are shared
        seed_frozen_backbone(model, lambda: build().backbone, config.data_seed)
    return model.to(device)


def _bind_class_context(model: ZeroShotModel, train_labels: np.ndarray, columns: list[int],
                        all_embeddings: torch.Tensor, unseen_texts: bool) -> None:
    """What some methods see besides the training batches, from the training columns only."""
    if unseen_texts:  # only presets that declare it (e.g. the public code's L_con over all classes)
        model.method.bind_all_classes(all_embeddings)
    model.method.bind_training_context(TrainingContext(torch.from_numpy(train_labels[:, columns]),
                                                       all_embeddings[columns]))


def run(config: Any, progress: ProgressFn | None = None, resume_dir: Path | None = None,
        run_dir: Path | None = None) -> RunResult:
    """Train and evaluate one (dataset, class split, method, backbone, text encoder, seed).

    ``resume_dir``: continue the run in that directory from its last completed epoch.
    ``run_dir``: write a fresh run into this directory (created if needed) instead of a new
    timestamped one under ``config.out``; a sweep uses it to place each run deterministically.
    The run's folder is locked while the run is in it; a failed run leaves ``error.txt`` there.
    """
    folder = RunFolder(distributed.current().is_main)
    try:
        return _run(config, progress, resume_dir, run_dir, folder)
    except Exception as exc:
        folder.record_failure(exc)
        raise
    finally:
        folder.release()


def _run(config: Any, progress: ProgressFn | None, resume_dir: Path | None, run_dir: Path | None,
         folder: RunFolder) -> RunResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    validate_names(config)
    dist = distributed.current()  # one of several processes under torchrun, else the only one
    distributed.local_batch_size(config.batch_size, dist)  # global batches must split evenly: check first
    device = distributed.pin_device(resolve_device(config.device), dist)
    if resume_dir is not None:
        if (Path(resume_dir) / "result.json").is_file():
            raise UsageError(f"{resume_dir} is a finished run (it has result.json); there is nothing to resume "
                             "(`zsbench rescore` recomputes its metrics; start a new run to train again)")
        folder.claim(Path(resume_dir))
    elif run_dir is not None:
        folder.claim(Path(run_dir))  # rank 0's lock creates the folder
    elif dist.is_main:
        ensure_folder(Path(config.out), "--out")
    resume = load_resume_state(Path(resume_dir), config, dist.world_size) if resume_dir is not None else None

    dataset, split, classes = preflight(config)
    if resume is not None:
        check_resume_dataset(resume, dataset, Path(resume_dir))
    class_names = [c.name for c in classes]

    encoder = TEXT_ENCODERS.create(config.text_encoder, seed=config.seed,
                                   **TEXT_ENCODERS.check_options(config.text_encoder, config.text_options))
    t = time.perf_counter()
    embeddings = np.asarray(encoder.encode_classes(classes, config.class_text), dtype=np.float32)
    timings["text_encoding_s"] = time.perf_counter() - t
    model = _build_model(config, dataset, embeddings.shape[1], len(classes), device)
    zero_shot = model.method.zero_shot
    unseen_texts = bool(model.method.unseen_texts_in_training)

    # an upper bound that is not zero-shot trains on every class, so it keeps unseen-label images
    splits = apply_protocol(dataset.table(), split, inductive=zero_shot)
    missing = drop_missing_images(dataset, splits, config.allow_missing)
    seen, unseen = splits.seen, splits.unseen
    train_columns = seen if zero_shot else sorted(seen + unseen)
    if config.selection == "gzsl":  # checked on the labels alone, before any image is loaded
        if resume is not None or not zero_shot:
            raise UsageError("--selection gzsl works for fresh zero-shot runs only (no --resume, no upper bounds)")
        held_out = choose_held_out(splits.val.labels, seen, config.val_unseen, config.seed)

    t = time.perf_counter()
    # a frozen backbone's features, cached per image-split part: a hit loads no images at all
    feature_cache = FeatureCache.for_run(config, model, dataset, device)
    pixels = {}  # uint8 images, or the backbone's features when the cache is used
    for part in ("train", "val", "test"):
        ids = getattr(splits, part).ids

        def report(done: int, total: int, _part: str = part) -> None:
            if progress:
                progress(f"load {_part}", done, total, {})

        pixels[part] = (feature_cache.load(part, ids, progress=report) if feature_cache.used
                        else dataset.load_images(ids, progress=report))
    if feature_cache.used:
        use_features(model)  # the model now takes features; best.pt still holds the backbone's weights
    timings["load_images_s"] = time.perf_counter() - t

    if resume_dir is not None:
        run_dir, run_id = Path(resume_dir), Path(resume_dir).name
    elif run_dir is not None:
        run_dir = Path(run_dir)
        run_id = run_dir.name
    else:  # rank 0 alone creates (and names) the run directory, and writes every file in it
        run_id, run_dir = distributed.share(_new_run_dir(Path(config.out), config.to_dict())
                                            if dist.is_main else None, dist)
        folder.claim(run_dir)
    if dist.is_main:
        write_json(run_dir / "config.json", config.to_dict())
    folder.started = True
    all_embeddings = torch.from_numpy(embeddings).to(device)
    class_tensors = {"class_embeddings": torch.from_numpy(embeddings)}

    def save_best(state: dict[str, torch.Tensor], epoch: int) -> None:
        if not dist.is_main:
            return
        # self-describing: all predict/calibrate/report need to rebuild the model (zsbench/checkpoint.py)
        meta = checkpoint_meta(config, dataset, classes, seen, unseen, encoder, embeddings, model,
                               image_size=getattr(dataset, "image_size", 224))
        write_checkpoint(run_dir / "best.pt", state, {**meta, "epoch": epoch}, class_tensors)

    def save_state(state: dict[str, Any]) -> None:
        if not dist.is_main:
            return
        buf = io.BytesIO()
        torch.save(resume_payload(state, config, dataset, dist.world_size), buf)
        atomic_write_bytes(run_dir / "last.pt", buf.getvalue())

    schedule = model.method.lr_schedule
    settings = TrainSettings(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        lr_factor=config.lr_factor if config.lr_factor is not None else schedule.factor,
        lr_patience=config.lr_patience if config.lr_patience is not None else schedule.patience,
        seed=config.seed,
        augment=config.augment,
        max_steps=config.max_steps,
        early_stop=config.early_stop,
        clip_grad=config.clip_grad,
        amp=config.amp,
        channels_last=config.channels_last,
        lr_monitor=schedule.monitor,
    )
    settings = feature_cache.adjust(settings)  # features: no pixel augmentation
    selection: dict[str, Any] = {"kind": config.selection}
    if config.selection == "gzsl":
        held = held_out
        inner = [c for c in seen if c not in held]
        check_training_classes(inner, unseen, allowed=False)
        keep_rows = ~(np.nan_to_num(splits.train.labels[:, held]) > 0).any(axis=1)
        probe_model = _build_model(config, dataset, embeddings.shape[1], len(classes), device)
        if feature_cache.used:
            use_features(probe_model)
        _bind_class_context(probe_model, splits.train.labels[keep_rows], inner, all_embeddings, unseen_texts)
        probe = train(
            probe_model,
            pixels["train"][keep_rows],
            splits.train.labels[keep_rows][:, inner],
            all_embeddings[inner],
            settings,
            validate=harmonic_validator(pixels["val"], splits.val.labels, all_embeddings, inner, held),
            progress=progress,
            dist=dist,
            val_loss=seen_loss_validator(pixels["val"], splits.val.labels[:, inner], all_embeddings[inner]),
        )
        selection.update(
            held_out=[class_names[c] for c in held],
            metric="val_auroc_harmonic",
            chosen_epochs=probe.best_epoch,
            probe_history=probe.history,
            probe_method=probe_model.method.describe(),
        )
        settings = replace(settings, epochs=probe.best_epoch)
    check_training_classes(train_columns, unseen, allowed=not zero_shot)
    _bind_class_context(model, splits.train.labels, train_columns, all_embeddings, unseen_texts)
    train_embeddings = all_embeddings[train_columns]  # the only class texts training sees by default
    outcome = train(
        model,
        pixels["train"],
        splits.train.labels[:, train_columns],
        train_embeddings,
        settings,
        validate=seen_auroc_validator(pixels["val"], splits.val.labels[:, train_columns], train_embeddings),
        progress=progress,
        on_best=save_best,
        keep="best" if config.selection == "val-seen" else "last",
        save_state=save_state,
        resume=resume,
        dist=dist,
        val_loss=seen_loss_validator(pixels["val"], splits.val.labels[:, train_columns], train_embeddings),
    )
    if not dist.is_main:  # rank 0 alone scores the test set and writes results; the others get its result
        return distributed.share(None, dist)
    if config.selection == "gzsl":  # the retrained model's final weights are the ones used
        save_best(model.state_dict(), settings.epochs)
    timings["train_s"] = outcome.seconds

    t = time.perf_counter()
    test_scores = score_images(model, pixels["test"], all_embeddings, progress=progress, stage="test",
                               tta=config.tta)
    coverage = attribute_coverage(classes, split.seen, split.unseen)  # None unless classes have attributes
    covered = fully_covered(coverage)
    metrics = evaluate(test_scores, splits.test.labels, seen, unseen, ks=config.ks,
                       covered=None if covered is None else [class_names.index(n) for n in covered])
    timings["test_s"] = time.perf_counter() - t
    restore_backbone(model)  # the model takes pixels again
    timings["total_s"] = time.perf_counter() - t0

    texts: list[Any] | None = None
    if encoder.uses_text:
        texts = ([list(g) for g in ensemble_groups(classes)] if config.class_text == "ensemble"
                 else class_texts(classes, config.class_text))
    result = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "zsbench_version": __version__,
        "git_hash": git_hash(),
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "seeds": {"seed": config.seed, "data_seed": config.data_seed,
                  # a frozen backbone is initialised from the data seed (its features are cached)
                  "backbone_init_seed": config.data_seed if model.method.frozen_backbone else config.seed},
        "feature_cache": feature_cache.record(),
        "dataset": dataset.describe(),
        "class_split": {**split.to_dict(), "coverage": coverage},
        "classes": {
            "all": class_names,
            "seen": [class_names[i] for i in seen],
            "unseen": [class_names[i] for i in unseen],
            "texts": texts,
        },
        "unseen_texts_in_training": unseen_texts,
        "zero_shot": zero_shot,
        "counts": {**splits.counts(), "missing_images": missing},
        "text_encoder": {**encoder.describe(), "dim": int(embeddings.shape[1])},
        "backbone": {"spec": config.backbone, "preprocess": model.backbone.preprocess.to_dict()},
        "method": model.method.describe(),
        "training": {
            "selection": selection,
            "best_epoch": outcome.best_epoch,
            "best_val_score": outcome.best_val_score,
            "stopped_early": outcome.stopped_early,
            "resumed_from_epoch": resume["epoch"] if resume else None,
            "history": outcome.history,
        },
        "metrics_version": METRICS_VERSION,
        "metrics": metrics,
        "timings": timings,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "world_size": dist.world_size,  # processes of a torchrun run (1: no DDP)
            "backend": dist.backend,  # their process group: nccl or gloo (None with one process)
        },
    }
    write_scores(run_dir / "scores.npz", splits.test.ids, class_names, test_scores, splits.test.labels)
    write_json(run_dir / "result.json", result)
    clear_error(run_dir)
    return distributed.share(RunResult(run_dir, result), dist)
