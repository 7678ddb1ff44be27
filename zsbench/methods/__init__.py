"""ML-GZSL methods. The built-ins are registered lazily (``zsbench.builtins``): importing this
package imports none of them."""

from zsbench.methods.base import Method

__all__ = ["Method"]
