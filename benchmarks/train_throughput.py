"""Training images/s of DenseNet-121 + the CXR-ML-GZSL head at 224 px, batch 16: every input and
compute setting side by side, in one process and one run. Prints JSON.

    python benchmarks/train_throughput.py [--steps 6] [--device auto] [--compile]

Settings (each trains a fresh model from the same seed with the same loss; one warm-up step each
is not timed):

- ``plain_fp32_png``: every step decodes and resizes 16 NIH-sized (1024 px) PNG files in the
  training process, fp32, default memory format: a stand-in for the public code's loop.
- ``cache_fp32``: pixels from the prepared uint8 cache, still memory-mapped (``MappedRows``).
- ``engine_shift``: the cache through the background ``Prefetcher``, zsbench's ``shift``
  augmentation on the device, channels_last, autocast (bf16 on CPUs and bf16-capable GPUs).
- ``engine_paper``: the same with the paper's RandomResizedCrop + flip on the device (the issue's
  acceptance setting).
- ``engine_paper_compiled`` (``--compile``): the same with the backbone and head compiled.

``speedup_*`` divides a setting's rate by ``plain_fp32_png``'s, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from zsbench.backbones import prepare_batch
from zsbench.data.csv_source import CsvDataset
from zsbench.data.pixel_cache import prepare_cache
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.engine.augment import augment_batch
from zsbench.engine.compile import compile_model
from zsbench.engine.prefetch import Prefetcher
from zsbench.engine.trainer import ZeroShotModel, autocast_for
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig
from zsbench.registry import BACKBONES


def make_model(device: torch.device) -> ZeroShotModel:
    torch.manual_seed(0)
    backbone = BACKBONES.create("timm:densenet121", image_size=224, pretrained=False)
    return ZeroShotModel(backbone, CxrMlGzsl(backbone.feature_dim, 384, CxrMlGzslConfig())).to(device)


def measure(model: ZeroShotModel, batches: Iterable[torch.Tensor], labels: list[torch.Tensor],
            device: torch.device, *, augment: str, amp: bool, channels_last: bool) -> float:
    """Images/s over every step but the first; each step as the trainer's ``_step`` makes it."""
    embeddings = torch.randn(10, 384, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    autocast, _ = autocast_for(device, amp)
    generator = torch.Generator().manual_seed(0)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    seen, start = 0, time.perf_counter()
    for n, pixels in enumerate(batches):
        if n == 1:  # the first step warms up kernels, caches (and compiles)
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        pixels = augment_batch(augment, pixels.to(device), generator)
        x = prepare_batch(pixels, model.backbone.preprocess)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            loss, _ = model.loss(x, embeddings, labels[n].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(pixels)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def write_pngs(root: Path, n_images: int) -> list[str]:
    world = SyntheticWorld(n_images=max(n_images, 50), image_size=1024, seed=0)
    ids = list(world.table().ids[:n_images])
    for n, image_id in enumerate(ids):
        Image.fromarray(world.render(n)).save(root / f"{image_id}.png")
    pd.DataFrame({"path": [f"{i}.png" for i in ids], "labels": ""}).to_csv(root / "l.csv", index=False)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per setting (plus one warm-up)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="also time the compiled engine (slow to compile)")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    steps, bs = args.steps + 1, args.batch_size
    rng = np.random.default_rng(0)
    labels = [torch.from_numpy((rng.random((bs, 10)) < 0.3).astype(np.float32)) for _ in range(steps)]
    slices = [slice(s * bs, (s + 1) * bs) for s in range(steps)]
    rates: dict[str, float] = {}
    notes: dict[str, str] = {}

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_pngs(root, steps * bs)
        files = CsvDataset(root / "l.csv", root=root, image_size=224, cache=root / "none")
        paths = files.table().ids
        prepare_cache(root / "cache", list(paths), 224, "csv", files.read_resized)
        cached = CsvDataset(root / "l.csv", root=root, image_size=224, cache=root / "cache").load_images(paths)

        def decoded() -> Iterable[torch.Tensor]:  # per step, in the training process
            for sl in slices:
                yield torch.from_numpy(np.asarray(files.load_images(paths[sl])))

        def prefetched() -> Iterable[torch.Tensor]:
            with Prefetcher(cached, slices, device) as batches:
                yield from batches

        runs: list[tuple[str, Callable[[], Iterable[torch.Tensor]], dict[str, object], bool]] = [
            ("plain_fp32_png", decoded, {"augment": "none", "amp": False, "channels_last": False}, False),
            ("cache_fp32", lambda: (torch.from_numpy(cached[sl]) for sl in slices),
             {"augment": "none", "amp": False, "channels_last": False}, False),
            ("engine_shift", prefetched, {"augment": "shift", "amp": True, "channels_last": True}, False),
            ("engine_paper", prefetched, {"augment": "paper", "amp": True, "channels_last": True}, False),
        ]
        if args.compile:
            runs.append(("engine_paper_compiled", prefetched,
                         {"augment": "paper", "amp": True, "channels_last": True}, True))
        for name, source, settings, compiled in runs:
            model = make_model(device)
            if compiled:
                outcome = compile_model(model, device)
                notes[name] = outcome.message
            rates[name] = measure(model, source(), labels, device, **settings)  # type: ignore[arg-type]

    plain = rates["plain_fp32_png"]
    print(json.dumps({
        "benchmark": "train_throughput",
        "model": "densenet121 + cxr-ml-gzsl head", "image_size": 224, "batch_size": bs, "timed_steps": args.steps,
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
        "images_per_s": {k: round(v, 2) for k, v in rates.items()},
        "speedup_vs_plain": {k: round(v / plain, 2) for k, v in rates.items() if k != "plain_fp32_png"},
        "notes": notes,
        "torch": torch.__version__, "machine": platform.machine(),
    }))


if __name__ == "__main__":
    main()
