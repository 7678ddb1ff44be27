"""Training and scoring: backbone + method on seen classes, best model by validation seen AUROC."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.backbones.base import Backbone, prepare_batch
from zsbench.data.mapped_rows import Pixels
from zsbench.engine import distributed
from zsbench.engine.augment import augment_batch
from zsbench.engine.distributed import DistContext
from zsbench.engine.prefetch import Prefetcher
from zsbench.engine.train_state import TrainState
from zsbench.errors import TrainingError
from zsbench.methods.base import Method
from zsbench.metrics import auroc
from zsbench.progress import ProgressEvent, ProgressFn


def backbone_features(backbone: nn.Module, kind: str, x: torch.Tensor) -> torch.Tensor:
    """What a method of ``feature_kind`` ``kind`` consumes: the spatial map or pooled features."""
    return backbone.forward_features(x) if kind == "map" else backbone(x)


class ZeroShotModel(nn.Module):
    """Backbone followed by a method head."""

    def __init__(self, backbone: Backbone, method: Method) -> None:
        super().__init__()
        self.backbone = backbone
        self.method = method

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """What the method consumes: pooled features or the spatial feature map."""
        return backbone_features(self.backbone, self.method.feature_kind, x)

    def forward(self, pixels: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        x = prepare_batch(pixels, self.backbone.preprocess)
        return self.method(self.features(x), class_embeddings)

    def loss(self, x: torch.Tensor, class_embeddings: torch.Tensor,
             labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The method's training loss on prepared images ``x`` (training and validation alike)."""
        return self.method.loss(self.features(x), class_embeddings, labels)


def create_model(
    backbone_spec: str,
    method_name: str,
    method_options: dict[str, Any],
    *,
    image_size: int,
    text_dim: int,
    n_classes: int,
    pretrained: bool,
    weights: str | None = None,
    channels: int = 1,
) -> ZeroShotModel:
    """Backbone and method from the registries, wired together: the one recipe that training
    (the runner) and reloading a checkpoint both follow, so they cannot drift apart."""
    from zsbench.registry import BACKBONES, METHODS

    # only a 3-channel input is asked for by name: backbones that cannot take it (and older plugins)
    # keep their signature
    extra = {"channels": channels} if channels != 1 else {}
    backbone = BACKBONES.create(backbone_spec, image_size=image_size, pretrained=pretrained, weights=weights, **extra)
    method = METHODS.create(
        method_name,
        feature_dim=backbone.feature_dim,
        feature_map_dim=backbone.feature_map_dim,
        text_dim=text_dim,
        n_classes=n_classes,
        options=dict(method_options),
    )
    return ZeroShotModel(backbone, method)


@dataclass
class TrainSettings:
    """How to train, apart from the data and the hooks: the run's flags and the method's schedule,
    gathered in one value that a sweep, the feature cache (``adjust``) or a probe can replace."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    lr_factor: float
    lr_patience: int
    seed: int
    augment: str = "shift"  # shift | paper | none (engine/augment.py)
    max_steps: int | None = None  # stop after this many optimizer steps (instead of all epochs)
    early_stop: int | None = None  # stop after this many epochs without a better val score
    clip_grad: float | None = None  # max gradient norm
    amp: bool = False  # autocast: bf16 where supported, fp16 on other GPUs
    channels_last: bool = False
    lr_monitor: str = "val_score"  # what ReduceLROnPlateau watches: val_score (up) or val_loss (down)
    keep: str = "best"  # the weights left loaded after training: the best epoch's, or the last ones


@dataclass
class TrainOutcome:
    best_epoch: int
    best_val_score: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False


def ten_crops(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    """Four corners and the centre of an image batch larger than ``size``, and their mirror images."""
    h, w = x.shape[-2:]
    corners = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), ((h - size) // 2, (w - size) // 2)]
    crops = [x[..., t : t + size, s : s + size] for t, s in corners]
    return crops + [c.flip(-1) for c in crops]


@torch.no_grad()
def score_images(
    model: ZeroShotModel,
    pixels: Pixels,
    class_embeddings: torch.Tensor,
    batch_size: int = 128,
    progress: ProgressFn | None = None,
    stage: str = "score",
    tta: str = "none",
) -> np.ndarray:
    """Scores (n, C) of every image against every given class embedding.

    ``tta="tencrop"``: as in the paper's test protocol (Resize(256) + TenCrop(224)), images are
    enlarged by 256/224 and the scores of the ten crops are averaged.
    """
    if tta not in ("none", "tencrop"):
        raise ValueError(f"unknown test-time augmentation {tta!r}")
    model.eval()
    device = class_embeddings.device
    size = model.backbone.preprocess.input_size
    out = []
    starts = range(0, len(pixels), batch_size)
    # the next batches are read (from a mapped cache: from disk) while this one is scored
    with Prefetcher(pixels, [slice(start, start + batch_size) for start in starts], device) as gathered:
        for start, batch in zip(starts, gathered, strict=True):
            out.append(_score_batch(model, batch, class_embeddings, tta, size))
            if progress:
                progress(ProgressEvent(stage, min(start + batch_size, len(pixels)), len(pixels)))
    return np.concatenate(out) if out else np.zeros((0, len(class_embeddings)), dtype=np.float32)


def _score_batch(model: ZeroShotModel, batch: torch.Tensor, class_embeddings: torch.Tensor, tta: str,
                 size: int) -> np.ndarray:
    """Scores of one batch on the device: as it is, or averaged over the ten crops of the enlarged images."""
    if tta == "tencrop":
        big = round(size * 256 / 224)
        enlarged = nn.functional.interpolate(batch.float(), size=(big, big), mode="bilinear", antialias=True)
        enlarged = enlarged.round().clamp(0, 255).to(torch.uint8)
        scores = torch.stack([model(crop, class_embeddings).float() for crop in ten_crops(enlarged, size)])
        return scores.mean(0).cpu().numpy()
    return model(batch, class_embeddings).float().cpu().numpy()


def _val_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    values = [auroc(scores[:, c], labels[:, c]) for c in range(labels.shape[1])]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def seen_auroc_validator(
    val_pixels: Pixels, val_labels: np.ndarray, seen_embeddings: torch.Tensor
) -> Callable[[ZeroShotModel], float]:
    """Model selection by the mean validation AUROC over the training (seen) classes."""

    def validate(model: ZeroShotModel) -> float:
        return _val_auroc(score_images(model, val_pixels, seen_embeddings), val_labels)

    return validate


def seen_loss_validator(
    val_pixels: Pixels, val_labels: np.ndarray, seen_embeddings: torch.Tensor, batch_size: int = 64
) -> Callable[[ZeroShotModel], float]:
    """The method's training loss on the validation images (eval mode, no augmentation), averaged
    over images; for schedules that watch the validation loss."""
    labels_t = torch.from_numpy(val_labels.astype(np.float32))

    @torch.no_grad()
    def loss_on_val(model: ZeroShotModel) -> float:
        was_training = model.training
        model.eval()
        device = seen_embeddings.device
        total, count = 0.0, 0
        for start in range(0, len(val_pixels), batch_size):
            pixels = torch.from_numpy(val_pixels[start : start + batch_size]).to(device)
            x = prepare_batch(pixels, model.backbone.preprocess)
            loss, _parts = model.loss(x, seen_embeddings, labels_t[start : start + batch_size].to(device))
            total += float(loss) * len(pixels)
            count += len(pixels)
        model.train(was_training)
        return total / max(count, 1)

    return loss_on_val


def autocast_for(device: torch.device, enabled: bool) -> tuple[AbstractContextManager, torch.dtype | None]:
    """bf16 autocast on CPUs and GPUs that support it, fp16 on other GPUs; nothing when disabled."""
    if not enabled:
        return nullcontext(), None
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.bfloat16
    return torch.autocast(device.type, dtype=dtype), dtype



@dataclass(frozen=True)
class TrainData:
    """What training sees: the training images (uint8 pixels, or a frozen backbone's cached
    features), their labels over the training columns (NaN = unknown) and those columns' class
    embeddings only, so unseen class texts cannot reach training through this function."""

    pixels: Pixels  # an array, or a mapped cache's rows (read per batch by the prefetcher)
    labels: np.ndarray
    class_embeddings: torch.Tensor


@dataclass(frozen=True)
class TrainHooks:
    """How training talks to its caller.

    - ``validate(model)``: the epoch's validation score (higher is better); it selects the best
      epoch and, with ``lr_monitor == "val_score"``, drives the learning-rate schedule;
    - ``val_loss(model)``: the validation loss, needed when ``lr_monitor == "val_loss"`` (as the
      public CXR-ML-GZSL code schedules), while selection still follows ``validate``;
    - ``on_best(weights, epoch)``: called whenever an epoch beats the best so far;
    - ``save_state(state)``: called after every epoch with everything needed to continue exactly;
    - ``progress``: a ``train`` event per optimizer step and an ``epoch`` event per epoch.
    """

    validate: Callable[[ZeroShotModel], float]
    val_loss: Callable[[ZeroShotModel], float] | None = None
    on_best: Callable[[dict[str, torch.Tensor], int], None] | None = None
    save_state: Callable[[TrainState], None] | None = None
    progress: ProgressFn | None = None


@dataclass
class _Optimisation:
    """The parts of one training that step: parameters, optimizer, schedule, generator, precision."""

    trainable: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    generator: torch.Generator  # batch order and augmentation draws, nothing else
    autocast: AbstractContextManager
    scaler: torch.amp.GradScaler | None  # fp16 autocast only


@dataclass
class _Loop:
    """What changes from epoch to epoch; exactly what a TrainState saves and restores."""

    outcome: TrainOutcome
    best_state: dict[str, torch.Tensor]
    first_epoch: int = 0
    since_best: int = 0
    steps: int = 0


@dataclass
class _Batches:
    """The training data on the device, cut into the same batches on every rank."""

    data: TrainData
    labels: torch.Tensor
    per_epoch: int  # optimizer steps per epoch
    total_steps: int  # for progress: all epochs, or the max_steps budget
    step_loss: distributed.LossFn


def _check(settings: TrainSettings, hooks: TrainHooks) -> None:
    if settings.lr_monitor not in ("val_score", "val_loss"):
        raise ValueError(f"lr_monitor must be val_score or val_loss, not {settings.lr_monitor!r}")
    if settings.lr_monitor == "val_loss" and hooks.val_loss is None:
        raise ValueError("lr_monitor val_loss needs a val_loss function")
    if settings.keep not in ("best", "last"):
        raise ValueError(f"keep must be best or last, not {settings.keep!r}")


def _optimisation(model: ZeroShotModel, settings: TrainSettings, device: torch.device) -> _Optimisation:
    generator = torch.Generator().manual_seed(settings.seed)
    trainable = [p for name, p in model.named_parameters()
                 if not (model.method.frozen_backbone and name.startswith("backbone."))]
    optimizer = torch.optim.Adam(trainable, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min" if settings.lr_monitor == "val_loss" else "max",
        factor=settings.lr_factor, patience=settings.lr_patience
    )
    autocast, amp_dtype = autocast_for(device, settings.amp)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    return _Optimisation(trainable, optimizer, scheduler, generator, autocast, scaler)


def _restore(model: ZeroShotModel, opt: _Optimisation, loop: _Loop, state: TrainState) -> None:
    """Continue from ``state``: weights, optimizer, schedule, best so far and both random
    generators, so the remaining epochs draw exactly what an uninterrupted run would have drawn."""
    model.load_state_dict(state.model)
    opt.optimizer.load_state_dict(state.optimizer)
    opt.scheduler.load_state_dict(state.scheduler)
    opt.generator.set_state(state.generator)
    torch.set_rng_state(state.torch_rng)
    loop.best_state = state.best_state
    loop.outcome.best_epoch, loop.outcome.best_val_score = state.best_epoch, state.best_val_score
    loop.outcome.history = list(state.history)
    loop.first_epoch, loop.since_best, loop.steps = state.epoch, state.since_best, state.steps


def _batches(model: ZeroShotModel, data: TrainData, settings: TrainSettings, dist: DistContext) -> _Batches:
    # NaN (unknown) labels stay NaN: the losses treat them as neither positive nor negative
    labels = torch.from_numpy(data.labels.astype(np.float32)).to(data.class_embeddings.device)
    per_epoch = max(1, len(data.pixels) // settings.batch_size)  # drop the ragged last batch: BatchNorm needs > 1
    local = distributed.local_batch_size(settings.batch_size, dist)
    # the method's loss, DDP-wrapped on several ranks; a first batch shows DDP which parameters go unused
    step_loss = distributed.loss_function(model, dist, (data.pixels[:local], data.class_embeddings, labels[:local]))
    total = settings.epochs * per_epoch if settings.max_steps is None else settings.max_steps
    return _Batches(data, labels, per_epoch, total, step_loss)


def _out_of_steps(settings: TrainSettings, loop: _Loop) -> bool:
    return settings.max_steps is not None and loop.steps >= settings.max_steps


def _step(model: ZeroShotModel, opt: _Optimisation, batches: _Batches, settings: TrainSettings,
          idx: torch.Tensor, pixels: torch.Tensor, where: str) -> float:
    """One optimizer step on the images ``idx`` (this rank's part of the batch), whose pixels the
    prefetcher gathered onto the device; its loss."""
    device = batches.data.class_embeddings.device
    pixels = augment_batch(settings.augment, pixels, opt.generator)
    x = prepare_batch(pixels, model.backbone.preprocess)
    if settings.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with opt.autocast:
        loss, _parts = batches.step_loss(x, batches.data.class_embeddings, batches.labels[idx.to(device)])
    if not torch.isfinite(loss):
        raise TrainingError(
            f"loss became {loss.item()} at {where}; lower --lr "
            "(the weights of the last completed epoch are kept in the run directory)"
        )
    opt.optimizer.zero_grad(set_to_none=True)
    if opt.scaler is not None:
        opt.scaler.scale(loss).backward()
        opt.scaler.unscale_(opt.optimizer)
    else:
        loss.backward()
    if settings.clip_grad:
        nn.utils.clip_grad_norm_(opt.trainable, settings.clip_grad)
    if opt.scaler is not None:
        opt.scaler.step(opt.optimizer)
        opt.scaler.update()
    else:
        opt.optimizer.step()
    return loss.item()


def _train_epoch(model: ZeroShotModel, opt: _Optimisation, batches: _Batches, settings: TrainSettings,
                 loop: _Loop, epoch: int, dist: DistContext, progress: ProgressFn | None) -> float:
    """One epoch's steps (fewer when the step budget runs out); this rank's mean training loss."""
    model.train()
    if model.method.frozen_backbone:
        model.backbone.eval()  # BatchNorm statistics stay as they are too
    # the epoch's order is drawn first, then each step's augmentation, from the one generator:
    # this order of draws is what a resumed run replays
    order = torch.randperm(len(batches.data.pixels), generator=opt.generator)
    steps = batches.per_epoch
    if settings.max_steps is not None:  # the step budget may end this epoch early
        steps = max(0, min(steps, settings.max_steps - loop.steps))
    size = settings.batch_size
    # this rank's part of each global batch, all known now: the prefetcher gathers ahead of the steps
    indices = [distributed.shard(order[step * size : (step + 1) * size], dist) for step in range(steps)]
    device = batches.data.class_embeddings.device
    total, taken = 0.0, 0
    with Prefetcher(batches.data.pixels, [idx.numpy() for idx in indices], device) as gathered:
        for step, pixels in enumerate(gathered):
            loss_value = _step(model, opt, batches, settings, indices[step], pixels,
                               f"epoch {epoch + 1} step {step + 1}")
            total += loss_value
            taken += 1
            loop.steps += 1
            if progress:
                done = min(loop.steps, batches.total_steps)
                progress(ProgressEvent("train", done, batches.total_steps, {"loss": loss_value}))
    return total / max(taken, 1)


def _validate_and_schedule(model: ZeroShotModel, opt: _Optimisation, settings: TrainSettings, hooks: TrainHooks,
                           dist: DistContext) -> tuple[float, dict[str, float]]:
    """The epoch's validation score (rank 0's, for all ranks) after the schedule has stepped on
    what it monitors; with ``lr_monitor == "val_loss"`` also that loss."""
    val_score = distributed.agree(lambda: hooks.validate(model), dist)
    extra: dict[str, float] = {}
    if settings.lr_monitor == "val_loss":
        assert hooks.val_loss is not None  # checked before training began
        val_loss = hooks.val_loss
        loss_now = distributed.agree(lambda: val_loss(model), dist)
        opt.scheduler.step(loss_now if math.isfinite(loss_now) else math.inf)
        extra["val_loss"] = loss_now
    else:
        opt.scheduler.step(val_score if not math.isnan(val_score) else -1.0)
    return val_score, extra


def _keep_if_best(model: ZeroShotModel, loop: _Loop, val_score: float, epoch: int, hooks: TrainHooks) -> None:
    if val_score > loop.outcome.best_val_score:
        loop.outcome.best_val_score, loop.outcome.best_epoch = val_score, epoch + 1
        loop.best_state = copy.deepcopy(model.state_dict())
        loop.since_best = 0
        if hooks.on_best is not None:
            hooks.on_best(loop.best_state, epoch + 1)
    else:
        loop.since_best += 1


def _snapshot(model: ZeroShotModel, opt: _Optimisation, loop: _Loop, epoch: int) -> TrainState:
    """The state after ``epoch`` (0-based) finished, taken after the epoch's validation so that the
    global generator is saved as the next epoch will find it."""
    return TrainState(
        epoch=epoch + 1, steps=loop.steps, since_best=loop.since_best,
        model=model.state_dict(), optimizer=opt.optimizer.state_dict(), scheduler=opt.scheduler.state_dict(),
        generator=opt.generator.get_state(), torch_rng=torch.get_rng_state(), best_state=loop.best_state,
        best_epoch=loop.outcome.best_epoch, best_val_score=loop.outcome.best_val_score,
        history=loop.outcome.history,
    )


def _end_epoch(model: ZeroShotModel, opt: _Optimisation, settings: TrainSettings, hooks: TrainHooks,
               loop: _Loop, epoch: int, train_loss: float, dist: DistContext) -> bool:
    """Validate, schedule, record, keep the best and save the state; True when training stops here."""
    val_score, extra = _validate_and_schedule(model, opt, settings, hooks, dist)
    record = {"epoch": epoch + 1, "train_loss": distributed.mean_over_ranks(train_loss, dist),
              "val_score": val_score, **extra, "lr": opt.optimizer.param_groups[0]["lr"]}
    loop.outcome.history.append(record)
    if hooks.progress:
        hooks.progress(ProgressEvent("epoch", epoch + 1, settings.epochs, record))
    _keep_if_best(model, loop, val_score, epoch, hooks)
    if hooks.save_state is not None:
        hooks.save_state(_snapshot(model, opt, loop, epoch))
    if settings.early_stop and loop.since_best >= settings.early_stop:
        loop.outcome.stopped_early = True
        return True
    return _out_of_steps(settings, loop)


def train(model: ZeroShotModel, data: TrainData, settings: TrainSettings, hooks: TrainHooks,
          resume: TrainState | None = None, dist: DistContext | None = None) -> TrainOutcome:
    """Train on ``data`` (seen classes only, unless the caller is an upper bound); the best epoch
    by ``hooks.validate`` is recorded, and ``settings.keep`` says whether its weights (``best``) or
    the final ones (``last``) are left loaded.

    ``resume``: a state ``hooks.save_state`` received; training continues after its epoch, and a
    run killed mid-way and resumed ends with the same weights as an uninterrupted one.

    ``dist`` (several processes, see ``engine/distributed.py``): every rank draws the same batches
    and trains on its slice of each under DDP; rank 0's validation score decides for all.
    """
    _check(settings, hooks)
    dist = dist or distributed.SINGLE
    start = time.perf_counter()
    opt = _optimisation(model, settings, data.class_embeddings.device)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    loop = _Loop(TrainOutcome(best_epoch=-1, best_val_score=-math.inf), copy.deepcopy(model.state_dict()))
    if resume is not None:
        _restore(model, opt, loop, resume)
    if model.method.frozen_backbone:
        model.backbone.requires_grad_(False)
    batches = _batches(model, data, settings, dist)
    for epoch in range(loop.first_epoch, settings.epochs):
        train_loss = _train_epoch(model, opt, batches, settings, loop, epoch, dist, hooks.progress)
        if _end_epoch(model, opt, settings, hooks, loop, epoch, train_loss, dist):
            break
    if settings.keep == "best":
        model.load_state_dict(loop.best_state)
    loop.outcome.seconds = time.perf_counter() - start
    return loop.outcome
