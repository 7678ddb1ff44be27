"""Images per second of the input pipeline alone (no model): what the host can deliver to a GPU.

    python benchmarks/input_pipeline.py [--images 2000] [--size 224] [--batch 64] [--passes 5]
                                        [--pngs 200] [--png-size 1024]

(a) supply: uint8 batches of ``--batch`` random images gathered from a memory-mapped pixel cache
    of ``--images`` images (``MappedRows``, rows in a seeded random order as the trainer draws
    them) through the trainer's background ``Prefetcher``, with the paper recipe's crop boxes and
    flips drawn for every batch (``paper_draws``) and the batch pinned and copied where CUDA
    exists: what the host must deliver to a GPU that augments on the device. For reference, the
    bare memmap gather (numpy fancy indexing) and ``MappedRows.take`` without the thread. The
    cache is freshly written, so it is in the page cache (as an epoch after the first finds it).
(b) paper augmentation (``paper_batch``: RandomResizedCrop + flip) on the CPU device, ``--size``
    px in and out.
(c) decoding ``--pngs`` PNGs of ``--png-size`` px (a smooth gradient plus noise, 8-bit grey) and
    resizing them to ``--size`` through ``FileImageSource.load_images`` without a cache, with 1
    and 2 worker processes (``decode_workers``), the workers kept across passes as a run keeps
    them across its loads; their start (a spawned process imports this script, torch included)
    is timed on its own.

Each rate is the median of ``--passes`` timed passes after one warm-up. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from zsbench.data.csv_source import CsvDataset
from zsbench.data.mapped_rows import MappedRows
from zsbench.data.pixel_cache import PixelCache, prepare_cache
from zsbench.engine.augment import paper_batch, paper_draws
from zsbench.engine.prefetch import Prefetcher


def median_rate(fn: Callable[[], int], passes: int) -> float:
    """Images per second of ``fn`` (which returns the images it handled): median over passes."""
    fn()  # warm-up
    rates = []
    for _ in range(passes):
        start = time.perf_counter()
        images = fn()
        rates.append(images / (time.perf_counter() - start))
    return statistics.median(rates)


def make_cache(folder: Path, n: int, size: int) -> MappedRows:
    """A prepared pixel cache of ``n`` random ``size`` px images, opened read-only and mapped."""
    rng = np.random.default_rng(0)
    ids = [f"img{k:05d}" for k in range(n)]
    prepare_cache(folder, ids, size, "bench", lambda _id: rng.integers(0, 256, (size, size), dtype=np.uint8))
    return PixelCache.open(folder).mapped(ids)


def supply(view: MappedRows, args: argparse.Namespace) -> dict[str, object]:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    generator = torch.Generator().manual_seed(0)
    per_pass = len(view) // args.batch

    def order() -> list[np.ndarray]:
        perm = torch.randperm(len(view), generator=generator).numpy()
        return [perm[k * args.batch : (k + 1) * args.batch] for k in range(per_pass)]

    def bare() -> int:
        for index in order():
            view.source[view.rows[index]]
        return per_pass * args.batch

    def take() -> int:
        for index in order():
            view.take(index)
        return per_pass * args.batch

    def prefetched(draws: bool = True) -> int:
        with Prefetcher(view, order(), device, depth=args.depth) as batches:
            for batch in batches:
                if draws:  # what the trainer draws per batch for the paper recipe
                    paper_draws(len(batch), args.size, args.size, generator)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return per_pass * args.batch

    return {
        "images_in_cache": len(view), "size": args.size, "batch": args.batch, "batches_per_pass": per_pass,
        "depth": args.depth, "device": device.type, "pinned": device.type == "cuda",
        "bare_memmap_gather_images_per_s": round(median_rate(bare, args.passes)),
        "mapped_rows_take_images_per_s": round(median_rate(take, args.passes)),
        "prefetcher_without_draws_images_per_s": round(median_rate(lambda: prefetched(False), args.passes)),
        "prefetcher_with_crop_boxes_images_per_s": round(median_rate(prefetched, args.passes)),
        "target_images_per_s": 20000,
    }


def paper_augment(args: argparse.Namespace) -> dict[str, object]:
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (args.batch, 1, args.size, args.size), dtype=torch.uint8, generator=generator)
               for _ in range(4)]

    def run() -> int:
        for batch in batches:
            paper_batch(batch, generator, args.size)
        return len(batches) * args.batch

    return {"device": "cpu", "size_in": args.size, "size_out": args.size, "batch": args.batch,
            "batches_per_pass": len(batches), "images_per_s": round(median_rate(run, args.passes)),
            "target_images_per_s": 2000}


def write_pngs(folder: Path, n: int, side: int) -> Path:
    """``n`` 8-bit grey PNGs (a smooth gradient with noise, so they compress as scans do, not as
    pure noise) and the labels CSV that lists them."""
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(side), np.arange(side)) * (200 / (2 * side))
    for k in range(n):
        noise = rng.normal(0, 6, (side, side))
        Image.fromarray(np.clip(ramp + 20 + noise, 0, 255).astype(np.uint8)).save(folder / f"x{k:04d}.png")
    pd.DataFrame({"path": [f"x{k:04d}.png" for k in range(n)], "labels": ""}).to_csv(folder / "l.csv", index=False)
    return folder / "l.csv"


def png_decode(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    labels = write_pngs(folder, args.pngs, args.png_size)
    dataset = CsvDataset(labels, root=folder, image_size=args.size, cache=folder / "no-cache")
    ids = dataset.table().ids
    record: dict[str, object] = {"pngs": args.pngs, "png_size": args.png_size, "size_out": args.size}
    for workers in (1, 2):
        dataset.decode_workers = workers
        # one set of workers for every pass, as a run's loads share one; its start is timed apart
        with dataset.decoding():
            start = time.perf_counter()
            dataset.load_images(ids[:workers])
            record[f"workers_{workers}_start_s"] = round(time.perf_counter() - start, 2)
            rate = median_rate(lambda: len(dataset.load_images(ids)), max(1, args.passes // 2))
        record[f"workers_{workers}_images_per_s"] = round(rate, 1)
    sizes = [(folder / f"x{k:04d}.png").stat().st_size for k in range(args.pngs)]
    record["png_mean_kb"] = round(statistics.mean(sizes) / 1024)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="images in the temporary pixel cache")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2, help="batches the prefetcher gathers ahead")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--pngs", type=int, default=200)
    parser.add_argument("--png-size", type=int, default=1024)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "png").mkdir()
        record = {
            "benchmark": "input_pipeline",
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
            "passes": args.passes,
            "supply": supply(make_cache(root / "cache", args.images, args.size), args),
            "paper_augment": paper_augment(args),
            "png_decode": png_decode(root / "png", args),
        }
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
