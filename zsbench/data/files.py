"""Datasets whose pixels live in image files under a root folder (NIH, CheXpert, PadChest, csv)."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np

from zsbench.data.base import DatasetSource
from zsbench.data.images import read_gray, resize_square
from zsbench.data.pixel_cache import PixelCache
from zsbench.errors import UsageError
from zsbench.progress import CountFn


class FileImageSource(DatasetSource):
    """Metadata from label files, pixels from ``root`` (or from a prepared pixel cache)."""

    def __init__(self, root: str | Path | None, image_size: int, cache: str | Path | None = None) -> None:
        self.root = Path(root) if root else None
        self.image_size = image_size
        self.cache_dir = Path(cache) if cache else self.default_cache_dir()
        self._cache: PixelCache | None = None

    def default_cache_dir(self) -> Path | None:
        return self.root / ".zsbench-cache" / f"{self.name}-{self.image_size}" if self.root else None

    @abstractmethod
    def candidate_paths(self, image_id: str) -> list[Path]:
        """Where the file of ``image_id`` may be, most likely first (relative to nothing: absolute)."""

    def path_of(self, image_id: str) -> Path | None:
        for path in self.candidate_paths(image_id):
            if path.is_file():
                return path
        return None

    def _require_root(self) -> Path:
        if self.root is None:
            raise UsageError(f"dataset {self.name!r} needs its images: pass --root DIR")
        if not self.root.is_dir():
            raise UsageError(f"--root {self.root} is not a folder")
        return self.root

    def missing_ids(self, ids: np.ndarray) -> list[str]:
        """Ids whose image file cannot be found (a prepared cache counts as found)."""
        cache = self.pixel_cache()
        if cache is None:
            self._require_root()
        return [
            str(i) for i in ids
            if not (cache is not None and cache.covers([str(i)])) and self.path_of(str(i)) is None
        ]

    def read_resized(self, image_id: str) -> np.ndarray:
        """uint8 (size, size); FileNotFoundError when missing, DataError when corrupt."""
        path = self.path_of(image_id)
        if path is None:
            raise FileNotFoundError(image_id)
        return resize_square(read_gray(path), self.image_size)

    def pixel_cache(self) -> PixelCache | None:
        if self._cache is None and self.cache_dir is not None and PixelCache.exists(self.cache_dir):
            cache = PixelCache.open(self.cache_dir)
            if cache.size == self.image_size:
                self._cache = cache
        return self._cache

    def load_images(self, ids: np.ndarray, progress: CountFn | None = None) -> np.ndarray:
        cache = self.pixel_cache()
        if cache is not None and cache.covers(ids):
            if progress:
                progress(len(ids), len(ids))
            return cache.get(ids)
        self._require_root()
        out = np.empty((len(ids), 1, self.image_size, self.image_size), dtype=np.uint8)
        for n, image_id in enumerate(ids):
            try:
                out[n, 0] = self.read_resized(str(image_id))
            except FileNotFoundError:
                raise UsageError(
                    f"image {image_id} not found under {self.root}; run `zsbench data verify` "
                    "or pass --allow-missing"
                ) from None
            if progress and (n % 64 == 63 or n == len(ids) - 1):
                progress(n + 1, len(ids))
        return out
