"""A prepared pixel cache: every image decoded and resized once into a uint8 memory-mapped array.

Layout of a cache folder::

    meta.json    dataset, image size, count
    ids.txt      one image id per row of the array
    pixels.u8    uint8 array (n, size, size), memory-mapped
    status.u8    uint8 per row: 0 pending, 1 ok, 2 missing file, 3 corrupt file

A row is marked ok only after its pixels are flushed, so an interrupted ``prepare`` resumes where
it stopped and never trusts half-written rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zsbench.data.mapped_rows import MappedRows
from zsbench.errors import DataError
from zsbench.progress import CountFn
from zsbench.results import atomic_write_bytes

PENDING, OK, MISSING, CORRUPT = 0, 1, 2, 3


@dataclass
class PrepareReport:
    total: int
    ok: int
    missing: list[str]
    corrupt: list[str]
    resumed_from: int


class PixelCache:
    def __init__(self, directory: Path, ids: list[str], size: int, mode: str = "r") -> None:
        self.directory, self.ids, self.size = directory, ids, size
        self.row = {image_id: n for n, image_id in enumerate(ids)}
        shape = (len(ids), size, size)
        self.pixels = np.memmap(directory / "pixels.u8", dtype=np.uint8, mode=mode, shape=shape)
        self.status = np.memmap(directory / "status.u8", dtype=np.uint8, mode=mode, shape=(len(ids),))

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / "meta.json").is_file() and (directory / "pixels.u8").is_file()

    @classmethod
    def open(cls, directory: str | Path) -> PixelCache:
        directory = Path(directory)
        if not cls.exists(directory):
            raise DataError(f"{directory} is not a zsbench pixel cache; create one with `zsbench prepare`")
        meta = json.loads((directory / "meta.json").read_text())
        ids = (directory / "ids.txt").read_text().split("\n")[: meta["count"]]
        return cls(directory, ids, int(meta["size"]), mode="r")

    @classmethod
    def create_or_resume(cls, directory: Path, ids: list[str], size: int, dataset: str) -> PixelCache:
        directory.mkdir(parents=True, exist_ok=True)
        if cls.exists(directory):
            meta = json.loads((directory / "meta.json").read_text())
            old_ids = (directory / "ids.txt").read_text().split("\n")[: meta["count"]]
            if meta["size"] == size and old_ids == ids:
                return cls(directory, ids, size, mode="r+")
            raise DataError(
                f"{directory} holds a cache of other images or another size; choose another --cache folder"
            )
        (directory / "pixels.u8").unlink(missing_ok=True)
        np.memmap(directory / "pixels.u8", dtype=np.uint8, mode="w+", shape=(len(ids), size, size)).flush()
        np.memmap(directory / "status.u8", dtype=np.uint8, mode="w+", shape=(len(ids),)).flush()
        atomic_write_bytes(directory / "ids.txt", "\n".join(ids).encode())
        meta = {"dataset": dataset, "size": size, "count": len(ids), "format": 1}
        atomic_write_bytes(directory / "meta.json", json.dumps(meta, indent=2).encode())
        return cls(directory, ids, size, mode="r+")

    def covers(self, ids: np.ndarray | list[str]) -> bool:
        return all(str(i) in self.row and self.status[self.row[str(i)]] == OK for i in ids)

    def get(self, ids: np.ndarray | list[str]) -> np.ndarray:
        """uint8 (n, 1, size, size) in RAM for ids that are all prepared (status ok)."""
        return np.asarray(self.mapped(ids))

    def mapped(self, ids: np.ndarray | list[str]) -> MappedRows:
        """The rows of ids that are all prepared (status ok), left mapped: read when indexed."""
        return MappedRows(self.pixels, np.array([self.row[str(i)] for i in ids], dtype=np.int64))


def prepare_cache(
    directory: Path,
    ids: list[str],
    size: int,
    dataset: str,
    read: Callable[[str], np.ndarray],
    progress: CountFn | None = None,
    chunk: int = 256,
) -> PrepareReport:
    """Fill (or resume filling) a cache. ``read(id)`` returns uint8 (size, size) or raises
    FileNotFoundError (missing) / DataError (corrupt); such rows are reported and skipped."""
    cache = PixelCache.create_or_resume(directory, ids, size, dataset)
    todo = np.flatnonzero(cache.status == PENDING)
    resumed_from = len(ids) - len(todo)
    for start in range(0, len(todo), chunk):
        rows = todo[start : start + chunk]
        new_status = np.empty(len(rows), dtype=np.uint8)
        for k, row in enumerate(rows):
            try:
                cache.pixels[row] = read(ids[row])
                new_status[k] = OK
            except FileNotFoundError:
                new_status[k] = MISSING
            except DataError:
                new_status[k] = CORRUPT
        cache.pixels.flush()  # pixels reach the disk before the rows are marked done
        cache.status[rows] = new_status
        cache.status.flush()
        if progress:
            progress(resumed_from + start + len(rows), len(ids))
    status = np.asarray(cache.status)
    return PrepareReport(
        total=len(ids),
        ok=int((status == OK).sum()),
        missing=[ids[i] for i in np.flatnonzero(status == MISSING)],
        corrupt=[ids[i] for i in np.flatnonzero(status == CORRUPT)],
        resumed_from=resumed_from,
    )
