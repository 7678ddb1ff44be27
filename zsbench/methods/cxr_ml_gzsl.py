"""CXR-ML-GZSL (Hayat et al., MLHC 2021): visual and semantic mappings into a joint space.

Scores are cosine similarities between psi(rho(x)) and phi(w_c) for every class c (Eq. 2, 8). The
objective is L = L_rank + g1 L_align + g2 L_con (Eq. 3). Two presets (option ``preset``):

- ``paper`` (default): the objective as written in the paper (Eq. 4-7): delta 0.5, g1 = g2 = 0.01,
  L_rank divided by S, L_con summed over ordered pairs of seen classes.
- ``reference``: what the public implementation trains (REFERENCE.md section 3): alignment weight 0
  (computed on detached inputs, for logging only), L_rank summed over pairs and divided by the batch
  size only, delta 0.2, and L_con as a mean over the full C x C matrix of ALL classes, seen and
  unseen, with gradient through one side only. Unseen class *texts* therefore enter training; the
  preset declares ``unseen_texts_in_training`` and receives them through :meth:`bind_all_classes`.

``margin``, ``gamma_align``, ``gamma_con`` and ``latent_dim`` override a preset's numbers; the preset
still decides the form of each loss. Each preset also carries the learning-rate schedule its source
used (attribute ``lr_schedule``) for the engine to read.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.errors import TrainingError, UsageError
from zsbench.methods.base import LrSchedule, Method
from zsbench.methods.common import parse_options, require


def ranking_loss(scores: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 4-5: per image (1/S) sum over (positive p, negative n) of max(margin + s_n - s_p, 0),
    averaged over all n images (images without a positive or negative contribute 0).

    ``scores`` and ``labels`` are n x S over the seen classes; labels are 0/1, and NaN (unknown)
    entries are neither positive nor negative.
    """
    pos = labels > 0.5
    neg = labels < 0.5
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


def ranking_loss_batch_sum(scores: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Public-code L_rank: the sum over every image's (positive p, negative n) pairs of
    max(margin + s_n - s_p, 0), divided by the number of images n only (not by S).

    NaN (unknown) labels are neither positive nor negative, as in :func:`ranking_loss`.
    """
    pos = labels > 0.5
    neg = labels < 0.5
    violation = margin + scores.unsqueeze(1) - scores.unsqueeze(2)
    pair = pos.unsqueeze(2) & neg.unsqueeze(1)
    return (violation.clamp(min=0) * pair).sum() / scores.shape[0]


def consistency_loss_reference(
    raw_class_embeddings: torch.Tensor, mapped_class_embeddings: torch.Tensor
) -> torch.Tensor:
    """Public-code L_con: mean over the full C x C matrix, diagonal included, of
    |cos(w_i, w_j) - cos(phi(w_i), phi(w_j).detach())|.

    Detaching one operand lets the gradient reach phi through one side of each pair only; the
    raw-text side has no parameters. The diagonal is 0 but still counts in the mean's denominator.
    """
    mapped = F.normalize(mapped_class_embeddings, dim=1)
    mapped_cos = mapped @ mapped.detach().T
    return (_cosine_matrix(raw_class_embeddings) - mapped_cos).abs().mean()


def mapping_mlp(in_dim: int, hidden: tuple[int, ...] = (512, 256), out_dim: int = 128) -> nn.Sequential:
    """Linear(in,512)-ReLU-Linear(512,256)-ReLU-Linear(256,128), no final activation (Section 4.2)."""
    layers: list[nn.Module] = []
    dims = (in_dim, *hidden)
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    layers.append(nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"margin": 0.5, "gamma_align": 0.01, "gamma_con": 0.01},
    "reference": {"margin": 0.2, "gamma_align": 0.0, "gamma_con": 0.01},
}

# ReduceLROnPlateau settings of each source: the paper (Section 4.2) and the public training script.
SCHEDULERS: dict[str, LrSchedule] = {
    "paper": LrSchedule(factor=0.01, patience=10, monitor="val_score"),
    # the public code steps ReduceLROnPlateau on the validation loss (REFERENCE.md section 3)
    "reference": LrSchedule(factor=0.1, patience=5, monitor="val_loss"),
}


@dataclass(frozen=True)
class CxrMlGzslConfig:
    preset: str = "paper"
    margin: float = 0.5  # delta in Eq. 4
    gamma_align: float = 0.01  # g1
    gamma_con: float = 0.01  # g2
    latent_dim: int = 128

    def __post_init__(self) -> None:
        require(self.preset in PRESETS, f"preset must be one of {', '.join(PRESETS)} (got {self.preset!r})")
        require(self.margin >= 0, f"margin must be >= 0 (got {self.margin})")
        require(self.gamma_align >= 0 and self.gamma_con >= 0, "gamma_align and gamma_con must be >= 0")
        require(self.latent_dim > 0, f"latent_dim must be positive (got {self.latent_dim})")

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> CxrMlGzslConfig:
        """The preset's numbers, overridden by any explicitly given option."""
        options = dict(options or {})
        preset = str(options.get("preset", "paper"))
        if preset not in PRESETS:
            raise UsageError(f"cxr-ml-gzsl option preset must be one of {', '.join(PRESETS)} (got {preset!r})")
        return parse_options(cls, {**PRESETS[preset], **options, "preset": preset}, "cxr-ml-gzsl")


class CxrMlGzsl(Method):
    """psi: visual mapping, phi: semantic mapping; scores are cosines in the joint space."""

    name = "cxr-ml-gzsl"

    def __init__(self, feature_dim: int, text_dim: int, config: CxrMlGzslConfig) -> None:
        super().__init__()
        self.config = config
        self.psi = mapping_mlp(feature_dim, out_dim=config.latent_dim)
        self.phi = mapping_mlp(text_dim, out_dim=config.latent_dim)
        self.reference = config.preset == "reference"
        # an instance attribute: only the reference preset lets unseen class texts into the loss
        self.unseen_texts_in_training = self.reference
        self.lr_schedule = SCHEDULERS[config.preset]
        # not persistent: only the loss reads it, so checkpoints stay the same for both presets
        self.register_buffer("all_class_embeddings", None, persistent=False)

    def bind_all_classes(self, all_class_embeddings: torch.Tensor) -> None:
        """Reference preset only: every class's embedding (seen and unseen), used by L_con."""
        if not self.unseen_texts_in_training:
            super().bind_all_classes(all_class_embeddings)
        self.all_class_embeddings = all_class_embeddings.detach().clone()

    def _every_class(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(raw, mapped) embeddings of every class, for the reference preset's L_con."""
        if self.all_class_embeddings is None:
            raise TrainingError(
                "cxr-ml-gzsl preset 'reference' needs bind_all_classes(all class embeddings) "
                "before training: its L_con runs over every class"
            )
        every = self.all_class_embeddings.to(like.device, like.dtype)
        return every, self.phi(every)

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        visual = F.normalize(self.psi(features), dim=1)
        semantic = F.normalize(self.phi(class_embeddings), dim=1)
        return visual @ semantic.T

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        visual = self.psi(features)
        semantic = self.phi(class_embeddings)
        scores = F.normalize(visual, dim=1) @ F.normalize(semantic, dim=1).T
        # terms are built in the original order (rank, align, con): the order in which autograd
        # accumulates gradients follows it, so the paper preset stays bitwise what it was
        if self.reference:
            rank = ranking_loss_batch_sum(scores, labels, cfg.margin)
        else:
            rank = ranking_loss(scores, labels, cfg.margin)
        if cfg.gamma_align > 0:
            align = alignment_loss(visual, semantic, labels)
        else:  # as in the public code: logged, but with detached inputs it trains nothing
            align = alignment_loss(visual.detach(), semantic.detach(), labels)
        if self.reference:
            con = consistency_loss_reference(*self._every_class(class_embeddings))
        else:
            con = consistency_loss(class_embeddings, semantic)
        if cfg.gamma_align > 0:
            total = rank + cfg.gamma_align * align + cfg.gamma_con * con
        else:
            total = rank + cfg.gamma_con * con
        return total, {"rank": rank.item(), "align": align.item(), "con": con.item()}

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            **asdict(self.config),
            "unseen_texts_in_training": self.unseen_texts_in_training,
            "scheduler": asdict(self.lr_schedule),
        }


def create_cxr_ml_gzsl(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    feature_map_dim: int | None = None,
    **_: object,
) -> CxrMlGzsl:
    return CxrMlGzsl(feature_dim, text_dim, CxrMlGzslConfig.from_options(options))
