"""The input recipe of a run: training augmentation, test-time augmentation and input channels.

A user who runs ``--method cxr-ml-gzsl`` on a real chest X-ray dataset expects the paper's training
(REFERENCE.md section 1): RandomResizedCrop(224) + horizontal flip, 3-channel input with ImageNet
statistics for ImageNet-pretrained backbones, and Resize(256) + TenCrop(224) at test. On the
synthetic world zsbench keeps its own defaults (a small shift, no test-time augmentation, one
grey channel), which its published board was measured with. ``auto`` (the default of ``--augment``,
``--tta`` and ``--channels``) picks between the two; a value the user gives always wins. The
resolved recipe and the reason for it are recorded in result.json (``recipe``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AUTO = "auto"
#: the methods whose paper and reference presets train with the paper's recipe on real images
PAPER_RECIPE_METHODS = ("cxr-ml-gzsl",)


@dataclass(frozen=True)
class InputRecipe:
    augment: str  # shift | paper | none (zsbench/engine/augment.py)
    tta: str  # none | tencrop
    #: 1: grey input (timm folds pretrained RGB filters into one); 3: grey copied to RGB with the
    #: backbone's own (ImageNet) statistics. Only backbones that can take either (timm) read it.
    channels: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paper_recipe_applies(method: str, real_images: bool) -> bool:
    return real_images and method in PAPER_RECIPE_METHODS


def resolve_recipe(config: Any, real_images: bool) -> InputRecipe:
    """``config``'s augment / tta / channels with every ``auto`` replaced by the default for its
    method and dataset (``real_images``: the dataset holds real X-rays, not the synthetic world)."""
    paper = paper_recipe_applies(config.method, real_images)
    defaults = ("paper", "tencrop", 3) if paper else ("shift", "none", 1)
    given = (config.augment, config.tta, config.channels)
    augment, tta, channels = (d if g == AUTO else g for g, d in zip(given, defaults, strict=True))
    autos = [name for name, g in zip(("augment", "tta", "channels"), given, strict=True) if g == AUTO]
    if not autos:
        reason = "given"
    elif paper:
        reason = f"the paper's recipe ({config.method} on real images) for {', '.join(autos)}"
    else:
        reason = f"zsbench's defaults for {', '.join(autos)}"
    return InputRecipe(str(augment), str(tta), int(channels), reason)
