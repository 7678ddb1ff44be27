"""A small CNN that trains in minutes on two CPU cores: the synthetic benchmark's default."""

from __future__ import annotations

import torch
from torch import nn

from zsbench.backbones.base import Backbone, Preprocess


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class TinyCNN(Backbone):
    """Four stride-2 stages, then global average and max pooling, concatenated.

    Global pooling makes a pattern detector fire wherever the pattern is, so a pattern learned
    from one seen class (Consolidation's dense patches) still fires for an unseen class that shows
    it wherever it lies (Pneumonia's); the max half keeps small findings visible.
    """

    def __init__(self, input_size: int = 128, width: int = 16) -> None:
        super().__init__()
        widths = [width, width * 2, width * 4, width * 4]
        stages, cin = [], 1
        for w in widths:
            stages.append(_block(cin, w))
            cin = w
        self.features = nn.Sequential(*stages)
        self.feature_dim = 2 * cin
        self.feature_map_dim = cin
        self.preprocess = Preprocess(input_size=input_size, in_chans=1, mean=(0.35,), std=(0.25,))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Spatial feature map (n, C, h, w)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.forward_features(x)
        return torch.cat([fmap.mean(dim=(2, 3)), fmap.amax(dim=(2, 3))], dim=1)


def create_tiny_cnn(*, image_size: int = 128, **_: object) -> TinyCNN:
    return TinyCNN(input_size=image_size)
