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
from zsbench.engine import distributed
from zsbench.engine.augment import augment_batch
from zsbench.engine.distributed import DistContext
from zsbench.errors import TrainingError
from zsbench.methods.base import Method
from zsbench.metrics import auroc

# (stage, done, total, info): the CLI turns these into progress bars; library code never prints.
ProgressFn = Callable[[str, int, int, dict[str, float]], None]


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
) -> ZeroShotModel:
    """Backbone and method from the registries, wired together: the one recipe that training
    (the runner) and reloading a checkpoint both follow, so they cannot drift apart."""
    from zsbench.registry import BACKBONES, METHODS

    backbone = BACKBONES.create(backbone_spec, image_size=image_size, pretrained=pretrained, weights=weights)
    method = METHODS.create(
        method_name,
        feature_dim=backbone.feature_dim,
        feature_map_dim=getattr(backbone, "feature_map_dim", None),
        text_dim=text_dim,
        n_classes=n_classes,
        options=dict(method_options),
    )
    return ZeroShotModel(backbone, method)


@dataclass
class TrainSettings:
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
    pixels: np.ndarray,
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
    for start in range(0, len(pixels), batch_size):
        batch = torch.from_numpy(pixels[start : start + batch_size]).to(device)
        if tta == "tencrop":
            big = round(size * 256 / 224)
            enlarged = nn.functional.interpolate(batch.float(), size=(big, big), mode="bilinear", antialias=True)
            enlarged = enlarged.round().clamp(0, 255).to(torch.uint8)
            scores = torch.stack([model(crop, class_embeddings).float() for crop in ten_crops(enlarged, size)])
            out.append(scores.mean(0).cpu().numpy())
        else:
            out.append(model(batch, class_embeddings).float().cpu().numpy())
        if progress:
            progress(stage, min(start + batch_size, len(pixels)), len(pixels), {})
    return np.concatenate(out) if out else np.zeros((0, len(class_embeddings)), dtype=np.float32)


def _val_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    values = [auroc(scores[:, c], labels[:, c]) for c in range(labels.shape[1])]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def seen_auroc_validator(
    val_pixels: np.ndarray, val_labels: np.ndarray, seen_embeddings: torch.Tensor
) -> Callable[[ZeroShotModel], float]:
    """Model selection by the mean validation AUROC over the training (seen) classes."""

    def validate(model: ZeroShotModel) -> float:
        return _val_auroc(score_images(model, val_pixels, seen_embeddings), val_labels)

    return validate


def seen_loss_validator(
    val_pixels: np.ndarray, val_labels: np.ndarray, seen_embeddings: torch.Tensor, batch_size: int = 64
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


def train(
    model: ZeroShotModel,
    train_pixels: np.ndarray,
    train_labels: np.ndarray,
    seen_embeddings: torch.Tensor,
    settings: TrainSettings,
    validate: Callable[[ZeroShotModel], float],
    progress: ProgressFn | None = None,
    on_best: Callable[[dict[str, torch.Tensor], int], None] | None = None,
    keep: str = "best",
    save_state: Callable[[dict[str, Any]], None] | None = None,
    resume: dict[str, Any] | None = None,
    dist: DistContext | None = None,
    val_loss: Callable[[ZeroShotModel], float] | None = None,
) -> TrainOutcome:
    """Train on seen classes. ``validate(model)`` scores each epoch (higher is better); with
    ``keep="best"`` the best epoch's weights are left loaded, with ``keep="last"`` the final ones.

    ``save_state`` receives, after every epoch, everything needed to continue exactly (weights,
    optimizer, scheduler, random generators, best so far); ``resume`` is such a state. A run
    killed mid-way and resumed ends with the same weights as an uninterrupted one.

    Only the seen classes' embeddings reach this function: unseen texts cannot leak into training.

    ``dist`` (several processes, see ``engine/distributed.py``): every rank draws the same batches
    and trains on its slice of each under DDP; rank 0's validation score decides for all.

    ``val_loss(model)`` is the validation loss; with ``settings.lr_monitor == "val_loss"`` the
    learning-rate schedule follows it (as the public CXR-ML-GZSL code does) while model selection
    still follows ``validate``.
    """
    if settings.lr_monitor not in ("val_score", "val_loss"):
        raise ValueError(f"lr_monitor must be val_score or val_loss, not {settings.lr_monitor!r}")
    if settings.lr_monitor == "val_loss" and val_loss is None:
        raise ValueError("lr_monitor val_loss needs a val_loss function")
    dist = dist or distributed.SINGLE
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(settings.seed)
    trainable = [p for name, p in model.named_parameters()
                 if not (model.method.frozen_backbone and name.startswith("backbone."))]
    optimizer = torch.optim.Adam(trainable, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min" if settings.lr_monitor == "val_loss" else "max",
        factor=settings.lr_factor, patience=settings.lr_patience
    )
    device = seen_embeddings.device
    autocast, amp_dtype = autocast_for(device, settings.amp)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    # NaN (unknown) labels stay NaN: the losses treat them as neither positive nor negative
    labels_t = torch.from_numpy(train_labels.astype(np.float32)).to(device)
    n = len(train_pixels)
    steps = max(1, n // settings.batch_size)  # drop the ragged last batch: BatchNorm needs > 1
    best = TrainOutcome(best_epoch=-1, best_val_score=-math.inf)
    best_state = copy.deepcopy(model.state_dict())
    first_epoch, since_best, done_steps = 0, 0, 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        generator.set_state(resume["generator"])
        torch.set_rng_state(resume["torch_rng"])
        best_state = resume["best_state"]
        best.best_epoch, best.best_val_score = resume["best_epoch"], resume["best_val_score"]
        best.history = list(resume["history"])
        first_epoch, since_best, done_steps = resume["epoch"], resume["since_best"], resume["steps"]
    if model.method.frozen_backbone:
        model.backbone.requires_grad_(False)
    local = distributed.local_batch_size(settings.batch_size, dist)
    # the method's loss, DDP-wrapped on several ranks; a first batch shows DDP which parameters go unused
    step_loss = distributed.loss_function(model, dist, (train_pixels[:local], seen_embeddings, labels_t[:local]))
    total_steps = settings.epochs * steps if settings.max_steps is None else settings.max_steps
    for epoch in range(first_epoch, settings.epochs):
        model.train()
        if model.method.frozen_backbone:
            model.backbone.eval()  # BatchNorm statistics stay as they are too
        order = torch.randperm(n, generator=generator)
        total, taken = 0.0, 0
        for step in range(steps):
            if settings.max_steps is not None and done_steps >= settings.max_steps:
                break
            idx = order[step * settings.batch_size : (step + 1) * settings.batch_size]
            idx = distributed.shard(idx, dist)  # this rank's part of the global batch
            pixels = torch.from_numpy(train_pixels[idx.numpy()]).to(device)
            pixels = augment_batch(settings.augment, pixels, generator)
            x = prepare_batch(pixels, model.backbone.preprocess)
            if settings.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                loss, _parts = step_loss(x, seen_embeddings, labels_t[idx.to(device)])
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {loss.item()} at epoch {epoch + 1} step {step + 1}; lower --lr "
                    "(the weights of the last completed epoch are kept in the run directory)"
                )
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if settings.clip_grad:
                nn.utils.clip_grad_norm_(trainable, settings.clip_grad)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            loss_value = loss.item()
            total += loss_value
            taken += 1
            done_steps += 1
            if progress:
                progress("train", min(done_steps, total_steps), total_steps, {"loss": loss_value})
        val_auc = distributed.agree(lambda: validate(model), dist)
        extra: dict[str, float] = {}
        if settings.lr_monitor == "val_loss":
            loss_now = distributed.agree(lambda: val_loss(model), dist)
            scheduler.step(loss_now if math.isfinite(loss_now) else math.inf)
            extra["val_loss"] = loss_now
        else:
            scheduler.step(val_auc if not math.isnan(val_auc) else -1.0)
        train_loss = distributed.mean_over_ranks(total / max(taken, 1), dist)
        record = {"epoch": epoch + 1, "train_loss": train_loss, "val_score": val_auc, **extra,
                  "lr": optimizer.param_groups[0]["lr"]}
        best.history.append(record)
        if progress:
            progress("epoch", epoch + 1, settings.epochs, record)
        if val_auc > best.best_val_score:
            best.best_val_score, best.best_epoch = val_auc, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
            since_best = 0
            if on_best is not None:
                on_best(best_state, epoch + 1)
        else:
            since_best += 1
        if save_state is not None:
            save_state({
                "epoch": epoch + 1, "steps": done_steps, "since_best": since_best,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(), "best_state": best_state,
                "best_epoch": best.best_epoch, "best_val_score": best.best_val_score, "history": best.history,
            })
        if settings.early_stop and since_best >= settings.early_stop:
            best.stopped_early = True
            break
        if settings.max_steps is not None and done_steps >= settings.max_steps:
            break
    if keep == "best":
        model.load_state_dict(best_state)
    best.seconds = time.perf_counter() - start
    return best
