"""Grad-CAM saliency for a class score, and heatmap overlays as PNG.

Grad-CAM (Selvaraju et al. 2017) weights the last spatial feature map of the visual encoder by the
gradient of one class's score, so the map shows where that class's evidence lies. Because a class
score is a cosine with the class's text embedding, this works as well for a class described only
in text as for a class trained with labels.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.errors import UsageError
from zsbench.results import atomic_write_bytes


def _last_spatial_map(model: Any, x: torch.Tensor, class_embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(scores, the last 4-d activation with a spatial extent inside the backbone)."""
    captured: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and min(output.shape[-2:]) > 1:
            captured.append(output)

    # leaf modules only: a container's output is its last leaf's, and hooks fire in execution order
    leaves = [m for m in model.backbone.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        scores = model(x, class_embeddings)
    finally:
        for h in handles:
            h.remove()
    if not captured:
        raise UsageError("this backbone has no spatial feature map (e.g. a transformer); Grad-CAM needs a CNN")
    return scores, captured[-1]


def gradcam(model: Any, pixels: np.ndarray, class_embeddings: torch.Tensor, classes: np.ndarray) -> np.ndarray:
    """Heatmaps (n, K, s, s) in [0, 1] for image i and class ``classes[i, k]``; pixels uint8 (n, 1, s, s)."""
    model.eval()
    device = class_embeddings.device
    x = torch.from_numpy(pixels).to(device)
    size = pixels.shape[-2:]
    classes = np.asarray(classes).reshape(len(pixels), -1)
    out = np.zeros((len(pixels), classes.shape[1], *size), dtype=np.float32)
    with torch.enable_grad():
        scores, fmap = _last_spatial_map(model, x, class_embeddings)
        rows = torch.arange(len(pixels), device=device)
        for k in range(classes.shape[1]):
            # images are independent in eval mode, so one backward pass serves the whole batch
            target = scores[rows, torch.from_numpy(classes[:, k]).to(device)].sum()
            grads = torch.autograd.grad(target, fmap, retain_graph=k < classes.shape[1] - 1)[0]
            weights = grads.mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((weights * fmap).sum(dim=1, keepdim=True)).detach()
            cam = nn.functional.interpolate(cam, size=size, mode="bilinear", align_corners=False)[:, 0]
            peak = cam.flatten(1).amax(dim=1).clamp(min=1e-12).view(-1, 1, 1)
            out[:, k] = (cam / peak).cpu().numpy()
    return out


def overlay(gray: np.ndarray, cam: np.ndarray, alpha: float = 0.55, max_side: int = 512) -> np.ndarray:
    """RGB uint8: the X-ray in grey, tinted by the jet colour map where the heatmap is strong."""
    from matplotlib import colormaps

    h, w = gray.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        gray = _resize(gray.astype(np.float32), (max(1, round(h * scale)), max(1, round(w * scale))))
    heat = _resize(cam.astype(np.float32), gray.shape)
    heat = np.clip(heat, 0.0, 1.0)
    base = np.repeat(gray.astype(np.float32)[..., None], 3, axis=2)
    colour = colormaps["jet"](heat)[..., :3] * 255.0
    weight = (alpha * heat)[..., None]  # weak evidence leaves the X-ray readable
    return np.clip(base * (1 - weight) + colour * weight, 0, 255).astype(np.uint8)


def _resize(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if values.shape == tuple(shape):
        return values
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    return nn.functional.interpolate(t, size=tuple(shape), mode="bilinear", antialias=True)[0, 0].numpy()


def png_bytes(rgb_or_gray: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb_or_gray).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "class"


def write_heatmaps(ckpt: Any, prediction: Any, out_dir: Path, top: int = 3, batch_size: int = 16) -> list[Path]:
    """Grad-CAM overlays of each image's ``top`` ranked classes: ``OUT/<image>.<class>.png``."""
    from zsbench.imageio import read_image

    if prediction.pixels is None or prediction.embeddings is None:
        raise UsageError("heatmaps need the prediction's pixels and class embeddings")
    top = max(1, min(top, len(prediction.classes)))
    emb = torch.from_numpy(prediction.embeddings).to(ckpt.device)
    written: list[Path] = []
    used: set[str] = set()
    for start in range(0, len(prediction.images), batch_size):
        idx = list(range(start, min(start + batch_size, len(prediction.images))))
        order = np.stack([prediction.order(i)[:top] for i in idx])
        cams = gradcam(ckpt.model, prediction.pixels[idx], emb, order)
        for row, i in enumerate(idx):
            source = Path(prediction.images[i])
            stem = slug(source.stem)
            base, n = stem, 1
            while base in used:  # same file name in two folders
                n += 1
                base = f"{stem}-{n}"
            used.add(base)
            gray = read_image(source).pixels
            for k, c in enumerate(order[row]):
                path = out_dir / f"{base}.{k + 1}-{slug(prediction.classes[int(c)].name)}.png"
                atomic_write_bytes(path, png_bytes(overlay(gray, cams[row, k])))
                written.append(path)
    return written
