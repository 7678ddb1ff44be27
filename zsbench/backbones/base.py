"""What a visual backbone is to the rest of zsbench."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from zsbench.errors import DataError, UsageError


@dataclass(frozen=True)
class Preprocess:
    """How raw uint8 grayscale pixels become the backbone's input."""

    input_size: int
    in_chans: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    #: where normalised inputs must lie; a batch outside it means a broken pipeline
    expected_range: tuple[float, float] | None = None
    #: what the weights were pretrained on, for backbones from ``zsbench pretrain`` (``pretrained:PATH``);
    #: recorded with the preprocessing, so result.json, checkpoints and feature-cache keys carry it
    pretraining: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, object]:
        record = asdict(self)
        if record["pretraining"] is None:  # absent, not null: records of other backbones stay as they were
            del record["pretraining"]
        return record


@dataclass(frozen=True)
class FeatureInput(Preprocess):
    """The input of a stand-in for a frozen backbone: features that backbone computed beforehand
    (``zsbench.engine.feature_cache``). :func:`prepare_batch` passes them through unchanged; the
    fields are the real backbone's, so what a run records about preprocessing stays the same."""


class Backbone(nn.Module, metaclass=ABCMeta):
    """An image encoder: ``forward(x) -> (n, feature_dim)`` pooled features.

    ``x`` is float, shape (n, in_chans, H, W), already normalised by :attr:`preprocess`. Every
    member the engine uses is declared here, so it never probes a backbone with ``getattr``:

    - ``feature_dim`` and ``preprocess`` (required: a part without them is refused by the registry);
    - :meth:`forward` (abstract);
    - the spatial hooks for methods with ``feature_kind = "map"`` (LESA): ``feature_map_dim``, the
      channel count of :meth:`forward_features`' map (n, feature_map_dim, h, w). The default None
      says the backbone has no map; a backbone that sets it must override :meth:`forward_features`.
    """

    feature_dim: int
    preprocess: Preprocess
    feature_map_dim: int | None = None

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features, shape (n, feature_dim)."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial feature map (n, feature_map_dim, h, w); only backbones that declare
        ``feature_map_dim`` have one."""
        raise UsageError(
            f"backbone {type(self).__name__} gives no spatial feature map (its feature_map_dim is None); "
            "use a method on pooled features or a backbone with a feature map"
        )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def backbone_problems(backbone: Backbone) -> list[str]:
    """What the declared members' values get wrong (the registry's contract check)."""
    problems = []
    if not _positive_int(backbone.feature_dim):
        problems.append(f"feature_dim is {backbone.feature_dim!r}, not a positive int")
    if not isinstance(backbone.preprocess, Preprocess):
        problems.append(f"preprocess is a {type(backbone.preprocess).__name__}, not a zsbench.backbones.Preprocess")
    if backbone.feature_map_dim is not None:
        if not _positive_int(backbone.feature_map_dim):
            problems.append(f"feature_map_dim is {backbone.feature_map_dim!r}, not None or a positive int")
        if type(backbone).forward_features is Backbone.forward_features:
            problems.append("it sets feature_map_dim but does not override forward_features")
    return problems


def prepare_batch(pixels: torch.Tensor, preprocess: Preprocess) -> torch.Tensor:
    """uint8 (n, 1, H, W) -> normalised float (n, in_chans, size, size).

    Under :class:`FeatureInput` the batch is a float feature batch and is returned as it is.
    """
    if isinstance(preprocess, FeatureInput):
        if not pixels.is_floating_point():
            raise DataError(f"cached backbone features must be float, got {pixels.dtype}")
        return pixels
    if pixels.dtype != torch.uint8:
        raise DataError(f"pixels must be uint8 (0..255), got {pixels.dtype}; zsbench datasets return uint8")
    x = pixels.float().div_(255.0)
    if x.shape[-1] != preprocess.input_size or x.shape[-2] != preprocess.input_size:
        x = nn.functional.interpolate(
            x, size=(preprocess.input_size, preprocess.input_size), mode="bilinear", antialias=True
        )
    if preprocess.in_chans != 1:
        x = x.expand(-1, preprocess.in_chans, -1, -1)
    mean = torch.tensor(preprocess.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(preprocess.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    out = (x - mean) / std
    check_range(out, preprocess)
    return out


def check_range(x: torch.Tensor, preprocess: Preprocess) -> None:
    """Fail loudly when a batch is not in the backbone's expected input range."""
    if preprocess.expected_range is None:
        return
    lo, hi = preprocess.expected_range
    tolerance = 1e-3 * (hi - lo)
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < lo - tolerance or x_max > hi + tolerance:
        raise DataError(
            f"input batch spans [{x_min:.3g}, {x_max:.3g}] but the backbone expects [{lo:g}, {hi:g}]; "
            "feed uint8 pixels through prepare_batch"
        )
