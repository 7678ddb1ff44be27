"""The input recipe: ``auto`` gives cxr-ml-gzsl on real X-rays the paper's training and test recipe
(RandomResizedCrop + flip, TenCrop, 3-channel ImageNet input) and keeps zsbench's defaults
elsewhere; a value the user gives always wins, and the resolved recipe is recorded."""

from __future__ import annotations

import json

import pytest
import torch

from zsbench.backbones.base import prepare_batch
from zsbench.config import RunConfig
from zsbench.data.class_splits import load_class_split
from zsbench.recipe import resolve_recipe
from zsbench.registry import BACKBONES
from zsbench.sweep.plan import run_hash


@pytest.mark.parametrize(("changes", "real", "expected"), [
    ({}, False, ("shift", "none", 1)),  # the synthetic world keeps zsbench's defaults
    ({}, True, ("paper", "tencrop", 3)),  # cxr-ml-gzsl on real X-rays: the paper's recipe
    ({"method_options": {"preset": "reference"}}, True, ("paper", "tencrop", 3)),
    ({"method": "linear"}, True, ("shift", "none", 1)),  # other methods keep the defaults
    ({"augment": "shift"}, True, ("shift", "tencrop", 3)),  # given values win
    ({"tta": "none", "channels": 1}, True, ("paper", "none", 1)),
    ({"augment": "paper", "tta": "tencrop", "channels": "3"}, False, ("paper", "tencrop", 3)),
])
def test_auto_resolves_by_method_and_dataset(changes, real, expected):
    recipe = resolve_recipe(RunConfig(**changes), real_images=real)
    assert (recipe.augment, recipe.tta, recipe.channels) == expected


def test_the_reason_names_what_was_chosen():
    paper = "the paper's recipe (cxr-ml-gzsl on real images) for augment, tta, channels"
    assert resolve_recipe(RunConfig(), True).reason == paper
    assert resolve_recipe(RunConfig(augment="none", tta="none", channels=1), True).reason == "given"
    assert resolve_recipe(RunConfig(tta="none"), False).reason == "zsbench's defaults for augment, channels"


def test_timm_with_three_channels_takes_imagenet_statistics():
    grey = BACKBONES.create("timm:resnet18", image_size=32, pretrained=False)
    rgb = BACKBONES.create("timm:resnet18", image_size=32, pretrained=False, channels=3)
    assert grey.preprocess.in_chans == 1 and rgb.preprocess.in_chans == 3
    assert rgb.preprocess.mean == pytest.approx((0.485, 0.456, 0.406))
    assert rgb.preprocess.std == pytest.approx((0.229, 0.224, 0.225))
    assert grey.preprocess.mean == pytest.approx((sum((0.485, 0.456, 0.406)) / 3,))
    pixels = torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8)
    x = prepare_batch(pixels, rgb.preprocess)
    assert x.shape == (2, 3, 32, 32)
    # each channel is the grey image under that channel's own statistics
    for c in range(3):
        expected = (pixels[:, 0].float() / 255 - rgb.preprocess.mean[c]) / rgb.preprocess.std[c]
        assert torch.allclose(x[:, c], expected, atol=1e-6)
    assert rgb(x).shape == (2, 512)


def test_auto_keeps_the_hashes_of_runs_planned_with_the_old_defaults():
    split = load_class_split("synthetic-paper")
    assert run_hash(RunConfig(), split) == run_hash(RunConfig(augment="shift", tta="none"), split)
    assert run_hash(RunConfig(channels=3), split) != run_hash(RunConfig(), split)


def test_a_run_records_its_resolved_recipe(tiny_trained_run):
    result = json.loads((tiny_trained_run / "result.json").read_text())
    assert result["config"]["augment"] == "auto"
    assert result["recipe"] == {"augment": "shift", "tta": "none", "channels": 1,
                                "reason": "zsbench's defaults for augment, tta, channels", "augment_applied": "shift"}
