"""What every dataset source provides: a metadata table without pixels, and pixels on request."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zsbench.data.mapped_rows import Pixels
from zsbench.progress import CountFn

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class ClassInfo:
    """A class as text encoders see it: its name, its descriptions, optional attribute vector."""

    name: str
    descriptions: tuple[str, ...] = ()
    attributes: tuple[float, ...] | None = None

    @property
    def display_name(self) -> str:
        return self.name.replace("_", " ")


@dataclass
class ImageTable:
    """All images of a dataset: ids, patients, labels (n x C, 1/0, NaN = unknown), image-split part."""

    ids: np.ndarray  # str, shape (n,)
    patients: np.ndarray  # str, shape (n,)
    labels: np.ndarray  # float32, shape (n, C)
    part: np.ndarray  # str in PARTS, shape (n,)
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, mask: np.ndarray) -> ImageTable:
        return ImageTable(
            self.ids[mask], self.patients[mask], self.labels[mask], self.part[mask], self.class_names
        )


class DatasetSource(ABC):
    """A dataset: metadata from :meth:`table`, pixels from :meth:`load_images`.

    ``table`` must not touch pixels, so protocols and guards can be checked on metadata alone.
    Every member the engine uses is declared here: ``name`` (required), :meth:`classes`,
    :meth:`table`, :meth:`load_images` (abstract), and with defaults :meth:`describe`,
    ``image_size`` (the side of the images :meth:`load_images` returns, which backbones are built
    for), ``split_source`` (where the train/val/test image split comes from) and :meth:`reports`
    (report texts, None where the dataset has none).
    """

    name: str
    #: real X-rays (True) or a generated world; decides the ``auto`` input recipe (zsbench/recipe.py)
    real_images: bool = True
    image_size: int = 224
    split_source: str = "dataset's own"

    @abstractmethod
    def classes(self) -> list[ClassInfo]:
        """Every class of the dataset, in label-column order."""

    @abstractmethod
    def table(self) -> ImageTable:
        """Every image with its labels, patient and image-split part."""

    @abstractmethod
    def load_images(self, ids: np.ndarray, progress: CountFn | None = None) -> Pixels:
        """Pixels of the given images as uint8, shape (n, 1, H, W): an array, or a view that reads
        rows when indexed (``MappedRows``, for a memory-mapped cache)."""

    def describe(self) -> dict[str, object]:
        """Provenance recorded in result.json (generator settings, file paths, versions)."""
        return {"name": self.name}

    def reports(self, ids: Sequence[str] | np.ndarray) -> list[str] | None:
        """The radiology report text of each image, in the order of ``ids`` ("" where an image has
        none), or None when the dataset carries no reports (the default). Image-text pretraining
        reads them; the synthetic world writes them from its findings, the csv dataset reads them
        from ``--dataset-option report_column=NAME``."""
        return None
