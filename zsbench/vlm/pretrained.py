"""The checkpoint ``zsbench pretrain`` writes (``pretrained.pt``) and how it is read back.

One file that describes itself: the visual backbone (its registry spec and state dict), both
projections into the joint space, the temperature, the text tower it was trained against (the
frozen sentence encoder's name and location, or for the transformer tower trained from scratch its
vocabulary, hyper-parameters and weights, as ``text_encoder.*`` tensors) and what pretraining saw
(world seed, image count, excluded findings, epochs). Plain tensors plus a JSON string, so
``torch.load(weights_only=True)`` reads it and nothing in the file can run code.
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
from zsbench.vlm.text_transformer import TOWER_ID, TextTransformer, TextTransformerSpec

PRETRAINED_FORMAT = "zsbench-pretrained"
PRETRAINED_VERSION = 1
#: the tensors kept beside the backbone's state dict
TENSOR_KEYS = ("image_projection", "text_projection", "logit_scale")
#: the prefix of a trained text tower's tensors (``text_tower.id == "transformer"``); absent for MiniLM
TEXT_ENCODER_PREFIX = "text_encoder."


@dataclass
class PretrainedModel:
    """A loaded ``pretrained.pt``: the visual backbone with its weights, the projections into the
    joint space, the learnt inverse temperature and the checkpoint's metadata (``meta``)."""

    backbone: Backbone
    image_projection: nn.Linear
    text_projection: nn.Linear
    scale: float  # the learnt inverse temperature, exp(logit_scale): cosine similarity x scale = logit
    meta: dict[str, Any]
    text_encoder: TextTransformer | None = None  # the trained text tower (None: a frozen sentence encoder)

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised joint-space image embeddings of a batch already through ``prepare_batch``."""
        return nn.functional.normalize(self.image_projection(self.backbone(x)), dim=-1)

    def embed_texts(self, text_features: torch.Tensor) -> torch.Tensor:
        """Normalised joint-space embeddings of the text tower's outputs (the frozen encoder's, or
        ``text_encoder.encode_texts``)."""
        return nn.functional.normalize(self.text_projection(text_features), dim=-1)

    def pretraining(self) -> dict[str, Any]:
        """What pretraining saw; a backbone built from the file records it (``Preprocess``)."""
        return dict(self.meta["pretraining"])


def save_pretrained(path: Path, backbone: Backbone, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                    text_state: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``pretrained.pt`` atomically (``results.write_checkpoint``: temp file + rename);
    ``text_state``: a trained text tower's state dict, kept as ``text_encoder.*`` tensors."""
    state = {k: v.detach().cpu() for k, v in backbone.state_dict().items()}
    extra = {k: tensors[k] for k in TENSOR_KEYS}
    extra.update({TEXT_ENCODER_PREFIX + k: v for k, v in (text_state or {}).items()})
    write_checkpoint(path, state, {"format": PRETRAINED_FORMAT, "format_version": PRETRAINED_VERSION, **meta},
                     extra)


def read_pretrained(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(meta, backbone state dict, extra tensors: ``TENSOR_KEYS`` and any ``text_encoder.*``) of a
    ``pretrained.pt``; a missing, unreadable or foreign file is a one-line :class:`UsageError`."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"pretrained checkpoint {path} does not exist; make one with 'zsbench pretrain --out DIR' "
                         "(it writes DIR/pretrained.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(payload["meta_json"])
        state, tensors = payload["state_dict"], {k: payload[k] for k in TENSOR_KEYS}
        tensors.update({k: v for k, v in payload.items() if k.startswith(TEXT_ENCODER_PREFIX)})
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


def build_text_encoder(meta: dict[str, Any], tensors: dict[str, torch.Tensor], path: Path) -> TextTransformer | None:
    """The trained transformer text tower with its vocabulary and weights, in eval mode; None when the
    checkpoint was pretrained against a frozen sentence encoder."""
    record = meta.get("text_tower") or {}
    if record.get("id") != TOWER_ID:
        return None
    encoder = TextTransformer(TextTransformerSpec.from_description(record))
    state = {k.removeprefix(TEXT_ENCODER_PREFIX): v for k, v in tensors.items() if k.startswith(TEXT_ENCODER_PREFIX)}
    try:
        encoder.load_state_dict(state)
    except RuntimeError as exc:
        raise UsageError(f"{path}: the text tower's weights do not fit its recorded transformer "
                         f"({str(exc).splitlines()[0]}); re-run 'zsbench pretrain'") from None
    return encoder.eval()


def load_pretrained(path: str | Path) -> PretrainedModel:
    """The visual tower of a ``pretrained.pt`` with its weights, both projections, the trained text
    tower when it has one and the metadata."""
    meta, state, tensors = read_pretrained(path)
    backbone = build_visual_backbone(meta, state, Path(path))
    return PretrainedModel(backbone, linear_from(tensors["image_projection"]),
                           linear_from(tensors["text_projection"]), float(tensors["logit_scale"].exp()), meta,
                           build_text_encoder(meta, tensors, Path(path)))
