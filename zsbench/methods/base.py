"""What a method is: the part that differs between ML-GZSL approaches.

Given backbone features (n x D) and class embeddings (C x d), a method scores every (image, class)
pair; given the seen classes' embeddings and labels it returns a training loss. Everything else
(data, trainer, metrics, results) is shared, so scoring a brand-new class is just one more row in
``class_embeddings``.

``Method`` is an abstract class: a subclass that leaves :meth:`forward` or :meth:`loss` out cannot
be instantiated. Every hook the engine calls is declared here with a default, so the engine never
probes a method with ``hasattr``.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass(frozen=True)
class TrainingContext:
    """What a method may see besides its training batches, built from the training columns only.

    ``train_labels``: the training images' labels over the training columns (n x T, 1/0, NaN =
    unknown); ``class_embeddings``: those T columns' embeddings (T x d).
    """

    train_labels: torch.Tensor
    class_embeddings: torch.Tensor


@dataclass(frozen=True)
class LrSchedule:
    """ReduceLROnPlateau settings a method's source used; ``monitor`` is ``val_score`` or ``val_loss``."""

    factor: float = 0.01
    patience: int = 10
    monitor: str = "val_score"


class Method(nn.Module, metaclass=ABCMeta):
    """Class attributes declare what the shared machinery must do for the method:

    - ``feature_kind``: ``"pooled"`` features (n, D) or a spatial ``"map"`` (n, C, h, w);
    - ``frozen_backbone``: the backbone is not trained (kept in eval mode, no gradients);
    - ``zero_shot``: False for upper bounds trained on every class (flagged in every output);
    - ``unseen_texts_in_training``: True only for presets that, like the public CXR-ML-GZSL code,
      let unseen class texts into the loss; the runner then calls :meth:`bind_all_classes`;
    - ``lr_schedule``: the learning-rate schedule the engine uses unless the user sets one;
    - ``trained_on_labels``: False for training-free methods (CLIP-style prompts): the runner skips
      training (and never calls :meth:`loss`), loads only the test images, and writes ``best.pt``
      from the weights as built; result.json and the leaderboard say so.
    """

    name: ClassVar[str]
    feature_kind: str = "pooled"
    frozen_backbone: bool = False
    zero_shot: bool = True
    unseen_texts_in_training: bool = False
    lr_schedule: LrSchedule = LrSchedule()
    trained_on_labels: bool = True

    def bind_all_classes(self, all_class_embeddings: torch.Tensor) -> None:
        """Receive every class's embedding (seen and unseen); only for presets that declare it."""
        raise NotImplementedError(f"{self.name} does not use unseen class texts")

    def bind_training_context(self, context: TrainingContext) -> None:
        """Called once before training with what the training columns show besides batches (e.g.
        MLZSL's label co-occurrence graph). The default uses nothing."""

    @abstractmethod
    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        """Scores, shape (n, C): higher means more likely present."""

    @abstractmethod
    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Training loss from seen classes only, plus its parts for logging."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


FEATURE_KINDS = ("pooled", "map")


def method_problems(method: Method) -> list[str]:
    """What the declared members' values get wrong (the registry's contract check)."""
    problems = []
    if not isinstance(method.name, str) or not method.name:
        problems.append(f"name is {method.name!r}, not a non-empty str")
    if method.feature_kind not in FEATURE_KINDS:
        problems.append(f"feature_kind is {method.feature_kind!r}, not one of {', '.join(FEATURE_KINDS)}")
    if not isinstance(method.lr_schedule, LrSchedule):
        problems.append(f"lr_schedule is a {type(method.lr_schedule).__name__}, not a zsbench.methods.base.LrSchedule")
    return problems
