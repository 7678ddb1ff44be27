"""Visual backbones. The built-ins are registered lazily (``zsbench.builtins``): importing this
package imports none of them."""

from zsbench.backbones.base import Backbone, Preprocess, prepare_batch

__all__ = ["Backbone", "Preprocess", "prepare_batch"]
