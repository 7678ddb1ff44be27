"""One benchmark run, from configuration to result files. Library code: returns, never prints."""

from __future__ import annotations

import hashlib
import json
import platform
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench import __version__
from zsbench.data.class_splits import load_class_split
from zsbench.data.protocol import apply_protocol
from zsbench.engine.trainer import ProgressFn, TrainSettings, ZeroShotModel, score_images, train
from zsbench.errors import UsageError
from zsbench.metrics import evaluate
from zsbench.registry import BACKBONES, DATASETS, METHODS, TEXT_ENCODERS, ensure_builtins
from zsbench.results import RESULT_SCHEMA_VERSION, git_hash, write_checkpoint, write_json, write_scores
from zsbench.text.class_texts import CLASS_TEXT_MODES, class_texts


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
    while (out / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    (out / run_id).mkdir(parents=True)
    return run_id, out / run_id


def validate_names(config: Any) -> None:
    """Fail fast, before any work, on names that no registry knows."""
    ensure_builtins()
    for registry, spec in (
        (DATASETS, config.dataset),
        (METHODS, config.method),
        (BACKBONES, config.backbone),
        (TEXT_ENCODERS, config.text_encoder),
    ):
        registry.entry(spec)
    if config.class_text not in CLASS_TEXT_MODES:
        raise UsageError(
            f"unknown --class-text {config.class_text!r}; choose one of {', '.join(CLASS_TEXT_MODES)}"
        )


def run(config: Any, progress: ProgressFn | None = None) -> RunResult:
    """Train and evaluate one (dataset, class split, method, backbone, text encoder, seed)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    validate_names(config)
    device = resolve_device(config.device)

    dataset = DATASETS.create(
        config.dataset, n_images=config.n_images, image_size=config.image_size, seed=config.data_seed
    )
    split = load_class_split(config.split)
    if split.dataset and split.dataset != config.dataset:
        raise UsageError(
            f"class split {split.name!r} is for dataset {split.dataset!r}, not {config.dataset!r}; "
            "pick a split made for this dataset"
        )
    classes = dataset.classes()
    class_names = [c.name for c in classes]
    splits = apply_protocol(dataset.table(), split)
    seen, unseen = splits.seen, splits.unseen

    encoder = TEXT_ENCODERS.create(config.text_encoder, seed=config.seed)
    t = time.perf_counter()
    embeddings = np.asarray(encoder.encode_classes(classes, config.class_text), dtype=np.float32)
    timings["text_encoding_s"] = time.perf_counter() - t

    seed_everything(config.seed)
    backbone = BACKBONES.create(config.backbone, image_size=getattr(dataset, "image_size", 224))
    method = METHODS.create(
        config.method,
        feature_dim=backbone.feature_dim,
        text_dim=embeddings.shape[1],
        options=dict(config.method_options),
    )
    model = ZeroShotModel(backbone, method).to(device)

    t = time.perf_counter()
    pixels = {}
    for part in ("train", "val", "test"):
        ids = getattr(splits, part).ids

        def report(done: int, total: int, _part: str = part) -> None:
            if progress:
                progress(f"load {_part}", done, total, {})

        pixels[part] = dataset.load_images(ids, progress=report)
    timings["load_images_s"] = time.perf_counter() - t

    run_id, run_dir = _new_run_dir(Path(config.out), config.to_dict())
    all_embeddings = torch.from_numpy(embeddings).to(device)
    seen_embeddings = all_embeddings[seen]  # the only class texts training ever sees
    meta = {
        "zsbench_version": __version__,
        "config": config.to_dict(),
        "class_names": class_names,
        "seen": [class_names[i] for i in seen],
        "unseen": [class_names[i] for i in unseen],
    }

    def save_best(state: dict[str, torch.Tensor], epoch: int) -> None:
        write_checkpoint(run_dir / "best.pt", state, {**meta, "epoch": epoch})

    settings = TrainSettings(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        lr_factor=config.lr_factor,
        lr_patience=config.lr_patience,
        seed=config.seed,
        augment=config.augment,
    )
    outcome = train(
        model,
        pixels["train"],
        splits.train.labels[:, seen],
        pixels["val"],
        splits.val.labels[:, seen],
        seen_embeddings,
        settings,
        progress=progress,
        on_best=save_best,
    )
    timings["train_s"] = outcome.seconds

    t = time.perf_counter()
    test_scores = score_images(model, pixels["test"], all_embeddings, progress=progress, stage="test")
    metrics = evaluate(test_scores, splits.test.labels, seen, unseen, ks=config.ks)
    timings["test_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    texts = class_texts(classes, config.class_text) if encoder.uses_text else None
    result = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "zsbench_version": __version__,
        "git_hash": git_hash(),
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "seeds": {"seed": config.seed, "data_seed": config.data_seed},
        "dataset": dataset.describe(),
        "class_split": split.to_dict(),
        "classes": {
            "all": class_names,
            "seen": [class_names[i] for i in seen],
            "unseen": [class_names[i] for i in unseen],
            "texts": texts,
        },
        "unseen_texts_in_training": False,
        "counts": splits.counts(),
        "text_encoder": {**encoder.describe(), "dim": int(embeddings.shape[1])},
        "backbone": {"spec": config.backbone, "preprocess": backbone.preprocess.to_dict()},
        "method": method.describe(),
        "training": {
            "best_epoch": outcome.best_epoch,
            "best_val_auroc_seen": outcome.best_val_auroc_seen,
            "history": outcome.history,
        },
        "metrics": metrics,
        "timings": timings,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": str(device),
            "threads": torch.get_num_threads(),
        },
    }
    write_scores(run_dir / "scores.npz", splits.test.ids, class_names, test_scores, splits.test.labels)
    write_json(run_dir / "result.json", result)
    return RunResult(run_dir, result)
