"""A lazy view of chosen rows of a memory-mapped pixel cache, so a dataset part stays mapped.

``FileImageSource.load_images`` returns a :class:`MappedRows` when the prepared pixel cache covers
the ids: nothing is read until a batch is indexed, and then only that batch's rows. The page cache
keeps what was read, so a part larger than RAM still trains, and the parts of a run no longer hold
a second copy of the images in the process's memory.

Indexing (integers, slices, integer arrays, boolean masks) returns fresh uint8 numpy arrays of
shape (k, 1, size, size), exactly what indexing the in-RAM array would have returned; the rows
are read in ascending file order (sequential reads on a disk) and put back in the asked order.
``np.asarray(view)`` reads every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class MappedRows:
    """Rows ``rows`` of ``source`` (uint8 (N, size, size), usually an ``np.memmap``), seen as the
    uint8 array (len(rows), 1, size, size) that loading them into RAM would give."""

    def __init__(self, source: np.ndarray, rows: np.ndarray) -> None:
        if source.ndim != 3:
            raise ValueError(f"source must be (N, size, size), not {source.shape}")
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1:
            raise ValueError("rows must be one-dimensional")
        if len(rows) and (rows.min() < 0 or rows.max() >= len(source)):
            raise IndexError(f"rows outside the {len(source)} rows of the source")
        self.source = source
        self.rows = rows

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.rows), 1, *self.source.shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self.source.dtype

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"MappedRows(shape={self.shape}, dtype={self.dtype})"

    def positions(self, key: Any) -> np.ndarray:
        """The positions (0..len-1) that ``key`` (slice, integer array or boolean mask) picks, in
        its order, with numpy's bounds and mask-length checks."""
        return np.arange(len(self.rows))[key]

    def select(self, key: Any) -> MappedRows:
        """A lazy subset (slice, integer array or boolean mask): still mapped, nothing is read."""
        return MappedRows(self.source, self.rows[self.positions(key)])

    def take(self, positions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """uint8 (k, 1, size, size) of the rows at ``positions``, into ``out`` when given (e.g. a
        pinned buffer, which saves a copy). Rows are read in ascending order, then restored."""
        wanted = self.rows[np.asarray(positions, dtype=np.int64)]
        shape = (len(wanted), 1, *self.source.shape[1:])
        if out is None:
            out = np.empty(shape, dtype=self.source.dtype)
        elif out.shape != shape or out.dtype != self.source.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous {self.source.dtype} {shape}, not {out.dtype} {out.shape}")
        flat = out.reshape(len(wanted), *self.source.shape[1:])  # a view: out is C-contiguous
        if len(wanted) < 2 or bool(np.all(wanted[1:] >= wanted[:-1])):
            # already ascending (scoring's slices): straight into ``out``; "clip" skips numpy's
            # buffered bounds check, the rows were checked when the view was made
            np.take(self.source, wanted, axis=0, out=flat, mode="clip")
        else:
            # row by row in ascending file order, each straight to its place: a gather-then-reorder
            # would need a second batch-sized buffer, and fresh large buffers cost page faults
            order = np.argsort(wanted, kind="stable")
            for position, row in zip(order.tolist(), wanted[order].tolist(), strict=True):
                flat[position] = self.source[row]
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            if not key:
                return np.asarray(self)
            head, rest = key[0], key[1:]
            if head is Ellipsis or head is None or any(isinstance(k, (list, np.ndarray)) for k in rest):
                return np.asarray(self)[key]  # rare forms (several advanced indices): read everything
            picked = self[head]
            # an integer head already dropped the first axis; other heads keep it
            return picked[rest] if isinstance(head, (int, np.integer)) else picked[(slice(None), *rest)]
        if isinstance(key, (int, np.integer)):
            position = int(self.positions(int(key)))  # negative and out-of-range as numpy does them
            return self.take(np.array([position]))[0]
        return self.take(self.positions(key))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self.take(np.arange(len(self.rows)))
        return out if dtype is None else out.astype(dtype, copy=False)


# what the pixel consumers (trainer, scoring, validators, feature extraction) accept
Pixels = np.ndarray | MappedRows


def subset(pixels: Pixels, key: Any) -> Pixels:
    """``pixels[key]`` for an array; a still-mapped subset for mapped rows (nothing read)."""
    return pixels.select(key) if isinstance(pixels, MappedRows) else pixels[key]
