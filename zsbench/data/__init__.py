"""Datasets, class splits and the ML-GZSL protocol. Importing this package registers datasets."""

from zsbench.data import chexpert, csv_source, nih, padchest  # noqa: F401  (registration side effect)
from zsbench.data.base import ClassInfo, DatasetSource, ImageTable
from zsbench.data.class_splits import ClassSplit, load_class_split
from zsbench.data.protocol import DataSplits, apply_protocol, check_no_leakage
from zsbench.data.synthetic import world  # noqa: F401  (registration side effect)

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
