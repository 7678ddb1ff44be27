"""Supervised upper bound: NOT zero-shot. A linear classifier with one output per class, trained with
BCE on the labels of ALL classes, unseen ones included.

It shows how far the zero-shot methods are from a model that saw every label (the role of the
CheXNet reference in REFERENCE.md section 4), so every output that contains it is flagged through
``zero_shot = False``. It ignores the class texts: ``class_embeddings`` only tells it how many
classes are scored. The classifier has ``n_classes`` outputs (an option, or the factory's
``n_classes`` keyword, which the runner sets to the dataset's class count C); for C' rows of
``class_embeddings`` ``forward`` returns ``logits[:, :C']``. So the classes must come in the order
of the training label columns, and it cannot score a class it never had labels for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from zsbench.errors import UsageError
from zsbench.methods.base import Method
from zsbench.methods.common import masked_bce_with_logits, parse_options, require


@dataclass(frozen=True)
class SupervisedConfig:
    n_classes: int | None = None  # required; None only so the missing option gets a clear message

    def __post_init__(self) -> None:
        require(self.n_classes is None or self.n_classes >= 1, f"n_classes must be >= 1 (got {self.n_classes})")


class Supervised(Method):
    """Upper bound that sees all labels: one logit per class from pooled features."""

    name = "supervised"
    zero_shot = False

    def __init__(self, feature_dim: int, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.classifier = nn.Linear(feature_dim, n_classes)

    def _columns(self, count: int) -> int:
        if count > self.n_classes:
            raise UsageError(
                f"supervised was built for {self.n_classes} classes and cannot score {count}: it has no "
                "output for a class it never had labels for"
            )
        return count

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        return self.classifier(features)[:, : self._columns(len(class_embeddings))]

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self.classifier(features)[:, : self._columns(labels.shape[1])]
        bce = masked_bce_with_logits(logits, labels)  # NaN (unknown) labels are left out
        return bce, {"bce": bce.item()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "n_classes": self.n_classes, "zero_shot": self.zero_shot}


def create_supervised(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    feature_map_dim: int | None = None,
    n_classes: int | None = None,
    **_: object,
) -> Supervised:
    """``n_classes`` may come as an option or as a keyword from the runner; the option wins."""
    config = parse_options(SupervisedConfig, options, "supervised")
    count = config.n_classes if config.n_classes is not None else n_classes
    if count is None:
        raise UsageError("supervised needs option n_classes (the number of classes it is trained on)")
    return Supervised(feature_dim, int(count))
