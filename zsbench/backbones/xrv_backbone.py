"""torchxrayvision chest X-ray models as backbones: ``xrv:<weights>`` (e.g. xrv:densenet121-res224-all)."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.errors import UnknownNameError, UsageError

# torchxrayvision expects 1-channel images scaled to [-1024, 1024]: x in [0, 1] -> (x - 0.5) * 2048
XRV_PREPROCESS = dict(in_chans=1, mean=(0.5,), std=(1 / 2048,), expected_range=(-1024.0, 1024.0))


def xrv_cache_dir() -> Path:
    """Where torchxrayvision keeps downloaded weights (its own convention)."""
    return Path(os.path.expanduser("~")) / ".torchxrayvision" / "models_data"


class XrvBackbone(Backbone):
    """A torchxrayvision DenseNet or ResNet without its classifier; pooled features are the
    global average of its last feature map (1024 channels for DenseNet-121)."""

    def __init__(self, weights: str, pretrained: bool, input_size: int | None) -> None:
        super().__init__()
        import torchxrayvision as xrv

        urls = xrv.models.model_urls
        if weights not in urls:
            raise UnknownNameError("torchxrayvision weights", weights, [k for k in urls if "-" in k])
        info = urls[weights]
        if pretrained:
            cached = xrv_cache_dir() / os.path.basename(info["weights_url"])
            if not cached.is_file():
                raise UsageError(
                    f"torchxrayvision weights {weights!r} are not in {cached.parent}; download "
                    f"{info['weights_url']} there, or use --no-pretrained"
                )
        kind = xrv.models.ResNet if weights.startswith("resnet") else xrv.models.DenseNet
        if pretrained:
            self.model = kind(weights=weights, cache_dir=str(xrv_cache_dir()) + os.sep)
        elif kind is xrv.models.DenseNet:
            self.model = kind(weights=None)
        else:
            raise UsageError("random-initialised torchxrayvision ResNets are not supported; use timm:resnet50")
        self.weights_name = weights
        size = input_size or int(info.get("input_resolution", 224))
        self.preprocess = Preprocess(input_size=size, **XRV_PREPROCESS)
        self.feature_map_dim = self.feature_dim = int(self.model.classifier.in_features) \
            if hasattr(self.model, "classifier") else int(self.model.model.fc.in_features)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self.model, "features"):
            return torch.relu(self.model.features(x))
        body = self.model.model
        x = body.maxpool(body.relu(body.bn1(body.conv1(x))))
        return body.layer4(body.layer3(body.layer2(body.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).mean(dim=(2, 3))


def create_xrv(model: str, *, image_size: int | None = None, pretrained: bool = True, weights: str | None = None,
               **_: object) -> XrvBackbone:
    # the engine passes --backbone-weights as ``weights``; torchxrayvision loads its own from its cache
    if weights:
        raise UsageError("--backbone-weights is for timm models; xrv weights come from torchxrayvision's cache "
                         f"({xrv_cache_dir()})")
    return XrvBackbone(model, pretrained, image_size)
