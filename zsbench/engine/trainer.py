"""Training and scoring: backbone + method on seen classes, best model by validation seen AUROC."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from zsbench.backbones.base import Backbone, prepare_batch
from zsbench.errors import TrainingError
from zsbench.methods.base import Method
from zsbench.metrics import auroc

# (stage, done, total, info): the CLI turns these into progress bars; library code never prints.
ProgressFn = Callable[[str, int, int, dict[str, float]], None]


class ZeroShotModel(nn.Module):
    """Backbone followed by a method head."""

    def __init__(self, backbone: Backbone, method: Method) -> None:
        super().__init__()
        self.backbone = backbone
        self.method = method

    def forward(self, pixels: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        x = prepare_batch(pixels, self.backbone.preprocess)
        return self.method(self.backbone(x), class_embeddings)


@dataclass
class TrainSettings:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    lr_factor: float
    lr_patience: int
    seed: int
    augment: bool = True


@dataclass
class TrainOutcome:
    best_epoch: int
    best_val_auroc_seen: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _augment(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random translation (up to 1/32 of the side) per batch, edge padded."""
    size = pixels.shape[-1]
    pad = max(1, size // 32)
    shift = torch.randint(-pad, pad + 1, (2,), generator=generator).tolist()
    padded = nn.functional.pad(pixels.float(), (pad, pad, pad, pad), mode="replicate")
    y0, x0 = pad + shift[0], pad + shift[1]
    return padded[..., y0 : y0 + size, x0 : x0 + size].to(pixels.dtype)


@torch.no_grad()
def score_images(
    model: ZeroShotModel,
    pixels: np.ndarray,
    class_embeddings: torch.Tensor,
    batch_size: int = 128,
    progress: ProgressFn | None = None,
    stage: str = "score",
) -> np.ndarray:
    """Scores (n, C) of every image against every given class embedding."""
    model.eval()
    device = class_embeddings.device
    out = []
    for start in range(0, len(pixels), batch_size):
        batch = torch.from_numpy(pixels[start : start + batch_size]).to(device)
        out.append(model(batch, class_embeddings).float().cpu().numpy())
        if progress:
            progress(stage, min(start + batch_size, len(pixels)), len(pixels), {})
    return np.concatenate(out) if out else np.zeros((0, len(class_embeddings)), dtype=np.float32)


def _val_auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    values = [auroc(scores[:, c], labels[:, c]) for c in range(labels.shape[1])]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else float("nan")


def train(
    model: ZeroShotModel,
    train_pixels: np.ndarray,
    train_labels: np.ndarray,
    val_pixels: np.ndarray,
    val_labels: np.ndarray,
    seen_embeddings: torch.Tensor,
    settings: TrainSettings,
    progress: ProgressFn | None = None,
    on_best: Callable[[dict[str, torch.Tensor], int], None] | None = None,
) -> TrainOutcome:
    """Train on seen classes; keep (and leave loaded) the weights with the best val seen AUROC.

    Only the seen classes' embeddings reach this function: unseen texts cannot leak into training.
    """
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(settings.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=settings.lr_factor, patience=settings.lr_patience
    )
    device = seen_embeddings.device
    labels_t = torch.from_numpy(np.nan_to_num(train_labels, nan=0.0).astype(np.float32)).to(device)
    n = len(train_pixels)
    steps = max(1, n // settings.batch_size)  # drop the ragged last batch: BatchNorm needs > 1
    best = TrainOutcome(best_epoch=-1, best_val_auroc_seen=-math.inf)
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for step in range(steps):
            idx = order[step * settings.batch_size : (step + 1) * settings.batch_size]
            pixels = torch.from_numpy(train_pixels[idx.numpy()]).to(device)
            if settings.augment:
                pixels = _augment(pixels, generator)
            x = prepare_batch(pixels, model.backbone.preprocess)
            loss, _parts = model.method.loss(model.backbone(x), seen_embeddings, labels_t[idx.to(device)])
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {loss.item()} at epoch {epoch + 1} step {step + 1}; "
                    "lower --lr (the best weights so far are kept in the run directory)"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()
            total += loss_value
            if progress:
                progress("train", epoch * steps + step + 1, settings.epochs * steps, {"loss": loss_value})
        val_scores = score_images(model, val_pixels, seen_embeddings)
        val_auc = _val_auroc(val_scores, val_labels)
        scheduler.step(val_auc if not math.isnan(val_auc) else -1.0)
        record = {"epoch": epoch + 1, "train_loss": total / steps, "val_auroc_seen": val_auc,
                  "lr": optimizer.param_groups[0]["lr"]}
        best.history.append(record)
        if progress:
            progress("epoch", epoch + 1, settings.epochs, record)
        if val_auc > best.best_val_auroc_seen:
            best.best_val_auroc_seen, best.best_epoch = val_auc, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
            if on_best is not None:
                on_best(best_state, epoch + 1)
    model.load_state_dict(best_state)
    best.seconds = time.perf_counter() - start
    return best
