"""Linear (DeViSE-style, Frome et al. 2013): one linear map W from image features to the text space.

score(x, c) = v_c^T W f(x) with v_c the L2-normalised class embedding (``score=dot``, DeViSE's
choice), or cos(W f(x), v_c) (``score=cosine``, bounded scores, so the margin is on a fixed scale).
Training: pairwise hinge ranking loss over (positive, negative) seen classes of each image. With
nothing between W and the text space, this is the simplest embedding baseline: any gain a method
shows over it comes from its extra machinery, not from the shared backbone or text encoder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.methods.base import Method
from zsbench.methods.common import label_masks, parse_options, require

SCORE_CHOICES = ("dot", "cosine")


def pairwise_hinge_loss(scores: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean over every (image, positive p, negative n) triple of the batch of max(margin - s_p + s_n, 0);
    0 (with a graph) when the batch has no such triple. NaN labels are neither positive nor negative."""
    pos, neg = label_masks(labels)
    pair = pos.unsqueeze(2) & neg.unsqueeze(1)
    hinge = (margin + scores.unsqueeze(1) - scores.unsqueeze(2)).clamp(min=0)
    count = pair.sum()
    if int(count) == 0:
        return scores.sum() * 0.0
    return (hinge * pair).sum() / count


@dataclass(frozen=True)
class LinearConfig:
    margin: float = 0.1  # DeViSE's margin
    score: str = "dot"

    def __post_init__(self) -> None:
        require(self.margin >= 0, f"margin must be >= 0 (got {self.margin})")
        require(self.score in SCORE_CHOICES, f"score must be one of {', '.join(SCORE_CHOICES)} (got {self.score!r})")


class LinearEmbedding(Method):
    """W: feature_dim -> text_dim, no bias (a bias would add the same v_c^T b to every image)."""

    name = "linear"

    def __init__(self, feature_dim: int, text_dim: int, config: LinearConfig) -> None:
        super().__init__()
        self.config = config
        self.project = nn.Linear(feature_dim, text_dim, bias=False)

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        projected = self.project(features)
        if self.config.score == "cosine":
            projected = F.normalize(projected, dim=1)
        return projected @ F.normalize(class_embeddings, dim=1).T

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        scores = self(features, class_embeddings).float()  # float32 even under autocast
        rank = pairwise_hinge_loss(scores, labels, self.config.margin)
        return rank, {"rank": rank.item()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name, **asdict(self.config)}


def create_linear(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    feature_map_dim: int | None = None,
    **_: object,
) -> LinearEmbedding:
    return LinearEmbedding(feature_dim, text_dim, parse_options(LinearConfig, options, "linear"))
