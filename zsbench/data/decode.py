"""Decoding image files to the model's square uint8 pixels, in worker processes when asked.

Without a prepared pixel cache every image of a run is decoded (PNG/JPEG through Pillow) and
resized once; on a 1024 px NIH file that is milliseconds of CPU per image, so several worker
processes divide a part's loading time. The output is in the order of the paths whatever the
number of workers, and a failure is the one-line error of the first failing file in that order,
exactly as decoding one by one raises it.

Workers are started with ``spawn`` (as the sweep's process pool is): a forked child of a process
that already runs torch's or a tokenizer's threads may deadlock (Hugging Face tokenizers warn about
it). A spawned worker imports the main script again (the CLI's is small; a script of your own
needs the ``if __name__ == "__main__":`` guard) and costs about half a second to start, so a run
keeps its workers for all its loads (``DecodeWorkers``, ``FileImageSource.decoding``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from zsbench.data.images import read_gray, resize_square
from zsbench.progress import CountFn

MAX_CHUNK = 32  # paths per task: large enough to amortise the pickling, small enough to balance
PROGRESS_EVERY = 64


def decode_resized(path: Path, size: int) -> np.ndarray:
    """uint8 (size, size) of one file; DataError when it is missing or corrupt."""
    return resize_square(read_gray(path), size)


class DecodeWorkers:
    """``workers`` processes decoding files (one by one in this process when ``workers`` <= 1),
    started on first use and kept for further loads until :meth:`close`, so that the loads of
    a run (its parts, a feature extraction's chunks) start them once. A context manager."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> DecodeWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def decode_into(self, out: np.ndarray, paths: Sequence[Path], progress: CountFn | None = None) -> None:
        """Decode ``paths`` into ``out`` (uint8 (n, 1, size, size)) in path order; raises the
        first failing file's error (in path order)."""
        n, decode = len(paths), partial(decode_resized, size=out.shape[-1])
        if self.workers <= 1 or n < 2:
            _fill(out, map(decode, paths), n, progress)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        chunk = max(1, min(MAX_CHUNK, n // (self.workers * 4)))
        try:
            _fill(out, self._pool.map(decode, paths, chunksize=chunk), n, progress)
        except BaseException:
            self.close()  # the files not yet decoded are dropped, not waited for
            raise

    def close(self) -> None:
        """Stop the worker processes (queued files are dropped); the next load starts new ones."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)


def decode_into(out: np.ndarray, paths: Sequence[Path], workers: int = 1, progress: CountFn | None = None) -> None:
    """Decode ``paths`` into ``out`` in ``workers`` processes started for this call alone."""
    with DecodeWorkers(workers) as decoder:
        decoder.decode_into(out, paths, progress)


def _fill(out: np.ndarray, decoded: Iterable[np.ndarray], n: int, progress: CountFn | None) -> None:
    for k, pixels in enumerate(decoded):
        out[k, 0] = pixels
        if progress and (k % PROGRESS_EVERY == PROGRESS_EVERY - 1 or k == n - 1):
            progress(k + 1, n)
