"""Tiny data and short training runs shared by the method tests (a few seconds on 2 CPU cores)."""

from __future__ import annotations

import numpy as np
import torch

from zsbench.backbones.tiny_cnn import TinyCNN
from zsbench.engine.trainer import TrainData, TrainHooks, TrainOutcome, TrainSettings, ZeroShotModel, train
from zsbench.methods.base import Method

TEXT_DIM = 8


def tiny_data(n: int = 32, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Random uint8 images (n, 1, 32, 32), 0/1 labels with one unknown (NaN), class embeddings."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 1, 32, 32), dtype=np.uint8)
    labels = (rng.random((n, classes)) < 0.4).astype(np.float32)
    labels[0, 0] = np.nan
    embeddings = torch.from_numpy(rng.standard_normal((classes, TEXT_DIM)).astype(np.float32))
    return pixels, labels, embeddings


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> list[str]:
    """Names of the state entries whose values differ."""
    return [k for k in before if not torch.equal(before[k], after[k])]


def train_briefly(method: Method, classes: int = 4, epochs: int = 1) -> tuple[ZeroShotModel, dict, TrainOutcome]:
    """Train a TinyCNN + ``method`` for a few steps; returns the model, its state before, the outcome."""
    torch.manual_seed(0)
    pixels, labels, embeddings = tiny_data(classes=classes)
    model = ZeroShotModel(TinyCNN(input_size=32), method)
    before = snapshot(model)
    settings = TrainSettings(epochs=epochs, batch_size=8, lr=1e-2, weight_decay=0.0, lr_factor=0.1,
                             lr_patience=5, seed=0, augment="none", keep="last")
    outcome = train(model, TrainData(pixels, labels, embeddings), settings, TrainHooks(validate=lambda _m: 0.0))
    return model, before, outcome


def fit_losses(method: Method, features: torch.Tensor, embeddings: torch.Tensor, labels: torch.Tensor,
               steps: int = 25, lr: float = 1e-2) -> list[float]:
    """Losses of ``steps`` Adam steps on one fixed batch (the method alone, features fixed)."""
    torch.manual_seed(0)
    method.train()
    optimizer = torch.optim.Adam(method.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss, _parts = method.loss(features, embeddings, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
