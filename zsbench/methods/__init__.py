"""ML-GZSL methods. Importing this package registers the built-ins."""

from zsbench.methods import cxr_ml_gzsl, lesa, linear, mlzsl, supervised  # noqa: F401  (registration side effect)
from zsbench.methods.base import Method

__all__ = ["Method"]
