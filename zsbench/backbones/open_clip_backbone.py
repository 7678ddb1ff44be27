"""open_clip models: visual towers as backbones and text towers as text encoders.

``open_clip:<arch>[:<tag>]``, e.g. ``open_clip:ViT-B-32:laion2b_s34b_b79k``. ``<tag>`` is an
open_clip pretrained tag (loaded from the hub cache, offline) or a local weights file; without a
tag, or with ``--no-pretrained`` (``pretrained=False``), the model starts from random weights.
"""

from __future__ import annotations

import numpy as np
import torch

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.data.base import ClassInfo
from zsbench.errors import UnknownNameError, UsageError
from zsbench.text.class_texts import encode_with_mode
from zsbench.text.encoders import TextEncoder

#: open_clip model names that carry their own config and weights (a hub repository, a local folder)
SCHEMAS = ("hf-hub:", "local-dir:")


def split_spec(spec: str) -> tuple[str, str]:
    """``<arch>[:<tag>]`` -> (arch, tag); ``hf-hub:<repo>`` and ``local-dir:<path>`` are whole names."""
    if spec.startswith(SCHEMAS):
        return spec, ""
    arch, _, tag = spec.partition(":")
    return arch, tag


def create_open_clip(spec: str, pretrained: bool = True):
    import open_clip

    arch, tag = split_spec(spec)
    schema = arch.startswith(SCHEMAS)
    if not schema and arch not in open_clip.list_models():
        raise UnknownNameError("open_clip architecture", arch, open_clip.list_models())
    use_tag = tag if (tag and pretrained) else None
    try:
        if schema:  # config and weights come together; random weights on the recorded config otherwise
            model = open_clip.create_model(arch, load_weights=pretrained, device="cpu")
        else:
            model = open_clip.create_model(arch, pretrained=use_tag, device="cpu")
    except (OSError, RuntimeError, ValueError) as exc:
        where = ("download it once while online (open_clip or huggingface-cli fills the hub cache) or give "
                 "local-dir:<folder>") if schema else "put them in the hub cache, give a local file as the tag"
        raise UsageError(
            f"cannot load open_clip weights {spec!r} offline ({exc.__class__.__name__}); {where}, "
            "or use --no-pretrained"
        ) from None
    return model, arch, use_tag


class OpenClipVisual(Backbone):
    """The image tower of an open_clip model; its output embedding is the feature vector."""

    def __init__(self, spec: str, pretrained: bool, input_size: int | None) -> None:
        super().__init__()
        import open_clip

        model, self.arch, self.tag = create_open_clip(spec, pretrained)
        self.visual = model.visual
        size = self.visual.image_size
        native = int(size[0] if isinstance(size, tuple | list) else size)
        self.feature_dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") else int(
            self.visual.output_dim)
        if hasattr(self.visual, "positional_embedding"):  # a ViT takes its own size only: images are resized
            input_size = native
        self.preprocess = Preprocess(input_size=input_size or native, in_chans=3,
                                     mean=tuple(open_clip.OPENAI_DATASET_MEAN), std=tuple(open_clip.OPENAI_DATASET_STD))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(x)


class OpenClipText(TextEncoder):
    """The text tower of an open_clip model (its tokenizer included)."""

    def __init__(self, spec: str, pretrained: bool = True) -> None:
        import open_clip

        self.model, arch, tag = create_open_clip(spec, pretrained)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.id = f"open_clip:{arch}" + (f":{tag}" if tag else "")

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return self.model.encode_text(self.tokenizer(texts)).float().numpy()

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        return encode_with_mode(self.encode_texts, classes, class_text)


def create_open_clip_backbone(spec: str, *, image_size: int | None = None, pretrained: bool = True,
                              **_: object) -> OpenClipVisual:
    return OpenClipVisual(spec, pretrained, image_size)


def create_open_clip_text(spec: str, *, pretrained: bool = True, prompts: str | None = None,
                          **_: object) -> TextEncoder:
    if prompts is None:
        return OpenClipText(spec, pretrained)
    from zsbench.vlm.models import OpenClipModel
    from zsbench.vlm.prompts import load_prompt_set
    from zsbench.vlm.towers import PromptTextEncoder

    chosen = load_prompt_set(prompts)  # a bad prompt set is refused before the model loads
    return PromptTextEncoder(OpenClipModel(spec, pretrained), chosen)
