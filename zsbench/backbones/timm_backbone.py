"""Any timm model as a backbone: ``timm:<model name>``."""

from __future__ import annotations

import torch

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.errors import UnknownNameError, UsageError
from zsbench.registry import BACKBONES


class TimmBackbone(Backbone):
    """A timm model with its classifier removed, built for 1-channel input.

    timm adapts the first convolution to ``in_chans=1`` (summing pretrained RGB filters), so
    grayscale X-rays need no channel copying. Weights start random: zsbench never downloads them.
    """

    def __init__(self, name: str, input_size: int) -> None:
        super().__init__()
        import timm

        if not timm.is_model(name):
            raise UnknownNameError("timm model", name, timm.list_models())
        self.model = timm.create_model(name, pretrained=False, num_classes=0, in_chans=1)
        self.feature_dim = int(self.model.num_features)
        cfg = getattr(self.model, "pretrained_cfg", {}) or {}
        mean = cfg.get("mean", (0.485, 0.456, 0.406))
        std = cfg.get("std", (0.229, 0.224, 0.225))
        # a single grey channel takes the mean of the RGB statistics
        self.preprocess = Preprocess(
            input_size=input_size,
            in_chans=1,
            mean=(float(sum(mean) / len(mean)),),
            std=(float(sum(std) / len(std)),),
        )
        self.model_name = name

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@BACKBONES.register("timm", parametric=True, description="any timm model, e.g. timm:resnet18")
def create_timm(name: str, *, image_size: int = 224, **_: object) -> TimmBackbone:
    if not name:
        raise UsageError("give a timm model name, e.g. --backbone timm:resnet18")
    return TimmBackbone(name, input_size=image_size)
