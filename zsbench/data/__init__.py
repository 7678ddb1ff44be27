"""Datasets, class splits and the ML-GZSL protocol. The built-in datasets are registered lazily
(``zsbench.builtins``)."""

from zsbench.data.base import ClassInfo, DatasetSource, ImageTable
from zsbench.data.class_splits import ClassSplit, load_class_split
from zsbench.data.protocol import DataSplits, apply_protocol, check_no_leakage

__all__ = [
    "ClassInfo",
    "ClassSplit",
    "DataSplits",
    "DatasetSource",
    "ImageTable",
    "apply_protocol",
    "check_no_leakage",
    "load_class_split",
]
