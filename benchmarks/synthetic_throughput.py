"""Throughput of the synthetic benchmark's two hot paths on this machine; prints JSON.

    python benchmarks/synthetic_throughput.py [--images 256] [--size 128]

- render_images_per_s: synthetic images generated per second (one process);
- train_images_per_s: tiny-cnn + cxr-ml-gzsl training images per second (forward, backward, step).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from zsbench.backbones import prepare_batch
from zsbench.backbones.tiny_cnn import TinyCNN
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    world = SyntheticWorld(n_images=max(args.images, 50), image_size=args.size, seed=0)
    ids = world.table().ids[: args.images]
    t = time.perf_counter()
    pixels = world.load_images(ids)
    render_rate = len(ids) / (time.perf_counter() - t)

    backbone = TinyCNN(input_size=args.size)
    method = CxrMlGzsl(backbone.feature_dim, 384, CxrMlGzslConfig())
    params = list(backbone.parameters()) + list(method.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    embeddings = torch.randn(10, 384)
    labels = (torch.rand(len(ids), 10) < 0.2).float()
    steps, t = 0, time.perf_counter()
    for start in range(0, len(ids) - args.batch_size + 1, args.batch_size):
        x = prepare_batch(torch.from_numpy(pixels[start : start + args.batch_size]), backbone.preprocess)
        loss, _ = method.loss(backbone(x), embeddings, labels[start : start + args.batch_size])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    train_rate = steps * args.batch_size / (time.perf_counter() - t)
    print(json.dumps({
        "benchmark": "synthetic_throughput",
        "image_size": args.size,
        "images": len(ids),
        "render_images_per_s": round(render_rate, 1),
        "train_images_per_s": round(train_rate, 1),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
