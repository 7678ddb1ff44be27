"""Datasets whose pixels live in image files under a root folder (NIH, CheXpert, PadChest, csv)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import numpy as np

from zsbench.data.base import DatasetSource
from zsbench.data.decode import DecodeWorkers, decode_into, decode_resized
from zsbench.data.mapped_rows import Pixels
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
        # processes decoding files when no cache covers a load; the runner sets it (--decode-workers)
        self.decode_workers = 1
        self._decoder: DecodeWorkers | None = None  # kept across loads inside ``decoding()``

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
        return decode_resized(path, self.image_size)

    def pixel_cache(self) -> PixelCache | None:
        if self._cache is None and self.cache_dir is not None and PixelCache.exists(self.cache_dir):
            cache = PixelCache.open(self.cache_dir)
            if cache.size == self.image_size:
                self._cache = cache
        return self._cache

    def load_images(self, ids: np.ndarray, progress: CountFn | None = None) -> Pixels:
        """uint8 (n, 1, size, size): a lazy view of the prepared pixel cache when it covers
        ``ids`` (the cache stays mapped), else the files decoded now, in ``decode_workers``
        processes when more than one (same pixels, same order)."""
        cache = self.pixel_cache()
        if cache is not None and cache.covers(ids):
            if progress:
                progress(len(ids), len(ids))
            return cache.mapped(ids)
        self._require_root()
        paths = [self.path_of(str(image_id)) for image_id in ids]
        # a missing file is refused before any decoding starts, not after the files before it
        missing = next((n for n, path in enumerate(paths) if path is None), None)
        if missing is not None:
            raise UsageError(
                f"image {ids[missing]} not found under {self.root}; run `zsbench data verify` "
                "or pass --allow-missing"
            )
        out = np.empty((len(ids), 1, self.image_size, self.image_size), dtype=np.uint8)
        found = [p for p in paths if p is not None]
        if self._decoder is not None:
            self._decoder.decode_into(out, found, progress)
        else:
            decode_into(out, found, self.decode_workers, progress)
        return out

    @contextmanager
    def decoding(self) -> Iterator[None]:
        """Inside the block, loads share one set of decode worker processes (started by the first
        load that needs them, stopped at the end), instead of starting them for every load."""
        if self._decoder is not None:  # nested: the outer block owns them
            yield
            return
        self._decoder = DecodeWorkers(self.decode_workers)
        try:
            yield
        finally:
            decoder, self._decoder = self._decoder, None
            decoder.close()


def decoding(dataset: DatasetSource) -> AbstractContextManager[None]:
    """``dataset.decoding()`` for a file-based dataset; nothing to keep for any other."""
    return dataset.decoding() if isinstance(dataset, FileImageSource) else nullcontext()
