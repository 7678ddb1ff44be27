"""CLIP-style zero-shot classification: training-free, no label is ever seen.

The backbone is an image-text model's image tower and the text encoder its text tower with a prompt
set (``zsbench.vlm``); both must be towers of the same model (``--backbone`` and ``--text-encoder``
name the same spec; a mismatch of dimensions is refused, one of weights cannot be seen).
score(x, c) = cos(f(x), t_c), for every class of the split. With a paired prompt set (CheXzero)
each class embedding is [positive | negative] (twice the image dimension) and the score is the
positive's probability under a softmax over the pair's two cosine similarities (divided by
``temperature``). The runner skips training for it (``trained_on_labels = False``); :meth:`loss`
refuses to run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from zsbench.errors import TrainingError, UsageError
from zsbench.methods.base import Method
from zsbench.methods.common import parse_options, require


@dataclass(frozen=True)
class ClipZeroShotConfig:
    temperature: float = 1.0  # of the paired softmax (CheXzero: 1, raw cosine similarities)

    def __post_init__(self) -> None:
        require(self.temperature > 0, f"temperature must be > 0 (got {self.temperature})")


def paired_scores(features: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                  temperature: float = 1.0) -> torch.Tensor:
    """P(positive) under softmax([cos(f, pos), cos(f, neg)] / temperature), per image and class."""
    f = F.normalize(features, dim=1)
    pos = f @ F.normalize(positive, dim=1).T
    neg = f @ F.normalize(negative, dim=1).T
    return torch.softmax(torch.stack([pos, neg]) / temperature, dim=0)[0]


class ClipZeroShot(Method):
    """No parameters: the image tower's embedding against each class's prompt embedding."""

    name = "clip-zeroshot"
    frozen_backbone = True  # the image tower is used as it is (its features are cached)
    trained_on_labels = False

    def __init__(self, feature_dim: int, text_dim: int, config: ClipZeroShotConfig) -> None:
        super().__init__()
        if text_dim not in (feature_dim, 2 * feature_dim):
            raise UsageError(
                f"clip-zeroshot: the text encoder gives {text_dim}-d class embeddings but the backbone "
                f"{feature_dim}-d image embeddings; give --backbone and --text-encoder the same image-text model"
            )
        self.config = config
        self.paired = text_dim == 2 * feature_dim
        self.feature_dim = feature_dim

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        if self.paired:
            d = self.feature_dim
            return paired_scores(features, class_embeddings[:, :d], class_embeddings[:, d:], self.config.temperature)
        return F.normalize(features, dim=1) @ F.normalize(class_embeddings, dim=1).T

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        raise TrainingError("clip-zeroshot is training-free: it has no loss, and the runner never trains it")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "trained_on_labels": False, "paired": self.paired, **asdict(self.config)}


def create_clip_zeroshot(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    **_: object,
) -> ClipZeroShot:
    return ClipZeroShot(feature_dim, text_dim, parse_options(ClipZeroShotConfig, options, "clip-zeroshot"))
