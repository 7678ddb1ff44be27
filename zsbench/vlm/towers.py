"""An image-text model's two towers as zsbench parts: the image tower as a backbone, the text
tower (with an optional prompt set) as a text encoder.

``hf-clip:<name-or-path>`` is registered as both; ``open_clip:`` keeps its own backbone
(``zsbench.backbones.open_clip_backbone``) and its text encoder takes the same ``prompts`` option.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zsbench.backbones.base import Backbone
from zsbench.backbones.pretrained import checkpoint_file
from zsbench.data.base import ClassInfo
from zsbench.options import OptionSet
from zsbench.text.class_texts import encode_with_mode
from zsbench.text.encoders import TextEncoder
from zsbench.vlm.models import HfClipModel, ImageTextModel, ZsbenchClipModel
from zsbench.vlm.prompts import PromptSet, encode_prompts, load_prompt_set


class PromptOptions(OptionSet):
    """``--text-option`` keys of an image-text model's text tower."""

    prompts: str | None = None  # a built-in prompt set (cxr, nih, chexpert, padchest, chexzero) or a YAML file


class ImageTower(Backbone):
    """The image tower of an image-text model; its embedding is the feature vector."""

    def __init__(self, model: ImageTextModel) -> None:
        super().__init__()
        self.tower = model.image_tower
        self.feature_dim = model.dim
        self.preprocess = model.preprocess
        self.spec = model.spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tower(x)


class PromptTextEncoder(TextEncoder):
    """An image-text model's text tower. With a prompt set, classes are embedded through its prompts
    (``vlm.prompts.encode_prompts``); without one, like any text encoder, from the run's class text."""

    def __init__(self, model: ImageTextModel, prompts: PromptSet | None = None) -> None:
        self.model, self.prompts = model, prompts
        self.id = model.spec

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_texts(texts)

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        if self.prompts is None:
            return encode_with_mode(self.encode_texts, classes, class_text)
        return encode_prompts(self.encode_texts, classes, self.prompts)

    def describe(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id}
        if self.prompts is not None:
            record["prompts"] = self.prompts.to_dict()
        return record


def prompt_set(prompts: str | None) -> PromptSet | None:
    return None if prompts is None else load_prompt_set(prompts)


def create_hf_clip_backbone(ref: str, *, image_size: int | None = None, pretrained: bool = True,
                            **_: object) -> ImageTower:
    return ImageTower(HfClipModel(ref, pretrained, image_size))


def create_hf_clip_text(ref: str, *, pretrained: bool = True, prompts: str | None = None,
                        **_: object) -> PromptTextEncoder:
    chosen = prompt_set(prompts)  # a bad prompt set is refused before the model loads
    return PromptTextEncoder(HfClipModel(ref, pretrained), chosen)


def create_zsbench_clip_backbone(path: str, **_: object) -> ImageTower:
    """The image tower (backbone + projection) of a ``zsbench pretrain`` checkpoint."""
    return ImageTower(ZsbenchClipModel(path))


def create_zsbench_clip_text(path: str, *, prompts: str | None = None, **_: object) -> PromptTextEncoder:
    """The text tower (frozen MiniLM, or the trained transformer with its vocabulary, + trained
    projection) of a ``zsbench pretrain`` checkpoint."""
    chosen = prompt_set(prompts)
    return PromptTextEncoder(ZsbenchClipModel(path), chosen)


# a missing checkpoint is refused before any work (Registry.check_argument)
create_zsbench_clip_backbone.check_argument = checkpoint_file  # type: ignore[attr-defined]
create_zsbench_clip_text.check_argument = checkpoint_file  # type: ignore[attr-defined]
