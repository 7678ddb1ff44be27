"""Training augmentation recipes (engine/augment.py): the paper recipe's crop boxes follow
torchvision's RandomResizedCrop, its resampling matches torchvision's resized crop, and every draw is
seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp
from torchvision.transforms import InterpolationMode, RandomResizedCrop
from torchvision.transforms import functional as TF

from zsbench.config import RunConfig
from zsbench.engine.augment import (
    augment_batch,
    crop_boxes,
    paper_batch,
    paper_draws,
    resized_crops,
    shift_batch,
)
from zsbench.errors import UsageError

DRAWS = 20_000


def _torchvision_boxes(height: int, width: int, seed: int) -> np.ndarray:
    torch.manual_seed(seed)
    image = torch.zeros(1, height, width)
    return np.array([RandomResizedCrop.get_params(image, [0.08, 1.0], [3 / 4, 4 / 3]) for _ in range(DRAWS)])


@pytest.mark.parametrize(("height", "width"), [(256, 256), (64, 200)])
def test_crop_area_and_aspect_ratio_follow_torchvision(height, width):
    ours = crop_boxes(DRAWS, height, width, torch.Generator().manual_seed(1)).numpy()
    theirs = _torchvision_boxes(height, width, seed=2)
    for boxes in (ours, theirs):
        top, left, h, w = boxes.T
        assert (top >= 0).all() and (left >= 0).all() and (top + h <= height).all() and (left + w <= width).all()
    share = [b[:, 2] * b[:, 3] / (height * width) for b in (ours, theirs)]
    log_ratio = [np.log(b[:, 3] / b[:, 2]) for b in (ours, theirs)]
    centre_y = [b[:, 0] + b[:, 2] / 2 for b in (ours, theirs)]
    for a, b in (share, log_ratio, centre_y):
        assert ks_2samp(a, b).pvalue > 1e-3
    # the fallback (central crop) is taken as often: on a wide image, whole-height crops
    fallback = [np.mean((b[:, 2] == height) & (b[:, 0] == 0)) for b in (ours, theirs)]
    assert abs(fallback[0] - fallback[1]) < 0.01
    if width / height > 4 / 3:
        assert fallback[0] > 0.001  # the wide case does exercise it


def test_resized_crop_matches_torchvision_and_the_whole_box_is_the_identity():
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.integers(0, 256, size=(4, 1, 40, 40), dtype=np.uint8))
    whole = torch.tensor([[0, 0, 40, 40]] * 4)
    assert torch.equal(resized_crops(pixels, whole, 40), pixels.float())
    # enlarging, shrinking (antialiased) and a box that does both
    boxes = torch.tensor([[3, 5, 20, 16], [0, 0, 40, 40], [10, 2, 25, 25], [0, 4, 36, 10]])
    ours = resized_crops(pixels, boxes, 30)
    for k, (top, left, h, w) in enumerate(boxes.tolist()):
        ref = TF.resized_crop(pixels[k].float(), top, left, h, w, [30, 30],
                              interpolation=InterpolationMode.BILINEAR, antialias=True)
        assert torch.allclose(ours[k], ref, atol=1e-3), k


def test_paper_batch_is_seeded_per_image_and_keeps_uint8():
    pixels = torch.arange(4 * 32 * 32, dtype=torch.int64).remainder(256).to(torch.uint8).view(4, 1, 32, 32)
    a = paper_batch(pixels, torch.Generator().manual_seed(3))
    b = paper_batch(pixels, torch.Generator().manual_seed(3))
    c = paper_batch(pixels, torch.Generator().manual_seed(4))
    assert a.dtype == torch.uint8 and a.shape == pixels.shape
    assert torch.equal(a, b) and not torch.equal(a, c)
    # an image's own box: identical images in one batch get different crops
    same = pixels[:1].expand(4, -1, -1, -1).contiguous()
    out = paper_batch(same, torch.Generator().manual_seed(5))
    assert len({bytes(o.numpy()) for o in out}) == 4


def test_each_image_is_its_crop_flipped_half_the_time():
    rng = np.random.default_rng(1)
    pixels = torch.from_numpy(rng.integers(0, 256, size=(16, 1, 24, 24), dtype=np.uint8))
    out = paper_batch(pixels, torch.Generator().manual_seed(7))
    boxes, flips = paper_draws(16, 24, 24, torch.Generator().manual_seed(7))  # the same draws
    crops = resized_crops(pixels, boxes, 24).round().clamp(0, 255).to(torch.uint8)
    for k in range(16):
        assert torch.equal(out[k], crops[k].flip(-1) if flips[k] else crops[k]), k
    _, many = paper_draws(20_000, 24, 24, torch.Generator().manual_seed(8))
    assert abs(many.float().mean().item() - 0.5) < 0.015


def test_shift_and_none_and_unknown_recipes():
    pixels = torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(augment_batch("none", pixels, torch.Generator()), pixels)
    assert torch.equal(augment_batch("shift", pixels, torch.Generator().manual_seed(1)),
                       shift_batch(pixels, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_batch("flip", pixels, torch.Generator())


def test_config_names_the_recipe_and_reads_old_booleans():
    assert RunConfig().augment == "auto"
    assert RunConfig.from_dict({"augment": True}).augment == "shift"
    assert RunConfig.from_dict({"augment": False}).augment == "none"
    assert RunConfig.from_dict({"augment": "paper"}).augment == "paper"
    with pytest.raises(UsageError, match="--augment must be one of auto, shift, paper, none"):
        RunConfig.from_dict({"augment": "flip"})
