"""Visual backbones. Importing this package registers the built-ins."""

from zsbench.backbones import open_clip_backbone, timm_backbone, tiny_cnn, xrv_backbone  # noqa: F401
from zsbench.backbones.base import Backbone, Preprocess, prepare_batch

__all__ = ["Backbone", "Preprocess", "prepare_batch"]
