"""Image-text models: one interface over open_clip and Hugging Face CLIP-family models.

``open_clip:<arch>[:<tag>]`` (also ``open_clip:hf-hub:<repo>`` and ``open_clip:local-dir:<folder>``)
and ``hf-clip:<name-or-path>`` (transformers ``CLIPModel``). Both load offline only: from the local
Hugging Face / open_clip cache or a path. Absent weights are one :class:`UsageError` line naming the
model and how to provide it. With ``pretrained=False`` the model starts from random weights on its
recorded config (a checkpoint then loads its own weights).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.backbones.base import Preprocess, prepare_batch
from zsbench.errors import UsageError
from zsbench.text.quiet import quiet_transformers

#: CLIP's image statistics (open_clip.OPENAI_DATASET_MEAN / STD)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
KINDS = ("open_clip", "hf-clip", "zsbench-clip")


class ImageTextModel(ABC):
    """Two towers sharing one embedding space of ``dim`` dimensions.

    ``image_tower``: an ``nn.Module`` taking prepared float input (n, 3, s, s) to (n, dim); it is
    what a run's backbone holds (and its checkpoint stores). ``preprocess``: how uint8 pixels become
    that input.
    """

    spec: str
    dim: int
    preprocess: Preprocess
    image_tower: nn.Module

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 (n, 1, H, W) -> (n, dim) image embeddings (not normalised)."""
        with torch.no_grad():
            return self.image_tower(prepare_batch(pixels, self.preprocess))

    @abstractmethod
    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """float32 (len(texts), dim) text embeddings (not normalised)."""

    def describe(self) -> dict[str, Any]:
        return {"spec": self.spec, "dim": self.dim, "preprocess": self.preprocess.to_dict()}


class OpenClipImageTower(nn.Module):
    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


class OpenClipModel(ImageTextModel):
    """An open_clip model (zsbench.backbones.open_clip_backbone loads it)."""

    def __init__(self, name: str, pretrained: bool = True, image_size: int | None = None) -> None:
        import open_clip

        from zsbench.backbones.open_clip_backbone import create_open_clip

        self.model, arch, tag = create_open_clip(name, pretrained)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.spec = f"open_clip:{arch}" + (f":{tag}" if tag else "")
        self.image_tower = OpenClipImageTower(self.model.visual)
        size = self.model.visual.image_size
        native = int(size[0] if isinstance(size, tuple | list) else size)
        if hasattr(self.model.visual, "positional_embedding"):  # a ViT takes its own size only
            image_size = native
        self.dim = int(self.model.visual.output_dim)
        self.preprocess = Preprocess(input_size=image_size or native, in_chans=3, mean=CLIP_MEAN, std=CLIP_STD)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return self.model.encode_text(self.tokenizer(texts)).float().numpy()


class HfClipImageTower(nn.Module):
    """``vision_model`` + ``visual_projection`` of a transformers CLIP model."""

    def __init__(self, vision_model: nn.Module, projection: nn.Module) -> None:
        super().__init__()
        self.vision_model, self.projection = vision_model, projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.vision_model(pixel_values=x).pooler_output)


def missing_hf_model(ref: str, exc: Exception) -> UsageError:
    return UsageError(
        f"cannot load hf-clip model {ref!r} offline ({exc.__class__.__name__}): it is neither a local folder nor "
        f"in the Hugging Face cache; download it once while online (huggingface-cli download {ref}) or give the "
        "folder a save_pretrained wrote"
    )


class HfClipModel(ImageTextModel):
    """A transformers ``CLIPModel`` with its tokenizer, from a local folder or the hub cache only."""

    def __init__(self, ref: str, pretrained: bool = True, image_size: int | None = None) -> None:
        from transformers import AutoTokenizer, CLIPConfig, CLIPModel

        quiet_transformers()
        try:
            if pretrained:
                model = CLIPModel.from_pretrained(ref, local_files_only=True)
            else:  # random weights on the recorded config; a checkpoint loads its own
                model = CLIPModel(CLIPConfig.from_pretrained(ref, local_files_only=True))
            self.tokenizer = AutoTokenizer.from_pretrained(ref, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise missing_hf_model(ref, exc) from None
        self.model = model.eval()
        self.spec = f"hf-clip:{ref}"
        self.image_tower = HfClipImageTower(model.vision_model, model.visual_projection)
        self.dim = int(model.config.projection_dim)
        native = int(model.config.vision_config.image_size)  # a ViT takes its own size only
        self.preprocess = Preprocess(input_size=native, in_chans=3, mean=CLIP_MEAN, std=CLIP_STD)
        self.context_length = int(model.config.text_config.max_position_embeddings)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.context_length,
                                return_tensors="pt")
        with torch.no_grad():
            pooled = self.model.text_model(input_ids=tokens["input_ids"],
                                           attention_mask=tokens["attention_mask"]).pooler_output
            return self.model.text_projection(pooled).float().numpy()


class ZsbenchClipModel(ImageTextModel):
    """A ``zsbench pretrain`` checkpoint as an image-text model: the visual backbone followed by its
    projection, and the text tower it was pretrained with (the frozen MiniLM, or the checkpoint's own
    transformer tokenizing with its stored vocabulary) followed by the trained text projection
    (``zsbench.vlm.pretrained``). The weights are always the checkpoint's."""

    def __init__(self, path: str) -> None:
        from zsbench.backbones.pretrained import checkpoint_file
        from zsbench.vlm.pretrained import load_pretrained

        file = checkpoint_file(path)
        loaded = load_pretrained(file)
        tower = loaded.meta.get("text_tower", {})
        self.text_encoder, self.sentences = loaded.text_encoder, None  # a trained tower needs no MiniLM
        if self.text_encoder is None:
            if tower.get("id") != "minilm":
                raise UsageError(f"{file} was pretrained with the text tower {tower.get('id')!r}, which "
                                 "zsbench-clip cannot rebuild; pretrain with --text-tower minilm or transformer")
            from zsbench.text.encoders import SentenceTransformerEncoder, minilm_location

            self.sentences = SentenceTransformerEncoder(str(tower.get("model") or minilm_location()), "minilm")
        self.text_projection = loaded.text_projection.eval()
        self.spec = f"zsbench-clip:{path}"
        self.image_tower = nn.Sequential(loaded.backbone, loaded.image_projection)
        self.dim = int(loaded.image_projection.out_features)
        # what pretraining saw goes into result.json, as for pretrained:PATH (backbones/pretrained.py)
        self.preprocess = replace(loaded.backbone.preprocess, pretraining=loaded.pretraining())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            if self.text_encoder is not None:
                features = self.text_encoder.encode_texts(texts)
            else:
                features = torch.from_numpy(self.sentences.encode_texts(texts))
            return self.text_projection(features).float().numpy()


def load_image_text_model(spec: str, pretrained: bool = True, image_size: int | None = None) -> ImageTextModel:
    """``open_clip:<arch>[:<tag>]``, ``hf-clip:<name-or-path>`` or ``zsbench-clip:<pretrained.pt>``."""
    kind, _, name = spec.partition(":")
    if not name or kind not in KINDS:
        raise UsageError(f"image-text model {spec!r} is not one of " + ", ".join(f"{k}:<name>" for k in KINDS))
    if kind == "open_clip":
        return OpenClipModel(name, pretrained, image_size)
    if kind == "zsbench-clip":
        return ZsbenchClipModel(name)
    return HfClipModel(name, pretrained, image_size)
