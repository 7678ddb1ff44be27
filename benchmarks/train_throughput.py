"""Training images/s of DenseNet-121 at 224 px, batch 16: the engine's best settings against plain
fp32 with per-step PNG decoding. Prints JSON.

    python benchmarks/train_throughput.py [--steps 4] [--device auto]

- ``plain``: every step decodes and resizes 16 NIH-sized (1024 px) PNG files, fp32, default memory
  format;
- ``engine``: pixels from a prepared uint8 cache (memory-mapped), channels_last, autocast (bf16 on
  CPUs and bf16-capable GPUs, else fp16).

Both train the same backbone + CXR-ML-GZSL head with the same loss; one warm-up step each is not
timed.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from zsbench.backbones import prepare_batch
from zsbench.data.csv_source import CsvDataset
from zsbench.data.pixel_cache import prepare_cache
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.engine.trainer import TrainSettings, ZeroShotModel, autocast_for
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig
from zsbench.registry import BACKBONES


def make_model(device: torch.device) -> ZeroShotModel:
    torch.manual_seed(0)
    backbone = BACKBONES.create("timm:densenet121", image_size=224, pretrained=False)
    return ZeroShotModel(backbone, CxrMlGzsl(backbone.feature_dim, 384, CxrMlGzslConfig())).to(device)


def measure(model: ZeroShotModel, batches, device: torch.device, settings: TrainSettings) -> float:
    embeddings = torch.randn(10, 384, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    autocast, _ = autocast_for(device, settings.amp)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    seen = 0
    start = None
    for n, (load, labels) in enumerate(batches):
        if n == 1:  # the first step warms up kernels and caches
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        pixels = load().to(device)
        x = prepare_batch(pixels, model.backbone.preprocess)
        if settings.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            loss, _ = model.method.loss(model.features(x), embeddings, labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(labels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per setting (plus one warm-up)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    n_images = (args.steps + 1) * args.batch_size
    rng = np.random.default_rng(0)
    labels = torch.from_numpy((rng.random((n_images, 10)) < 0.3).astype(np.float32))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = SyntheticWorld(n_images=max(n_images, 50), image_size=1024, seed=0)
        ids = world.table().ids[:n_images]
        for n, image_id in enumerate(ids):
            Image.fromarray(world.render(n)).save(root / f"{image_id}.png")
        pd.DataFrame({"path": [f"{i}.png" for i in ids], "labels": ""}).to_csv(root / "l.csv", index=False)
        files = CsvDataset(root / "l.csv", root=root, image_size=224, cache=root / "none")
        paths = files.table().ids
        prepare_cache(root / "cache", list(paths), 224, "csv", files.read_resized)
        cached = CsvDataset(root / "l.csv", root=root, image_size=224, cache=root / "cache")

        def batches(dataset: CsvDataset):
            for s in range(args.steps + 1):
                sl = slice(s * args.batch_size, (s + 1) * args.batch_size)
                yield (lambda sl=sl: torch.from_numpy(dataset.load_images(paths[sl]))), labels[sl]

        base = dict(epochs=1, batch_size=args.batch_size, lr=1e-4, weight_decay=0.0, lr_factor=0.1,
                    lr_patience=5, seed=0)
        plain = measure(make_model(device), batches(files), device, TrainSettings(**base))
        engine_settings = TrainSettings(**base, amp=True, channels_last=True)
        engine = measure(make_model(device), batches(cached), device, engine_settings)

    print(json.dumps({
        "benchmark": "train_throughput",
        "model": "densenet121", "image_size": 224, "batch_size": args.batch_size, "timed_steps": args.steps,
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
        "plain_fp32_png_images_per_s": round(plain, 2),
        "engine_images_per_s": round(engine, 2),
        "engine_settings": {"pixel_cache": True, "channels_last": True, "autocast": True},
        "speedup": round(engine / plain, 2),
        "torch": torch.__version__, "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
