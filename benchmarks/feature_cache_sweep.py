"""Wall time of five class splits with the frozen-backbone feature cache against one split alone.

    python benchmarks/feature_cache_sweep.py [--splits 5] [--epochs 3] [--n-images 6000] [--image-size 128]

LESA (frozen backbone, tiny-cnn, synthetic world) on random 10/4 seen/unseen splits
(``make_random_splits``), split ``i`` with run seed ``i``, run back to back through ``runner.run``
sharing one feature cache, against split 0 alone on a cold cache. Only the first of the five
extracts features; the others load them and render no image. Prints JSON; ``ratio`` is
five / one (target <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml

from zsbench.config import RunConfig
from zsbench.data.random_splits import make_random_splits
from zsbench.runner import create_dataset, run


def _timed_runs(configs: list[RunConfig]) -> tuple[float, list[dict[str, object]]]:
    start, rows = time.perf_counter(), []
    for config in configs:
        t = time.perf_counter()
        result = run(config).result
        rows.append({
            "split": Path(config.split).stem,
            "seed": config.seed,
            "seconds": round(time.perf_counter() - t, 2),
            "cache_hit": result["feature_cache"]["hit"],
            "load_images_s": round(result["timings"]["load_images_s"], 2),
            "train_s": round(result["timings"]["train_s"], 2),
            "auroc_harmonic": result["metrics"]["auroc_harmonic"],
        })
    return time.perf_counter() - start, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--n-unseen", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-images", type=int, default=None, help="synthetic world size [default: 6000]")
    parser.add_argument("--image-size", type=int, default=None, help="[default: 128]")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--text-encoder", default="random", help="random keeps text encoding out of the timing")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = RunConfig(method="lesa", backbone="tiny-cnn", dataset="synthetic", epochs=args.epochs,
                         n_images=args.n_images, image_size=args.image_size, batch_size=args.batch_size,
                         text_encoder=args.text_encoder, device=args.device, out=str(root / "runs"))
        table = create_dataset(base).table()
        paths = []
        for split in make_random_splits(table, "synthetic", args.n_unseen, args.splits, seed=0):
            path = root / f"{split.name}.yaml"
            path.write_text(yaml.safe_dump(split.to_dict(), sort_keys=False))
            paths.append(str(path))
        configs = [RunConfig(**{**base.to_dict(), "split": p, "seed": i, "feature_cache": str(root / "five")})
                   for i, p in enumerate(paths)]
        one_s, one_rows = _timed_runs([RunConfig(**{**configs[0].to_dict(), "feature_cache": str(root / "one")})])
        five_s, five_rows = _timed_runs(configs)

    print(json.dumps({
        "benchmark": "feature_cache_sweep",
        "method": "lesa", "backbone": "tiny-cnn", "dataset": "synthetic",
        "n_images": table.ids.size, "image_size": args.image_size or 128, "epochs": args.epochs,
        "text_encoder": args.text_encoder, "splits": args.splits, "n_unseen": args.n_unseen,
        "one_split_cold_s": round(one_s, 2),
        "splits_with_cache_s": round(five_s, 2),
        "ratio": round(five_s / one_s, 3),
        "target_ratio": 1.5,
        "one": one_rows,
        "runs": five_rows,
    }, indent=1))


if __name__ == "__main__":
    main()
