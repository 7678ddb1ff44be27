import numpy as np
import pytest
import torch
from torch import nn

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.engine.trainer import ZeroShotModel
from zsbench.errors import UsageError
from zsbench.methods.base import Method
from zsbench.saliency import gradcam, overlay


class BrightDark(Backbone):
    """Two fixed detectors: channel 0 fires on bright pixels, channel 1 on dark ones."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight[:] = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
        self.act = nn.ReLU()
        self.feature_dim = 2
        self.preprocess = Preprocess(input_size=32, mean=(0.5,), std=(0.5,))

    def forward(self, x):
        return self.act(self.conv(x)).mean(dim=(2, 3))


class Flat(BrightDark):
    """No spatial map survives: pooling happens before any module output."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(1, 2)

    def forward(self, x):
        return self.head(x.mean(dim=(1, 2, 3)).unsqueeze(1))


class Dot(Method):
    name = "dot"

    def forward(self, features, class_embeddings):
        return features @ class_embeddings.T

    def loss(self, features, class_embeddings, labels):
        raise NotImplementedError


def test_gradcam_points_at_each_class_evidence():
    image = np.full((1, 1, 32, 32), 128, dtype=np.uint8)
    image[0, 0, 2:9, 2:9] = 255  # bright patch, top left
    image[0, 0, 22:30, 22:30] = 0  # dark patch, bottom right
    model = ZeroShotModel(BrightDark(), Dot())
    classes = torch.eye(2)  # class 0 reads the bright detector, class 1 the dark one
    cams = gradcam(model, image, classes, np.array([[0, 1]]))
    assert cams.shape == (1, 2, 32, 32) and cams.min() >= 0 and cams.max() == pytest.approx(1.0)
    bright, dark = cams[0, 0], cams[0, 1]
    assert bright[2:9, 2:9].mean() > 0.9 and bright[22:30, 22:30].max() < 0.05
    assert dark[22:30, 22:30].mean() > 0.9 and dark[2:9, 2:9].max() < 0.05
    # batch of two images, each with its own class order
    both = gradcam(model, np.concatenate([image, image]), classes, np.array([[0, 1], [1, 0]]))
    np.testing.assert_allclose(both[1, 0], dark, atol=1e-6)


def test_backbone_without_a_spatial_map_is_refused():
    model = ZeroShotModel(Flat(), Dot())
    with pytest.raises(UsageError, match="no spatial feature map"):
        gradcam(model, np.zeros((1, 1, 32, 32), dtype=np.uint8), torch.eye(2), np.array([[0]]))


def test_overlay_tints_only_where_the_map_is_strong():
    gray = np.full((40, 60), 100, dtype=np.uint8)
    cam = np.zeros((10, 10), dtype=np.float32)
    cam[:, 5:] = 1.0
    rgb = overlay(gray, cam)
    assert rgb.shape == (40, 60, 3) and rgb.dtype == np.uint8
    assert (rgb[:, :20] == 100).all()  # cam 0: the X-ray untouched
    assert np.abs(rgb[:, 45:].astype(int) - 100).max() > 40  # cam 1: coloured
    big = overlay(np.zeros((2048, 1024), dtype=np.uint8), cam)
    assert big.shape == (512, 256, 3)  # long side capped for small files
