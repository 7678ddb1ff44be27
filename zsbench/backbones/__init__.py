"""Visual backbones. Importing this package registers the built-ins."""

from zsbench.backbones import timm_backbone, tiny_cnn  # noqa: F401  (registration side effect)
from zsbench.backbones.base import Backbone, Preprocess, prepare_batch

__all__ = ["Backbone", "Preprocess", "prepare_batch"]
