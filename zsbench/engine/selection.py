"""Model selection without peeking at unseen classes.

``val-seen``: the epoch with the best mean validation AUROC over the seen classes.
``gzsl``: the proper GZSL validation: a few seen classes are held out and play "unseen" on the
validation set. The model is trained without them (and without the images that show them), the
epoch with the best validation harmonic AUROC is chosen, then the model is retrained on all seen
classes for that many epochs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from zsbench.data.mapped_rows import Pixels
from zsbench.engine.trainer import ZeroShotModel, score_images
from zsbench.errors import UsageError
from zsbench.metrics import evaluate


def choose_held_out(val_labels: np.ndarray, seen: list[int], count: int, seed: int) -> list[int]:
    """``count`` seen classes (column indices), drawn by ``seed`` among those with val positives."""
    candidates = [c for c in seen if (np.nan_to_num(val_labels[:, c]) > 0).any()]
    if count < 1 or count >= len(candidates):
        raise UsageError(
            f"--val-unseen must be between 1 and {len(candidates) - 1} "
            f"(seen classes with validation positives: {len(candidates)})"
        )
    rng = np.random.default_rng([seed, 0x6251])
    return sorted(int(c) for c in rng.choice(candidates, size=count, replace=False))


def harmonic_validator(
    val_pixels: Pixels,
    val_labels: np.ndarray,
    embeddings: torch.Tensor,
    train_columns: list[int],
    held_out: list[int],
) -> Callable[[ZeroShotModel], float]:
    """Validation harmonic AUROC of the training classes (S) and the held-out classes (U)."""
    columns = train_columns + held_out
    sub_labels = val_labels[:, columns]
    s_idx = list(range(len(train_columns)))
    u_idx = list(range(len(train_columns), len(columns)))

    def validate(model: ZeroShotModel) -> float:
        scores = score_images(model, val_pixels, embeddings[columns])
        return float(evaluate(scores, sub_labels, s_idx, u_idx, ks=(1,))["auroc_harmonic"])

    return validate
