"""Images per second: the prepared pixel cache loader against decoding and resizing PNG files.

    python benchmarks/pixel_cache.py [--images 400] [--png-size 1024] [--size 256]

Writes NIH-sized 8-bit PNGs of synthetic chest X-rays into a temporary folder, prepares a cache,
then times ``FileImageSource.load_images`` both ways (cold start excluded: one warm-up each).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from zsbench.data.csv_source import CsvDataset
from zsbench.data.pixel_cache import prepare_cache
from zsbench.data.synthetic.world import SyntheticWorld


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--png-size", type=int, default=1024, help="side of the PNG files (NIH: 1024)")
    parser.add_argument("--size", type=int, default=256, help="side of the cached images")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = SyntheticWorld(n_images=args.images, image_size=args.png_size, seed=0)
        ids = world.table().ids
        for n, image_id in enumerate(ids):
            Image.fromarray(world.render(n)).save(root / f"{image_id}.png")
        pd.DataFrame({"path": [f"{i}.png" for i in ids], "labels": ""}).to_csv(root / "labels.csv", index=False)

        files = CsvDataset(root / "labels.csv", root=root, image_size=args.size, cache=root / "none")
        paths = files.table().ids
        files.load_images(paths[:8])
        t = time.perf_counter()
        files.load_images(paths)
        png_rate = len(paths) / (time.perf_counter() - t)

        cache_dir = root / "cache"
        t = time.perf_counter()
        prepare_cache(cache_dir, list(paths), args.size, "csv", files.read_resized)
        prepare_s = time.perf_counter() - t
        cached = CsvDataset(root / "labels.csv", root=root, image_size=args.size, cache=cache_dir)
        cached.load_images(paths[:8])
        repeats = 5
        t = time.perf_counter()
        for _ in range(repeats):
            batch = cached.load_images(paths)
        cache_rate = repeats * len(paths) / (time.perf_counter() - t)
        assert batch.shape == (len(paths), 1, args.size, args.size) and np.any(batch)

    print(json.dumps({
        "benchmark": "pixel_cache",
        "images": len(paths),
        "png_size": args.png_size,
        "cache_size": args.size,
        "png_decode_images_per_s": round(png_rate, 1),
        "cache_images_per_s": round(cache_rate, 1),
        "speedup": round(cache_rate / png_rate, 1),
        "prepare_s": round(prepare_s, 2),
    }))


if __name__ == "__main__":
    main()
