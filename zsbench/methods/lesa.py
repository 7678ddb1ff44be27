"""LESA (Huynh & Elhamifar, CVPR 2020): a shared multi-attention model for multi-label zero-shot learning.

The backbone's spatial map gives regions f_r (optionally through a learned conv first). M attention
heads, shared by every class, weight the regions:

    e_m,r = W2^T [tanh(W1^T [f_r; 1]); 1]_m,   a_m = softmax_r(e_m),   z_m = sum_r a_m,r f_r

and class c takes the best head: s_c = max_m z_m^T (W v_c), with v_c the L2-normalised, fixed class
embedding. A new class is one more v_c: the heads never depend on a class, which is what lets unseen
classes use them. Training (REFERENCE.md section 5, weights as in the official TensorFlow code):

    L = L_rank + 0.1 L_cov + 0.001 L_rel + 0.01 L_div

Our reading of each term (see the functions below for the exact formulas):

- L_rank: pairwise hinge with margin 1 over (positive, negative) labels of an image, summed and
  divided by that image's number of *violating* pairs (so a few hard pairs are not diluted by many
  satisfied ones), averaged over images.
- L_cov (coverage): every positive label softly picks a head (softmax over heads of its per-head
  scores); summing these choices gives each head's load. The mean squared load is smallest when the
  labels spread over all heads, so no head is left unused and none serves every label.
- L_rel (relevance): for each positive label, the attended score must not fall below the score of
  the plain region average (the "global" feature): max(0, s_c^global - s_c). Attention should pick
  regions that matter for present labels, not do worse than looking everywhere.
- L_div (diversity): the heads' attention logits over regions, L2-normalised, should be orthogonal:
  the sum of squared cosines between different heads, so heads look at different regions.

Reductions: every term is a mean over the images of the batch, which keeps the total independent
of the batch size. The official code sums L_rel over the batch and takes one Frobenius norm of the
stacked off-diagonal Gram matrices for L_div; its weights were tuned at batch size 32.

The paper trains with RMSProp (lr 1e-3) on a frozen VGG-19 conv5_4 map; zsbench uses its shared Adam
trainer. The backbone is frozen by default (``frozen=false`` trains it too).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.errors import UsageError
from zsbench.methods.base import Method
from zsbench.methods.common import label_masks, parse_options, require

CONV_CHOICES = ("none", "1x1", "2x2")


def lesa_ranking_loss(scores: torch.Tensor, labels: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Per image: sum over (positive p, negative n) of max(margin + s_n - s_p, 0), divided by the
    number of pairs with a non-zero hinge (0 when there are none); mean over images.

    ``scores`` and ``labels`` are n x C; NaN labels are neither positive nor negative.
    """
    pos, neg = label_masks(labels)
    pair = pos.unsqueeze(2) & neg.unsqueeze(1)
    # hinge[i, p, q] = margin + s_q - s_p for p a positive and q a negative of image i
    hinge = (margin + scores.unsqueeze(1) - scores.unsqueeze(2)).clamp(min=0) * pair
    violating = (hinge > 0).sum(dim=(1, 2)).clamp(min=1)
    return (hinge.sum(dim=(1, 2)) / violating).mean()


def coverage_loss(head_scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``head_scores`` n x M x C (class scores under each head). Each positive class's softmax over
    heads is its soft choice of head; a head's load is the sum of the choices of the image's
    positive classes. Returns the mean over images and heads of the squared load."""
    pos = (labels > 0.5).to(head_scores.dtype)
    choice = head_scores.softmax(dim=1)
    load = (choice * pos.unsqueeze(1)).sum(dim=2)
    return load.square().mean()


def relevance_loss(
    scores: torch.Tensor, global_scores: torch.Tensor, labels: torch.Tensor, margin: float = 0.0
) -> torch.Tensor:
    """Per image: sum over positive classes c of max(margin + s_c^global - s_c, 0); mean over images.
    ``scores`` are the attended (max over heads) scores, ``global_scores`` those of the mean region."""
    pos = (labels > 0.5).to(scores.dtype)
    return ((margin + global_scores - scores).clamp(min=0) * pos).sum(dim=1).mean()


def diversity_loss(attention_logits: torch.Tensor) -> torch.Tensor:
    """``attention_logits`` n x M x R (pre-softmax e_m over regions). Per image: sum over ordered
    head pairs m != m' of cos(e_m, e_m')^2; mean over images."""
    unit = F.normalize(attention_logits, dim=2)
    gram = unit @ unit.transpose(1, 2)
    heads = gram.shape[1]
    off_diagonal = ~torch.eye(heads, dtype=torch.bool, device=gram.device)
    return gram[:, off_diagonal].square().sum(dim=1).mean()


@dataclass(frozen=True)
class LesaConfig:
    heads: int = 10  # M
    conv: str = "2x2"  # learned conv over the map before attention: none, 1x1 or 2x2 (the paper's)
    hidden: int | None = None  # width of tanh(W1^T [f;1]); None: the map's channel count, as in the paper
    frozen: bool = True
    margin: float = 1.0
    cov_weight: float = 0.1
    rel_weight: float = 0.001
    div_weight: float = 0.01
    rel_margin: float = 0.0  # the official code's default margin for L_rel

    def __post_init__(self) -> None:
        require(self.heads >= 1, f"heads must be >= 1 (got {self.heads})")
        require(self.conv in CONV_CHOICES, f"conv must be one of {', '.join(CONV_CHOICES)} (got {self.conv!r})")
        require(self.hidden is None or self.hidden >= 1, f"hidden must be >= 1 (got {self.hidden})")
        require(min(self.margin, self.cov_weight, self.rel_weight, self.div_weight, self.rel_margin) >= 0,
                "margins and loss weights must be >= 0")


def _region_conv(kind: str, channels: int) -> nn.Module:
    """The learned conv (with BatchNorm and ReLU, as in the official code) before the attention."""
    if kind == "none":
        return nn.Identity()
    # TensorFlow's SAME padding for an even kernel pads one extra row/column at the bottom/right,
    # so the map keeps its h x w regions
    pad: list[nn.Module] = [nn.ZeroPad2d((0, 1, 0, 1))] if kind == "2x2" else []
    size = 2 if kind == "2x2" else 1
    return nn.Sequential(
        *pad,
        nn.Conv2d(channels, channels, size, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


class Lesa(Method):
    """Shared multi-attention over feature-map regions; scores s_c = max_m z_m^T (W v_c)."""

    name = "lesa"
    feature_kind = "map"

    def __init__(self, feature_map_dim: int, text_dim: int, config: LesaConfig) -> None:
        super().__init__()
        self.config = config
        self.frozen_backbone = config.frozen  # the trainer reads it per instance
        self.conv = _region_conv(config.conv, feature_map_dim)
        hidden = config.hidden or feature_map_dim
        self.attend_hidden = nn.Linear(feature_map_dim, hidden)  # W1 (its bias is the [f;1] row)
        self.attend_out = nn.Linear(hidden, config.heads)  # W2 (bias: the [h;1] row)
        self.embed_class = nn.Linear(text_dim, feature_map_dim, bias=False)  # W

    def regions(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(n, channels, h, w) -> (n, h*w, channels)."""
        if feature_map.dim() != 4:
            raise UsageError(
                f"lesa needs a spatial feature map (n, channels, h, w) from the backbone, got shape "
                f"{tuple(feature_map.shape)}; use a CNN backbone"
            )
        return self.conv(feature_map).flatten(2).transpose(1, 2)

    def attend(self, regions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention logits e (n, M, R) and attended features z (n, M, channels)."""
        logits = self.attend_out(torch.tanh(self.attend_hidden(regions))).transpose(1, 2)
        return logits, logits.softmax(dim=2) @ regions

    def class_weights(self, class_embeddings: torch.Tensor) -> torch.Tensor:
        """W v_c for every class, (C, channels); v_c is L2-normalised as in the paper."""
        return self.embed_class(F.normalize(class_embeddings, dim=1))

    def forward(self, features: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
        _, attended = self.attend(self.regions(features))
        return (attended @ self.class_weights(class_embeddings).T).amax(dim=1)

    def loss(
        self, features: torch.Tensor, class_embeddings: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        regions = self.regions(features)
        logits, attended = self.attend(regions)
        weights = self.class_weights(class_embeddings)
        # the loss terms run in float32 even under autocast: sums of many small hinges lose bits in bf16
        head_scores = (attended @ weights.T).float()  # (n, M, C)
        scores = head_scores.amax(dim=1)
        global_scores = (regions.mean(dim=1) @ weights.T).float()
        logits = logits.float()
        rank = lesa_ranking_loss(scores, labels, cfg.margin)
        cov = coverage_loss(head_scores, labels)
        rel = relevance_loss(scores, global_scores, labels, cfg.rel_margin)
        div = diversity_loss(logits)
        total = rank + cfg.cov_weight * cov + cfg.rel_weight * rel + cfg.div_weight * div
        return total, {"rank": rank.item(), "cov": cov.item(), "rel": rel.item(), "div": div.item()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name, **asdict(self.config), "feature_kind": self.feature_kind,
                "frozen_backbone": self.frozen_backbone}


def create_lesa(
    *,
    feature_dim: int,
    text_dim: int,
    options: dict[str, Any] | None = None,
    feature_map_dim: int | None = None,
    **_: object,
) -> Lesa:
    config = parse_options(LesaConfig, options, "lesa")
    if feature_map_dim is None:
        raise UsageError("lesa attends over the backbone's spatial feature map and needs its channel "
                         "count (feature_map_dim), which was not given; use a backbone that reports it")
    return Lesa(feature_map_dim, text_dim, config)
