"""What a method is: the part that differs between ML-GZSL approaches.

Given backbone features (n x D) and class embeddings (C x d), a method scores every (image, class)
pair; given the seen classes' embeddings and labels it returns a training loss. Everything else
(data, trainer, metrics, results) is shared, so scoring a brand-new class is just one more row in
``class_embeddings``.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import nn


class Method(nn.Module):
    name: str

    @abstractmethod
    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Scores, shape (n, C): higher means more likely present."""

    @abstractmethod
    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss from seen classes only, plus its parts for logging."""

    def describe(self) -> dict[str, object]:
        return {"name": self.name}
