"""The stages of one run, each a function of the run's :class:`RunContext` that fills the context's
field for it and returns what it added, so that each can be run and tested on its own.

In ``runner.run``'s order (:data:`STAGES`):

- ``resolve``: names, options, device, folder lock, resume state, dataset metadata, class split;
- ``text``: the class embeddings;
- ``model``: backbone + method, from the run seed's initial weights;
- ``data``: the protocol's train/val/test parts (the method says whether it is zero-shot), missing
  images, the held-out classes of a gzsl selection;
- ``inputs``: the images (or a frozen backbone's cached features) and the training settings;
- ``folder``: the run's folder and its ``config.json``;
- ``selection``: the gzsl probe choosing the number of epochs (nothing for val-seen/last);
- ``train``: training on the training columns, ``best.pt`` and ``last.pt`` along the way;
- ``score`` and ``record`` (rank 0 only): test scores and metrics, then ``result.json``.

The order is part of the results: the model stage reseeds torch before building, and nothing
after it may draw from the global generators before training does, or a run would stop being
bitwise identical to runs made before (and to its own resumed continuation).
"""

from __future__ import annotations

import io
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench import __version__
from zsbench.checkpoint import checkpoint_meta
from zsbench.data.coverage import attribute_coverage, fully_covered
from zsbench.data.files import decoding
from zsbench.data.mapped_rows import subset
from zsbench.data.protocol import apply_protocol
from zsbench.engine import distributed
from zsbench.engine.compile import compile_model
from zsbench.engine.distributed import DistContext
from zsbench.engine.feature_cache import FeatureCache, restore_backbone, use_features
from zsbench.engine.selection import choose_held_out, harmonic_validator
from zsbench.engine.train_state import TrainState
from zsbench.engine.trainer import (
    TrainData,
    TrainHooks,
    TrainOutcome,
    ZeroShotModel,
    score_images,
    seen_auroc_validator,
    seen_loss_validator,
    train,
)
from zsbench.errors import UsageError
from zsbench.metrics import METRICS_VERSION, evaluate
from zsbench.progress import stage_counter
from zsbench.recipe import resolve_recipe
from zsbench.registry import TEXT_ENCODERS
from zsbench.result_schema import check_result
from zsbench.results import (
    RESULT_SCHEMA_VERSION,
    as_stored,
    atomic_write_bytes,
    clear_error,
    ensure_folder,
    git_hash,
    write_checkpoint,
    write_json,
    write_scores,
)
from zsbench.resume_state import RESUME_FILE, ResumeState, check_resume_dataset, load_resume_state
from zsbench.run_context import (
    ClassTexts,
    RunContext,
    RunData,
    RunInputs,
    RunParts,
    RunResult,
    Scored,
    Selection,
    need,
)
from zsbench.run_setup import (
    bind_class_context,
    build_model,
    check_training_classes,
    drop_missing_images,
    new_run_dir,
    preflight,
    resolve_device,
    train_settings,
    validate_names,
)
from zsbench.text.class_texts import embedded_texts


def _claim_requested_folder(ctx: RunContext, dist: DistContext) -> None:
    """Lock a folder the caller named (a resume, a sweep's run) before anything is loaded."""
    if ctx.resume_dir is not None:
        if (ctx.resume_dir / "result.json").is_file():
            raise UsageError(f"{ctx.resume_dir} is a finished run (it has result.json); there is nothing to resume "
                             "(`zsbench rescore` recomputes its metrics; start a new run to train again)")
        ctx.folder.claim(ctx.resume_dir)
    elif ctx.target_dir is not None:
        ctx.folder.claim(ctx.target_dir)  # rank 0's lock creates the folder
    elif dist.is_main:
        ensure_folder(Path(ctx.config.out), "--out")


def resolve_stage(ctx: RunContext) -> RunParts:
    """Every check that needs no text and no image, so a bad name or flag is refused at once."""
    config = ctx.config
    validate_names(config)
    dist = distributed.current()  # one of several processes under torchrun, else the only one
    distributed.local_batch_size(config.batch_size, dist)  # global batches must split evenly: check first
    device = distributed.pin_device(resolve_device(config.device), dist)
    _claim_requested_folder(ctx, dist)
    resume = load_resume_state(ctx.resume_dir, config, dist.world_size) if ctx.resume_dir is not None else None
    dataset, split, classes = preflight(config)
    if resume is not None and ctx.resume_dir is not None:
        check_resume_dataset(resume, dataset, ctx.resume_dir)
    recipe = resolve_recipe(config, dataset.real_images)
    ctx.parts = RunParts(dist, device, dataset, split, classes, resume, recipe)
    return ctx.parts


def text_stage(ctx: RunContext) -> ClassTexts:
    """Every class's embedding (C x d), timed: the only place the run reads class texts."""
    config, parts = ctx.config, need(ctx.parts, "resolve")
    encoder = TEXT_ENCODERS.create(config.text_encoder, seed=config.seed,
                                   **TEXT_ENCODERS.check_options(config.text_encoder, config.text_options))
    t = time.perf_counter()
    embeddings = np.asarray(encoder.encode_classes(parts.classes, config.class_text), dtype=np.float32)
    ctx.timings["text_encoding_s"] = time.perf_counter() - t
    ctx.texts = ClassTexts(encoder, embeddings)
    return ctx.texts


def model_stage(ctx: RunContext) -> ZeroShotModel:
    """Backbone + method sized for the embeddings and classes. ``build_model`` reseeds torch first,
    so the initial weights depend on the seed alone, whatever the stages before it drew."""
    parts, texts = need(ctx.parts, "resolve"), need(ctx.texts, "text")
    ctx.model = build_model(ctx.config, parts.dataset, texts.embeddings.shape[1], len(parts.classes), parts.device,
                            channels=parts.recipe.channels)
    if ctx.config.compile:
        ctx.compiled = compile_model(ctx.model, parts.device)
    return ctx.model


def data_stage(ctx: RunContext) -> RunData:
    """The protocol's parts. An upper bound that is not zero-shot trains on every class, so it
    keeps unseen-label images; the gzsl selection's held-out classes are checked on the labels
    alone, before any image is loaded."""
    config, parts, model = ctx.config, need(ctx.parts, "resolve"), need(ctx.model, "model")
    zero_shot = model.method.zero_shot
    splits = apply_protocol(parts.dataset.table(), parts.split, inductive=zero_shot)
    missing = drop_missing_images(parts.dataset, splits, config.allow_missing)
    train_columns = splits.seen if zero_shot else sorted(splits.seen + splits.unseen)
    held_out = None
    if config.selection == "gzsl":
        if not model.method.trained_on_labels:
            raise UsageError(f"--selection gzsl chooses training epochs; {config.method} is training-free")
        if parts.resume is not None or not zero_shot:
            raise UsageError("--selection gzsl works for fresh zero-shot runs only (no --resume, no upper bounds)")
        held_out = choose_held_out(splits.val.labels, splits.seen, config.val_unseen, config.seed)
    ctx.data = RunData(splits, missing, train_columns, held_out)
    return ctx.data


def loaded_parts(model: ZeroShotModel) -> tuple[str, ...]:
    """The image-split parts a run loads: a training-free method needs only the test images."""
    return ("train", "val", "test") if model.method.trained_on_labels else ("test",)


def inputs_stage(ctx: RunContext) -> RunInputs:
    """Images per part; for a frozen backbone its features instead, cached per image-split part
    (a cache hit loads no image at all)."""
    config, parts, model = ctx.config, need(ctx.parts, "resolve"), need(ctx.model, "model")
    data, texts = need(ctx.data, "data"), need(ctx.texts, "text")
    t = time.perf_counter()
    feature_cache = FeatureCache.for_run(config, model, parts.dataset, parts.device, tta=parts.recipe.tta)
    pixels = {}
    with decoding(parts.dataset):  # without a pixel cache, the parts share one set of decode workers
        for part in loaded_parts(model):
            ids = getattr(data.splits, part).ids
            count = stage_counter(ctx.progress, f"load {part}")
            pixels[part] = (feature_cache.load(part, ids, progress=count) if feature_cache.used
                            else parts.dataset.load_images(ids, progress=count))
    if feature_cache.used:
        use_features(model)  # the model now takes features; best.pt still holds the backbone's weights
    ctx.timings["load_images_s"] = time.perf_counter() - t
    settings = train_settings(config, model.method.lr_schedule, parts.recipe.augment)
    settings = feature_cache.adjust(settings)  # features: no augmentation
    embeddings = torch.from_numpy(texts.embeddings).to(parts.device)
    ctx.inputs = RunInputs(feature_cache, pixels, embeddings, settings)
    return ctx.inputs


def folder_stage(ctx: RunContext) -> Path:
    """The run's folder, and its config.json: from here on a failure leaves error.txt there. A
    fresh run's folder is made only now, so a run refused while loading leaves no folder behind."""
    parts = need(ctx.parts, "resolve")
    if ctx.resume_dir is not None:
        run_dir = ctx.resume_dir
    elif ctx.target_dir is not None:
        run_dir = ctx.target_dir
    else:  # rank 0 alone creates (and names) the run directory, and writes every file in it
        _, run_dir = distributed.share(new_run_dir(Path(ctx.config.out), ctx.config.to_dict())
                                       if parts.dist.is_main else None, parts.dist)
        ctx.folder.claim(run_dir)
    if parts.dist.is_main:
        write_json(run_dir / "config.json", ctx.config.to_dict())
    ctx.folder.started = True
    ctx.run_id, ctx.run_dir = run_dir.name, run_dir
    return run_dir


def save_best(ctx: RunContext, state: dict[str, torch.Tensor], epoch: int) -> None:
    """``best.pt``: the weights with all that predict, calibrate and report need to rebuild the
    model (zsbench/checkpoint.py). Rank 0 alone writes."""
    parts, texts, model = need(ctx.parts, "resolve"), need(ctx.texts, "text"), need(ctx.model, "model")
    data, run_dir = need(ctx.data, "data"), need(ctx.run_dir, "folder")
    if not parts.dist.is_main:
        return
    meta = checkpoint_meta(ctx.config, parts.dataset, parts.classes, data.seen, data.unseen, texts.encoder,
                           texts.embeddings, model, image_size=parts.dataset.image_size,
                           channels=parts.recipe.channels)
    write_checkpoint(run_dir / "best.pt", state, {**meta, "epoch": epoch},
                     {"class_embeddings": torch.from_numpy(texts.embeddings)})


def save_state(ctx: RunContext, state: TrainState) -> None:
    """``last.pt``, written whole or not at all: what ``--resume`` continues from."""
    parts, run_dir = need(ctx.parts, "resolve"), need(ctx.run_dir, "folder")
    if not parts.dist.is_main:
        return
    buf = io.BytesIO()
    torch.save(ResumeState.of_run(state, ctx.config, parts.dataset, parts.dist.world_size).to_payload(), buf)
    atomic_write_bytes(run_dir / RESUME_FILE, buf.getvalue())


def _bind_columns(ctx: RunContext, model: ZeroShotModel, columns: list[int], rows: np.ndarray | None = None,
                  validate: Callable[[ZeroShotModel], float] | None = None, **hooks: Any) -> TrainHooks:
    """Show ``model`` its class context from the training ``columns`` (and training ``rows``), and
    the hooks that train it on them: validation by those columns' mean AUROC unless ``validate``
    is given, the validation loss for schedules that watch it, the run's progress."""
    data, inputs = need(ctx.data, "data"), need(ctx.inputs, "inputs")
    train_labels = data.splits.train.labels if rows is None else data.splits.train.labels[rows]
    bind_class_context(model, train_labels, columns, inputs.embeddings, bool(model.method.unseen_texts_in_training))
    embeddings = inputs.embeddings[columns]  # the only class texts training sees by default
    val_pixels, val_labels = inputs.pixels["val"], data.splits.val.labels[:, columns]
    return TrainHooks(validate=validate or seen_auroc_validator(val_pixels, val_labels, embeddings),
                      val_loss=seen_loss_validator(val_pixels, val_labels, embeddings),
                      progress=ctx.progress, **hooks)


def _train_data(ctx: RunContext, columns: list[int], rows: np.ndarray | None = None) -> TrainData:
    data, inputs = need(ctx.data, "data"), need(ctx.inputs, "inputs")
    pixels, labels = inputs.pixels["train"], data.splits.train.labels
    if rows is not None:  # a mapped cache's rows stay mapped
        pixels, labels = subset(pixels, rows), labels[rows]
    return TrainData(pixels, labels[:, columns], inputs.embeddings[columns])


def selection_stage(ctx: RunContext) -> Selection:
    """With ``--selection gzsl``, a probe trained without the held-out seen classes (and without
    their positive images) picks the number of epochs by validation harmonic AUROC."""
    config, parts = ctx.config, need(ctx.parts, "resolve")
    data, inputs, texts = need(ctx.data, "data"), need(ctx.inputs, "inputs"), need(ctx.texts, "text")
    if config.selection != "gzsl" or data.held_out is None:
        ctx.selection = Selection({"kind": config.selection}, inputs.settings)
        return ctx.selection
    held = data.held_out
    inner = [c for c in data.seen if c not in held]
    check_training_classes(inner, data.unseen, allowed=False)
    keep_rows = ~(np.nan_to_num(data.splits.train.labels[:, held]) > 0).any(axis=1)
    probe_model = build_model(config, parts.dataset, texts.embeddings.shape[1], len(parts.classes), parts.device,
                              channels=parts.recipe.channels)
    if inputs.feature_cache.used:
        use_features(probe_model)
    validate = harmonic_validator(inputs.pixels["val"], data.splits.val.labels, inputs.embeddings, inner, held)
    hooks = _bind_columns(ctx, probe_model, inner, keep_rows, validate=validate)
    probe = train(probe_model, _train_data(ctx, inner, keep_rows), replace(inputs.settings, keep="best"), hooks,
                  dist=parts.dist)
    record = {"kind": config.selection, "held_out": [parts.class_names[c] for c in held],
              "metric": "val_auroc_harmonic", "chosen_epochs": probe.best_epoch, "probe_history": probe.history,
              "probe_method": probe_model.method.describe()}
    ctx.selection = Selection(record, replace(inputs.settings, epochs=probe.best_epoch))
    return ctx.selection


def training_free_stage(ctx: RunContext) -> TrainOutcome:
    """A method not trained on labels: no training step at all; ``best.pt`` holds the weights as
    built (epoch 0), so predict, calibrate and report use it like any run's."""
    model = need(ctx.model, "model")
    need(ctx.selection, "selection")
    save_best(ctx, model.state_dict(), 0)
    ctx.outcome = TrainOutcome(best_epoch=0, best_val_score=float("nan"))
    ctx.timings["train_s"] = 0.0
    return ctx.outcome


def train_stage(ctx: RunContext) -> TrainOutcome:
    """Train the run's model on the training columns (the seen classes of a zero-shot method)."""
    parts, data, model = need(ctx.parts, "resolve"), need(ctx.data, "data"), need(ctx.model, "model")
    if not model.method.trained_on_labels:
        return training_free_stage(ctx)
    selection = need(ctx.selection, "selection")
    check_training_classes(data.train_columns, data.unseen, allowed=not model.method.zero_shot)
    hooks = _bind_columns(ctx, model, data.train_columns, on_best=partial(save_best, ctx),
                           save_state=partial(save_state, ctx))
    resume = parts.resume.train if parts.resume is not None else None
    ctx.outcome = train(model, _train_data(ctx, data.train_columns), selection.settings, hooks, resume=resume,
                        dist=parts.dist)
    if ctx.config.selection == "gzsl":  # the retrained model's final weights are the ones used
        save_best(ctx, model.state_dict(), selection.settings.epochs)
    ctx.timings["train_s"] = ctx.outcome.seconds
    return ctx.outcome


def score_stage(ctx: RunContext) -> Scored:
    """Scores of every test image against ALL class embeddings, and the metrics; afterwards the
    model takes pixels again (a frozen backbone's stand-in is swapped back)."""
    config, parts, model = ctx.config, need(ctx.parts, "resolve"), need(ctx.model, "model")
    data, inputs = need(ctx.data, "data"), need(ctx.inputs, "inputs")
    t = time.perf_counter()
    scores = score_images(model, inputs.pixels["test"], inputs.embeddings, progress=ctx.progress, stage="test",
                          tta=parts.recipe.tta)
    coverage = attribute_coverage(parts.classes, parts.split.seen, parts.split.unseen)  # None without attributes
    covered = fully_covered(coverage)
    metrics = evaluate(scores, data.splits.test.labels, data.seen, data.unseen, ks=config.ks,
                       covered=None if covered is None else [parts.class_names.index(n) for n in covered])
    ctx.timings["test_s"] = time.perf_counter() - t
    restore_backbone(model)  # the model takes pixels again
    ctx.timings["total_s"] = time.perf_counter() - ctx.started
    ctx.scored = Scored(scores, metrics, coverage)
    return ctx.scored


def _recorded_texts(ctx: RunContext) -> list[Any] | None:
    """The class texts the encoder embedded (None for encoders that ignore text)."""
    parts, texts = need(ctx.parts, "resolve"), need(ctx.texts, "text")
    return embedded_texts(parts.classes, ctx.config.class_text) if texts.encoder.uses_text else None


def _training_record(ctx: RunContext) -> dict[str, Any]:
    parts, outcome = need(ctx.parts, "resolve"), need(ctx.outcome, "train")
    return {
        "selection": need(ctx.selection, "selection").record,
        "best_epoch": outcome.best_epoch,
        "best_val_score": outcome.best_val_score,
        "stopped_early": outcome.stopped_early,
        "resumed_from_epoch": parts.resume.train.epoch if parts.resume is not None else None,
        "history": outcome.history,
    }


def _environment_record(parts: RunParts) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(parts.device),
        "threads": torch.get_num_threads(),
        "world_size": parts.dist.world_size,  # processes of a torchrun run (1: no DDP)
        "backend": parts.dist.backend,  # their process group: nccl or gloo (None with one process)
    }


def result_document(ctx: RunContext) -> dict[str, Any]:
    """``result.json``: everything the run decided and measured, from a context the score stage filled."""
    config, model = ctx.config, need(ctx.model, "model")
    parts, texts = need(ctx.parts, "resolve"), need(ctx.texts, "text")
    data, inputs, scored = need(ctx.data, "data"), need(ctx.inputs, "inputs"), need(ctx.scored, "score")
    names = parts.class_names
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "zsbench_version": __version__,
        "git_hash": git_hash(),
        "run_id": need(ctx.run_id, "folder"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "seeds": {"seed": config.seed, "data_seed": config.data_seed,
                  # a frozen backbone is initialised from the data seed (its features are cached)
                  "backbone_init_seed": config.data_seed if model.method.frozen_backbone else config.seed},
        # the input recipe with every auto resolved; cached frozen features are not augmented
        "recipe": {**parts.recipe.to_dict(), "augment_applied": inputs.settings.augment},
        "compile": None if ctx.compiled is None else ctx.compiled.to_dict(),
        "feature_cache": inputs.feature_cache.record(),
        "dataset": parts.dataset.describe(),
        "class_split": {**parts.split.to_dict(), "coverage": scored.coverage},
        "classes": {"all": names, "seen": [names[i] for i in data.seen], "unseen": [names[i] for i in data.unseen],
                    "texts": _recorded_texts(ctx)},
        "unseen_texts_in_training": bool(model.method.unseen_texts_in_training),
        "zero_shot": model.method.zero_shot,
        "trained_on_labels": bool(model.method.trained_on_labels),
        "counts": {**data.splits.counts(), "missing_images": data.missing},
        "text_encoder": {**texts.encoder.describe(), "dim": int(texts.embeddings.shape[1])},
        "backbone": {"spec": config.backbone, "preprocess": model.backbone.preprocess.to_dict()},
        "method": model.method.describe(),
        "training": _training_record(ctx),
        "metrics_version": METRICS_VERSION,
        "metrics": scored.metrics,
        "timings": ctx.timings,
        "environment": _environment_record(parts),
    }


def record_stage(ctx: RunContext) -> RunResult:
    """``scores.npz`` and ``result.json`` (each written whole or not at all, result.json last: its
    presence marks a complete run), then a stale ``error.txt`` of an earlier attempt goes."""
    parts, data, scored = need(ctx.parts, "resolve"), need(ctx.data, "data"), need(ctx.scored, "score")
    run_dir = need(ctx.run_dir, "folder")
    result = result_document(ctx)
    check_result(as_stored(result))  # a field that drifts from result.json's schema fails here, in its own run
    test = data.splits.test
    write_scores(run_dir / "scores.npz", test.ids, parts.class_names, scored.scores, test.labels)
    write_json(run_dir / "result.json", result)
    clear_error(run_dir)
    ctx.result = RunResult(run_dir, result)
    return ctx.result


#: the stages every rank runs, in order; then rank 0 alone scores and records (:data:`MAIN_STAGES`)
STAGES: tuple[Callable[[RunContext], Any], ...] = (
    resolve_stage, text_stage, model_stage, data_stage, inputs_stage, folder_stage, selection_stage, train_stage,
)
MAIN_STAGES: tuple[Callable[[RunContext], Any], ...] = (score_stage, record_stage)
