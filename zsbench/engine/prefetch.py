"""Gathering the next batches in a background thread while the current one trains.

The trainer decides every batch's image indices first (from its seeded generator, exactly as
before), then hands the list to a :class:`Prefetcher`. A thread gathers the next ``depth``
batches (rows of an in-RAM array, or of a memory-mapped cache through ``MappedRows``), into pinned
memory when the target is a GPU, so the consumer's host-to-device copy is asynchronous
(``non_blocking=True``) and overlaps the previous step's compute. Gathering draws no random
number and the batches come out in the given order, so a run gives bit-identical results.

numpy's row gathers and torch's copies release the GIL, so the thread costs the training
loop little even on a 2-core machine. An exception in the thread is raised again in the consumer;
leaving the ``with`` block (the end, an early stop, an error) stops and joins the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
import torch

from zsbench.data.mapped_rows import MappedRows, Pixels

POLL_S = 0.05  # how often a blocked thread or consumer checks whether the other side is gone


@dataclass(frozen=True)
class _Failure:
    """An exception raised in the gathering thread, carried to the consumer."""

    error: BaseException


_END = object()  # the thread gathered every batch


def gather_batch(pixels: Pixels, index: np.ndarray | slice, pin: bool = False) -> torch.Tensor:
    """``pixels[index]`` as a CPU tensor; with ``pin``, gathered straight into a pinned buffer
    (no intermediate copy), which an asynchronous host-to-device copy needs."""
    positions = np.arange(len(pixels))[index] if isinstance(index, slice) else np.asarray(index, dtype=np.int64)
    if pin:
        dtype = torch.from_numpy(np.empty(0, dtype=pixels.dtype)).dtype
        out = torch.empty((len(positions), *pixels.shape[1:]), dtype=dtype, pin_memory=True)
        if isinstance(pixels, MappedRows):
            pixels.take(positions, out=out.numpy())
        else:
            np.take(pixels, positions, axis=0, out=out.numpy())
        return out
    if isinstance(pixels, MappedRows):
        return torch.from_numpy(pixels.take(positions))
    picked = pixels[index] if isinstance(index, slice) else pixels[positions]  # a slice is a view: no copy
    # torch wants writable memory (a read-only memmap's slice is not); the model never writes to it
    return torch.from_numpy(picked if picked.flags.writeable else picked.copy())


class Prefetcher:
    """Iterates ``pixels[index]`` for each ``index`` of ``batches`` (integer arrays or slices), on
    ``device``, gathered up to ``depth`` batches ahead in a background thread. Use as a context
    manager so that the thread is stopped however the loop ends."""

    def __init__(self, pixels: Pixels, batches: Sequence[np.ndarray | slice], device: torch.device,
                 depth: int = 2) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.pixels, self.batches, self.device = pixels, list(batches), device
        self.pin = device.type == "cuda"
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        # daemon: an interpreter that exits without closing (a crash elsewhere) never waits on it
        self._thread = threading.Thread(target=self._gather_all, name="zsbench-prefetch", daemon=True)
        self._started = False

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _put(self, item: Any) -> bool:
        """Queue ``item``, waiting while the queue is full; False when the consumer has gone."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _gather_all(self) -> None:
        try:
            for index in self.batches:
                if self._stop.is_set() or not self._put(gather_batch(self.pixels, index, self.pin)):
                    return
        except BaseException as exc:  # every failure reaches the consumer, which raises it
            self._put(_Failure(exc))
            return
        self._put(_END)

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self._started:
            raise RuntimeError("a Prefetcher is iterated once")
        self._started = True
        self._thread.start()
        while True:
            item = self._next()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            # pinned host memory: the copy is queued on the current stream and returns at once
            yield item.to(self.device, non_blocking=self.pin)

    def _next(self) -> Any:
        while True:
            try:
                return self._queue.get(timeout=POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("the prefetch thread ended without its batches") from None

    def close(self) -> None:
        """Stop the thread (it may be waiting to queue a batch) and wait for it to end."""
        self._stop.set()
        if self._started:
            self._thread.join()
        while not self._queue.empty():  # drop gathered batches (pinned memory goes back sooner)
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    @property
    def alive(self) -> bool:
        """Whether the gathering thread is still running (for tests and diagnostics)."""
        return self._thread.is_alive()
