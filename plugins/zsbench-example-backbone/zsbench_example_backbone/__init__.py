"""A small residual CNN, packaged as a zsbench backbone plugin."""

from __future__ import annotations

import torch
from torch import nn

from zsbench.backbones import Backbone, Preprocess

__version__ = "0.1.0"


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class MiniResNet(Backbone):
    """Three residual stages and global average pooling: a grayscale-native toy ResNet."""

    def __init__(self, input_size: int, width: int = 16) -> None:
        super().__init__()
        self.stages = nn.Sequential(
            _Residual(1, width), _Residual(width, width * 2), _Residual(width * 2, width * 4)
        )
        self.feature_dim = width * 4
        self.preprocess = Preprocess(input_size=input_size, in_chans=1, mean=(0.35,), std=(0.25,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x).mean(dim=(2, 3))


def create_mini_resnet(*, image_size: int = 128, **_: object) -> MiniResNet:
    return MiniResNet(input_size=image_size)
