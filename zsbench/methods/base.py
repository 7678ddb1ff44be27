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
    """Class attributes declare what the shared machinery must do for the method:

    - ``feature_kind``: ``"pooled"`` features (n, D) or a spatial ``"map"`` (n, C, h, w);
    - ``frozen_backbone``: the backbone is not trained (kept in eval mode, no gradients);
    - ``zero_shot``: False for upper bounds trained on every class (flagged in every output);
    - ``unseen_texts_in_training``: True only for presets that, like the public CXR-ML-GZSL code,
      let unseen class texts into the loss; the runner then calls :meth:`bind_all_classes`.
    """

    name: str
    feature_kind = "pooled"
    frozen_backbone = False
    zero_shot = True
    unseen_texts_in_training = False

    def bind_all_classes(self, all_class_embeddings: torch.Tensor) -> None:
        """Receive every class's embedding (seen and unseen); only for presets that declare it."""
        raise NotImplementedError(f"{self.name} does not use unseen class texts")

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
