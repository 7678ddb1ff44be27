"""Training and scoring images/s of DenseNet-121 + the CXR-ML-GZSL head on one CUDA GPU. Prints JSON.

    python benchmarks/gpu_throughput.py [--batch-size 64] [--steps 30] [--no-compile]

uint8 224 px batches stand in for the prepared NIH cache (the supply side is timed by
``input_pipeline.py``); each training step applies the paper's augmentation on the GPU
(RandomResizedCrop + flip, ``zsbench.engine.augment``), normalises, and trains backbone and head
with Adam, as the trainer's step does. Settings, each a fresh model from the same seed:

- ``fp32``: default memory format, no autocast;
- ``bf16``: autocast bf16;
- ``bf16_channels_last``;
- ``bf16_channels_last_compiled``: the same compiled with ``torch.compile`` (unless
  ``--no-compile``); compile time is reported apart and not counted in the rate.

Scoring (no gradients, bf16, channels_last) is timed for the plain test and for TenCrop. The
whole script takes a few minutes on an H100-class GPU. The paper trained ~8 h per model on one
GPU (~107 img/s over its epochs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import torch

from zsbench.backbones import prepare_batch
from zsbench.engine.augment import augment_batch
from zsbench.engine.compile import compile_model
from zsbench.engine.trainer import ZeroShotModel, autocast_for, ten_crops
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig
from zsbench.registry import BACKBONES


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@dataclass(frozen=True)
class Setting:
    name: str
    amp: bool
    channels_last: bool
    compiled: bool


def make_model(device: torch.device) -> ZeroShotModel:
    torch.manual_seed(0)
    backbone = BACKBONES.create("timm:densenet121", image_size=224, pretrained=False, channels=3)
    return ZeroShotModel(backbone, CxrMlGzsl(backbone.feature_dim, 384, CxrMlGzslConfig())).to(device)


def train_rate(setting: Setting, batches: list[torch.Tensor], labels: torch.Tensor,
               device: torch.device) -> dict[str, float]:
    model = make_model(device)
    if setting.channels_last:
        model.to(memory_format=torch.channels_last)
    if setting.compiled:
        compile_model(model, device)
    embeddings = torch.randn(10, 384, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    autocast, _ = autocast_for(device, setting.amp)
    generator = torch.Generator().manual_seed(0)
    model.train()

    def step(pixels: torch.Tensor) -> None:
        x = prepare_batch(augment_batch("paper", pixels, generator), model.backbone.preprocess)
        if setting.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast:
            loss, _ = model.loss(x, embeddings, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    for pixels in batches[:3]:  # warm-up (and compilation)
        step(pixels)
    sync(device)
    compile_s = time.perf_counter() - start if setting.compiled else 0.0
    start = time.perf_counter()
    for pixels in batches:
        step(pixels)
    sync(device)
    rate = len(batches) * len(batches[0]) / (time.perf_counter() - start)
    return {"train_images_per_s": round(rate, 1), "warmup_and_compile_s": round(compile_s, 1)}


@torch.no_grad()
def score_rate(batches: list[torch.Tensor], device: torch.device, tencrop: bool) -> float:
    model = make_model(device).eval().to(memory_format=torch.channels_last)
    embeddings = torch.randn(14, 384, device=device)
    autocast, _ = autocast_for(device, True)

    def score(pixels: torch.Tensor) -> None:
        crops = ten_crops(torch.nn.functional.interpolate(pixels.float(), size=(256, 256)).to(torch.uint8), 224) \
            if tencrop else [pixels]
        with autocast:
            for crop in crops:
                x = prepare_batch(crop, model.backbone.preprocess).contiguous(memory_format=torch.channels_last)
                model.method(model.features(x), embeddings)

    score(batches[0])
    sync(device)
    start = time.perf_counter()
    for pixels in batches:
        score(pixels)
    sync(device)
    return round(len(batches) * len(batches[0]) / (time.perf_counter() - start), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per setting")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--device", default="cuda", help="cuda; cpu only to smoke-test the script")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_throughput.py needs a CUDA GPU; none is visible (use train_throughput.py on a CPU)",
              file=sys.stderr)
        sys.exit(2)
    generator = torch.Generator(device="cpu").manual_seed(0)
    batches = [torch.randint(0, 256, (args.batch_size, 1, 224, 224), dtype=torch.uint8, generator=generator)
               .to(device) for _ in range(args.steps)]
    labels = (torch.rand(args.batch_size, 10, generator=generator) < 0.3).float().to(device)
    settings = [Setting("fp32", False, False, False), Setting("bf16", True, False, False),
                Setting("bf16_channels_last", True, True, False)]
    if not args.no_compile:
        settings.append(Setting("bf16_channels_last_compiled", True, True, True))
    print(json.dumps({
        "benchmark": "gpu_throughput",
        "model": "densenet121 (3-channel input) + cxr-ml-gzsl head", "image_size": 224,
        "batch_size": args.batch_size, "timed_steps": args.steps, "augment": "paper",
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu (smoke test)",
        "torch": torch.__version__,
        "train": {s.name: train_rate(s, batches, labels, device) for s in settings},
        "score_images_per_s": {"plain": score_rate(batches, device, False),
                               "tencrop": score_rate(batches, device, True)},
    }))


if __name__ == "__main__":
    main()
