"""Any timm model as a backbone: ``timm:<model name>``."""

from __future__ import annotations

from pathlib import Path

import torch

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.errors import UnknownNameError, UsageError


class TimmBackbone(Backbone):
    """A timm model with its classifier removed, built for 1- or 3-channel input.

    ``channels=1`` (zsbench's default): timm adapts the first convolution to ``in_chans=1`` (summing
    pretrained RGB filters), so grayscale X-rays need no channel copying, and the grey channel is
    normalised with the mean of the RGB statistics. ``channels=3`` (the paper's recipe): the grey
    image is copied to three channels and normalised with the model's own (ImageNet) mean and std,
    as the public CXR-ML-GZSL code feeds its DenseNet-121. Pretrained weights come from ``weights`` (a local
    file) or from the Hugging Face hub cache; zsbench runs offline, so a missing cache is an error
    that names the fix. ``pretrained=False`` starts from random weights.
    """

    def __init__(self, name: str, input_size: int, pretrained: bool = True, weights: str | None = None,
                 channels: int = 1) -> None:
        super().__init__()
        import timm

        if not timm.is_model(name):
            raise UnknownNameError("timm model", name, timm.list_models())
        if channels not in (1, 3):
            raise UsageError(f"timm backbones take 1 or 3 input channels (got {channels})")
        kwargs: dict = {"num_classes": 0, "in_chans": channels}
        if weights:
            if not Path(weights).is_file():
                raise UsageError(f"--backbone-weights {weights} does not exist")
            kwargs["pretrained_cfg_overlay"] = {"file": str(weights)}
        try:
            self.model = timm.create_model(name, pretrained=pretrained or bool(weights), **kwargs)
        except (OSError, RuntimeError, ValueError) as exc:
            if not (pretrained or weights):
                raise
            raise UsageError(
                f"no pretrained weights for timm model {name!r} in the hub cache ({exc.__class__.__name__}); "
                "pass --backbone-weights FILE, fill the cache where the hub is reachable, or use --no-pretrained"
            ) from None
        self.pretrained = bool(pretrained or weights)
        self.feature_dim = int(self.model.num_features)
        cfg = getattr(self.model, "pretrained_cfg", {}) or {}
        mean = cfg.get("mean", (0.485, 0.456, 0.406))
        std = cfg.get("std", (0.229, 0.224, 0.225))
        if channels == 3:
            self.preprocess = Preprocess(input_size=input_size, in_chans=3, mean=tuple(float(m) for m in mean),
                                         std=tuple(float(s) for s in std))
        else:  # a single grey channel takes the mean of the RGB statistics
            self.preprocess = Preprocess(
                input_size=input_size,
                in_chans=1,
                mean=(float(sum(mean) / len(mean)),),
                std=(float(sum(std) / len(std)),),
            )
        self.model_name = name

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)

    @property
    def feature_map_dim(self) -> int:
        return self.feature_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def create_timm(name: str, *, image_size: int | None = None, pretrained: bool = True,
                weights: str | None = None, channels: int = 1, **_: object) -> TimmBackbone:
    if not name:
        raise UsageError("give a timm model name, e.g. --backbone timm:resnet18")
    return TimmBackbone(name, input_size=image_size or 224, pretrained=pretrained, weights=weights, channels=channels)
