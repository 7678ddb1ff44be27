"""What a visual backbone is to the rest of zsbench."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Preprocess:
    """How raw uint8 grayscale pixels become the backbone's input."""

    input_size: int
    in_chans: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Backbone(nn.Module):
    """An image encoder: ``forward(x) -> (n, feature_dim)`` pooled features.

    ``x`` is float, shape (n, in_chans, H, W), already normalised by :attr:`preprocess`.
    """

    feature_dim: int
    preprocess: Preprocess


def prepare_batch(pixels: torch.Tensor, preprocess: Preprocess) -> torch.Tensor:
    """uint8 (n, 1, H, W) -> normalised float (n, in_chans, size, size)."""
    x = pixels.float().div_(255.0)
    if x.shape[-1] != preprocess.input_size or x.shape[-2] != preprocess.input_size:
        x = nn.functional.interpolate(
            x, size=(preprocess.input_size, preprocess.input_size), mode="bilinear", antialias=True
        )
    if preprocess.in_chans != 1:
        x = x.expand(-1, preprocess.in_chans, -1, -1)
    mean = torch.tensor(preprocess.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(preprocess.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std
