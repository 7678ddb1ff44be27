"""Training augmentation recipes, applied to a whole uint8 batch on the training device.

- ``shift``: a small random translation (up to 1/32 of the side) shared by the batch, edge padded
  (zsbench's synthetic default).
- ``paper``: what CXR-ML-GZSL's paper and public code train with (REFERENCE.md section 1):
  torchvision's ``RandomResizedCrop`` (scale (0.08, 1), ratio (3/4, 4/3)) back to the input size,
  then a horizontal flip with probability 1/2, each image with its own crop box and flip.
- ``none``: the images as they are.

Every random draw comes from the trainer's ``torch.Generator`` (on the CPU), so a run is
deterministic for its seed and a resumed run continues the same stream. The crop boxes follow
torchvision's ``RandomResizedCrop.get_params`` exactly (ten tries per image, then the central crop
of the nearest allowed aspect ratio), drawn for the whole batch at once; each crop is then resized
as torchvision's ``resized_crop`` resizes it (bilinear, antialiased when shrinking).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zsbench.config import AUGMENTATIONS

SCALE = (0.08, 1.0)
RATIO = (3.0 / 4.0, 4.0 / 3.0)
TRIES = 10  # torchvision's attempts before its fallback


def shift_batch(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Small random translation (up to 1/32 of the side) per batch, edge padded."""
    size = pixels.shape[-1]
    pad = max(1, size // 32)
    shift = torch.randint(-pad, pad + 1, (2,), generator=generator).tolist()
    padded = nn.functional.pad(pixels.float(), (pad, pad, pad, pad), mode="replicate")
    y0, x0 = pad + shift[0], pad + shift[1]
    return padded[..., y0 : y0 + size, x0 : x0 + size].to(pixels.dtype)


def crop_boxes(
    n: int, height: int, width: int, generator: torch.Generator,
    scale: tuple[float, float] = SCALE, ratio: tuple[float, float] = RATIO,
) -> torch.Tensor:
    """(n, 4) integer boxes (top, left, h, w) drawn as ``RandomResizedCrop.get_params`` draws one:
    up to ten (area share, log aspect ratio) tries, the first that fits; else the central crop."""
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    target = area * (scale[0] + (scale[1] - scale[0]) * torch.rand(n, TRIES, generator=generator, dtype=torch.float64))
    aspect = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(n, TRIES, generator=generator, dtype=torch.float64))
    w = torch.round(torch.sqrt(target * aspect)).long()
    h = torch.round(torch.sqrt(target / aspect)).long()
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.long().argmax(dim=1)  # index of the first try that fits (0 when none does)
    found = fits.any(dim=1)
    rows = torch.arange(n)
    h, w = h[rows, first], w[rows, first]
    # the fallback: the whole image, cut to the nearest allowed aspect ratio
    in_ratio = width / height
    if in_ratio < min(ratio):
        fw, fh = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        fw, fh = round(height * max(ratio)), height
    else:
        fw, fh = width, height
    h = torch.where(found, h, torch.full_like(h, fh))
    w = torch.where(found, w, torch.full_like(w, fw))
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    top = torch.where(found, (u[:, 0] * (height - h + 1)).floor().long(), torch.full_like(h, (height - fh) // 2))
    left = torch.where(found, (u[:, 1] * (width - w + 1)).floor().long(), torch.full_like(w, (width - fw) // 2))
    return torch.stack([top, left, h, w], dim=1)


def resized_crops(pixels: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Each image's box, resized to ``size`` x ``size`` as torchvision's ``resized_crop`` does it
    (bilinear, antialiased where the box is larger than the output); float, same value range.

    One small interpolation per image on the batch's device (one kernel launch per image on a
    GPU); ``benchmarks/augment_throughput.py`` times it against torchvision's per-image path."""
    out = torch.empty(pixels.shape[0], pixels.shape[1], size, size, dtype=torch.float32, device=pixels.device)
    for k, (top, left, h, w) in enumerate(boxes.tolist()):
        crop = pixels[k : k + 1, :, top : top + h, left : left + w].float()
        out[k] = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False,
                               antialias=h > size or w > size)[0]
    return out


def paper_draws(n: int, height: int, width: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper recipe's random choices for a batch: crop boxes (n, 4), then flips (n,) bool."""
    boxes = crop_boxes(n, height, width, generator)
    return boxes, torch.rand(n, generator=generator) < 0.5


def paper_batch(pixels: torch.Tensor, generator: torch.Generator, size: int | None = None) -> torch.Tensor:
    """RandomResizedCrop + horizontal flip for a uint8 (n, c, H, W) batch, one box and one flip
    per image; uint8 out, ``size`` x ``size`` (default: the input's side)."""
    n, _, height, width = pixels.shape
    size = size or width
    boxes, flip = paper_draws(n, height, width, generator)
    out = resized_crops(pixels, boxes, size)
    flip = flip.to(out.device).view(n, 1, 1, 1)
    out = torch.where(flip, out.flip(-1), out)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def augment_batch(kind: str, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The recipe ``kind`` (one of :data:`AUGMENTATIONS`) applied to a uint8 batch."""
    if kind == "shift":
        return shift_batch(pixels, generator)
    if kind == "paper":
        return paper_batch(pixels, generator)
    if kind == "none":
        return pixels
    raise ValueError(f"unknown augmentation {kind!r}; choose one of {', '.join(AUGMENTATIONS)}")
