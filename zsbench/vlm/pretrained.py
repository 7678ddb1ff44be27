"""The checkpoint ``zsbench pretrain`` writes (``pretrained.pt``) and how it is read back.

One file that describes itself: the visual backbone (its registry spec and state dict), both
projections into the joint space, the temperature, the text tower it was trained against (the
frozen sentence encoder's name and location) and what pretraining saw (world seed, image count,
excluded findings, epochs). Plain tensors plus a JSON string, so ``torch.load(weights_only=True)``
reads it and nothing in the file can run code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zsbench.backbones.base import Backbone
from zsbench.errors import UsageError
from zsbench.results import write_checkpoint

PRETRAINED_FORMAT = "zsbench-pretrained"
PRETRAINED_VERSION = 1
#: the tensors kept beside the backbone's state dict
TENSOR_KEYS = ("image_projection", "text_projection", "logit_scale")


@dataclass
class PretrainedModel:
    """A loaded ``pretrained.pt``: the visual backbone with its weights, the projections into the
    joint space, the learnt inverse temperature and the checkpoint's metadata (``meta``)."""

    backbone: Backbone
    image_projection: nn.Linear
    text_projection: nn.Linear
    scale: float  # the learnt inverse temperature, exp(logit_scale): cosine similarity x scale = logit
    meta: dict[str, Any]

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised joint-space image embeddings of a batch already through ``prepare_batch``."""
        return nn.functional.normalize(self.image_projection(self.backbone(x)), dim=-1)

    def embed_texts(self, text_features: torch.Tensor) -> torch.Tensor:
        """Normalised joint-space embeddings of the frozen text encoder's outputs."""
        return nn.functional.normalize(self.text_projection(text_features), dim=-1)

    def pretraining(self) -> dict[str, Any]:
        """What pretraining saw; a backbone built from the file records it (``Preprocess``)."""
        return dict(self.meta["pretraining"])


def save_pretrained(path: Path, backbone: Backbone, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``pretrained.pt`` atomically (``results.write_checkpoint``: temp file + rename)."""
    state = {k: v.detach().cpu() for k, v in backbone.state_dict().items()}
    write_checkpoint(path, state, {"format": PRETRAINED_FORMAT, "format_version": PRETRAINED_VERSION, **meta},
                     {k: tensors[k] for k in TENSOR_KEYS})


def read_pretrained(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(meta, backbone state dict, extra tensors) of a ``pretrained.pt``; a missing, unreadable or
    foreign file is a one-line :class:`UsageError`."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"pretrained checkpoint {path} does not exist; make one with 'zsbench pretrain --out DIR' "
                         "(it writes DIR/pretrained.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(payload["meta_json"])
        state, tensors = payload["state_dict"], {k: payload[k] for k in TENSOR_KEYS}
    except Exception as exc:  # any damage reads the same to the user: not a usable checkpoint
        raise UsageError(f"{path} is not a readable zsbench pretrained checkpoint "
                         f"({exc.__class__.__name__}); re-run 'zsbench pretrain'") from None
    if meta.get("format") != PRETRAINED_FORMAT:
        raise UsageError(f"{path} is not a zsbench pretrained checkpoint (format {meta.get('format')!r}); "
                         "pass the pretrained.pt that 'zsbench pretrain' wrote")
    if meta.get("format_version") != PRETRAINED_VERSION:
        raise UsageError(f"{path} has pretrained format version {meta.get('format_version')!r}; this zsbench "
                         f"reads version {PRETRAINED_VERSION}: re-run 'zsbench pretrain'")
    return meta, state, tensors


def build_visual_backbone(meta: dict[str, Any], state: dict[str, torch.Tensor], path: Path) -> Backbone:
    """The recorded backbone, built from the registry at the recorded image size, with the weights."""
    from zsbench.registry import BACKBONES

    backbone = BACKBONES.create(meta["backbone"]["spec"], image_size=int(meta["image_size"]), pretrained=False)
    try:
        backbone.load_state_dict(state)
    except RuntimeError as exc:
        raise UsageError(f"{path}: the weights do not fit backbone {meta['backbone']['spec']!r} as this zsbench "
                         f"builds it ({str(exc).splitlines()[0]}); re-run 'zsbench pretrain'") from None
    return backbone


def linear_from(weight: torch.Tensor) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer


def load_pretrained(path: str | Path) -> PretrainedModel:
    """The visual tower of a ``pretrained.pt`` with its weights, both projections and the metadata."""
    meta, state, tensors = read_pretrained(path)
    backbone = build_visual_backbone(meta, state, Path(path))
    return PretrainedModel(backbone, linear_from(tensors["image_projection"]),
                           linear_from(tensors["text_projection"]), float(tensors["logit_scale"].exp()), meta)
