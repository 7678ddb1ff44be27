"""Images per second of the training augmentation recipes (zsbench/engine/augment.py) on one device.

    python benchmarks/augment_throughput.py [--size 224] [--source 256] [--batch 64] [--device cpu]

Random uint8 batches of ``--source`` px images go through each recipe (``paper``: RandomResizedCrop
boxes + batched roi_align + per-image flip, back to ``--size``); the crop-box draw is also timed on
its own, and torchvision's per-image RandomResizedCrop + RandomHorizontalFlip is the reference.
Median of ``--repeats`` timed passes after one warm-up. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torchvision import transforms

from zsbench.engine.augment import crop_boxes, paper_batch, shift_batch


def rate(fn, images: int, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return images / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=224, help="output side (the paper: 224)")
    parser.add_argument("--source", type=int, default=256, help="side of the stored images")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=8, help="batches per timed pass")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    batches = [torch.randint(0, 256, (args.batch, 1, args.source, args.source), dtype=torch.uint8,
                             generator=generator).to(device) for _ in range(args.batches)]
    n = args.batch * args.batches

    def paper() -> None:
        for b in batches:
            paper_batch(b, generator, args.size)

    def shift() -> None:
        for b in batches:
            shift_batch(b, generator)

    def boxes() -> None:
        for _ in batches:
            crop_boxes(args.batch, args.source, args.source, generator)

    reference = transforms.Compose([transforms.RandomResizedCrop(args.size, antialias=True),
                                    transforms.RandomHorizontalFlip()])

    def torchvision_per_image() -> None:
        for b in batches:
            torch.stack([reference(image) for image in b])

    result = {
        "benchmark": "augment_throughput",
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "source_px": args.source,
        "output_px": args.size,
        "batch": args.batch,
        "images_per_s": {
            "paper": rate(paper, n, args.repeats, device),
            "paper_boxes_only": rate(boxes, n, args.repeats, device),
            "shift": rate(shift, n, args.repeats, device),
            "torchvision_per_image_reference": rate(torchvision_per_image, n, args.repeats, device),
        },
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
