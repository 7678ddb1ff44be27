"""CXR-ML-GZSL (Hayat et al., MLHC 2021): visual and semantic mappings into a joint space.

Scores are cosine similarities between psi(rho(x)) and phi(w_c) for every class c (Eq. 2, 8). The
objective is L = L_rank + g1 L_align + g2 L_con (Eq. 3), as written in the paper (Eq. 4-7); see
REFERENCE.md section 3 for how the public implementation differs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.methods.base import Method
from zsbench.registry import METHODS


def ranking_loss(scores: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 4-5: per image (1/S) sum over (positive p, negative n) of max(margin + s_n - s_p, 0),
    averaged over all n images (images without a positive or negative contribute 0).

    ``scores`` and ``labels`` are n x S over the seen classes; labels are 0/1.
    """
    pos = labels > 0.5
    neg = ~pos
    # violation[i, p, q] = margin + s_q - s_p, for p a positive and q a negative of image i
    violation = margin + scores.unsqueeze(1) - scores.unsqueeze(2)
    pair = pos.unsqueeze(2) & neg.unsqueeze(1)
    per_image = (violation.clamp(min=0) * pair).sum(dim=(1, 2)) / scores.shape[1]
    return per_image.mean()


def alignment_loss(
    visual: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Eq. 6: 1 - mean cosine between each image's mapped features and the mean of its positive
    classes' mapped embeddings. ``visual`` n x l, ``class_embeddings`` S x l, ``labels`` n x S.
    Images without a positive label are left out of the mean."""
    pos = (labels > 0.5).to(visual.dtype)
    counts = pos.sum(dim=1)
    keep = counts > 0
    if not bool(keep.any()):
        return visual.sum() * 0.0
    targets = (pos[keep] @ class_embeddings) / counts[keep].unsqueeze(1)
    return 1.0 - F.cosine_similarity(visual[keep], targets, dim=1).mean()


def _cosine_matrix(x: torch.Tensor) -> torch.Tensor:
    x = F.normalize(x, dim=1)
    return x @ x.T


def consistency_loss(
    raw_class_embeddings: torch.Tensor, mapped_class_embeddings: torch.Tensor
) -> torch.Tensor:
    """Eq. 7: sum over ordered class pairs i != j of |cos(w_i, w_j) - cos(phi(w_i), phi(w_j))|."""
    diff = (_cosine_matrix(raw_class_embeddings) - _cosine_matrix(mapped_class_embeddings)).abs()
    off_diagonal = ~torch.eye(len(diff), dtype=torch.bool, device=diff.device)
    return diff[off_diagonal].sum()


def mapping_mlp(in_dim: int, hidden: tuple[int, ...] = (512, 256), out_dim: int = 128) -> nn.Sequential:
    """Linear(in,512)-ReLU-Linear(512,256)-ReLU-Linear(256,128), no final activation (Section 4.2)."""
    layers: list[nn.Module] = []
    dims = (in_dim, *hidden)
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    layers.append(nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class CxrMlGzslConfig:
    margin: float = 0.5  # delta in Eq. 4
    gamma_align: float = 0.01  # g1
    gamma_con: float = 0.01  # g2
    latent_dim: int = 128


class CxrMlGzsl(Method):
    """psi: visual mapping, phi: semantic mapping; scores are cosines in the joint space."""

    name = "cxr-ml-gzsl"

    def __init__(self, feature_dim: int, text_dim: int, config: CxrMlGzslConfig) -> None:
        super().__init__()
        self.config = config
        self.psi = mapping_mlp(feature_dim, out_dim=config.latent_dim)
        self.phi = mapping_mlp(text_dim, out_dim=config.latent_dim)

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        visual = F.normalize(self.psi(features), dim=1)
        semantic = F.normalize(self.phi(class_embeddings), dim=1)
        return visual @ semantic.T

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        visual = self.psi(features)
        semantic = self.phi(class_embeddings)
        scores = F.normalize(visual, dim=1) @ F.normalize(semantic, dim=1).T
        rank = ranking_loss(scores, labels, self.config.margin)
        align = alignment_loss(visual, semantic, labels)
        con = consistency_loss(class_embeddings, semantic)
        total = rank + self.config.gamma_align * align + self.config.gamma_con * con
        return total, {"rank": rank.item(), "align": align.item(), "con": con.item()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name, **self.config.__dict__}


@METHODS.register("cxr-ml-gzsl", description="CXR-ML-GZSL (Hayat et al. 2021), paper objective")
def create_cxr_ml_gzsl(
    *, feature_dim: int, text_dim: int, options: dict[str, float] | None = None, **_: object
) -> CxrMlGzsl:
    return CxrMlGzsl(feature_dim, text_dim, CxrMlGzslConfig(**(options or {})))
