"""Backbone zoo: timm pretrained loading, torchxrayvision, open_clip; preprocessing and range checks."""

import numpy as np
import pytest
import torch

from zsbench.backbones import prepare_batch
from zsbench.backbones.base import Preprocess
from zsbench.data.base import ClassInfo
from zsbench.errors import DataError, UsageError
from zsbench.registry import BACKBONES, TEXT_ENCODERS

PIXELS = torch.randint(0, 256, (2, 1, 64, 64), dtype=torch.uint8)


def test_timm_pretrained_from_a_local_file(tmp_path):
    import timm

    reference = timm.create_model("resnet18", pretrained=False, num_classes=0)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    backbone = BACKBONES.create("timm:resnet18", image_size=32, weights=str(tmp_path / "resnet18.pth"))
    # timm folds the RGB filters of the first convolution into one grey channel
    assert torch.allclose(backbone.model.conv1.weight, reference.conv1.weight.sum(1, keepdim=True))
    assert torch.equal(backbone.model.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)


def test_timm_pretrained_without_weights_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty hub cache
    with pytest.raises(UsageError, match=r"no pretrained weights for timm model 'resnet18'.*--no-pretrained"):
        BACKBONES.create("timm:resnet18", image_size=32)
    assert BACKBONES.create("timm:resnet18", image_size=32, pretrained=False).feature_dim == 512


def test_xrv_backbone_preprocessing_feature_map_and_missing_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no torchxrayvision weight cache
    with pytest.raises(UsageError, match=r"densenet121-res224-nih.*are not in .*--no-pretrained"):
        BACKBONES.create("xrv:densenet121-res224-nih")
    backbone = BACKBONES.create("xrv:densenet121-res224-all", pretrained=False, image_size=64).eval()
    assert backbone.preprocess.expected_range == (-1024.0, 1024.0)
    x = prepare_batch(PIXELS, backbone.preprocess)
    assert x.shape == (2, 1, 64, 64) and x.min() >= -1024 and x.max() <= 1024
    with torch.no_grad():
        assert backbone(x).shape == (2, 1024)
        assert backbone.forward_features(x).shape[:2] == (2, 1024)


def test_batch_outside_the_expected_range_fails_loudly():
    pre = Preprocess(input_size=8, mean=(0.5,), std=(1 / 2048,), expected_range=(-1024.0, 1024.0))
    with pytest.raises(DataError, match="uint8"):
        prepare_batch(torch.rand(1, 1, 8, 8), pre)  # already-normalised floats are refused
    skewed = Preprocess(input_size=8, mean=(0.0,), std=(1 / 4096,), expected_range=(-1024.0, 1024.0))
    with pytest.raises(DataError, match="expects \\[-1024, 1024\\]"):
        prepare_batch(torch.full((1, 1, 8, 8), 255, dtype=torch.uint8), skewed)


def test_open_clip_visual_and_text_towers_with_random_weights():
    backbone = BACKBONES.create("open_clip:ViT-B-32", pretrained=False).eval()
    assert backbone.preprocess.in_chans == 3 and backbone.preprocess.input_size == 224
    x = prepare_batch(PIXELS[:1], backbone.preprocess)
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        assert backbone(x).shape == (1, backbone.feature_dim)
    encoder = TEXT_ENCODERS.create("open_clip:ViT-B-32", pretrained=False)
    vectors = encoder.encode_classes([ClassInfo("Mass", ("a round opacity",)), ClassInfo("Edema", ("haze",))],
                                     "description")
    assert vectors.shape == (2, 512) and not np.allclose(vectors[0], vectors[1])
    with pytest.raises(UsageError, match="cannot load open_clip weights"):
        TEXT_ENCODERS.create("open_clip:ViT-B-32:/no/such/file.bin")
