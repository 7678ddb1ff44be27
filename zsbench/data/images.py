"""Reading chest X-ray image files as 8-bit grayscale, whatever their format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from zsbench.errors import DataError


def scale_to_uint8(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear map of [lo, hi] onto 0..255 (rounded half up, clipped); a flat range becomes black."""
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.uint8)
    # multiply before dividing: for integer pixels the quotient is then correctly rounded, so a value
    # exactly half-way between two grey levels rounds up instead of landing a hair below the half
    out = (values.astype(np.float64) - lo) * 255.0 / (hi - lo) + 0.5
    return np.clip(np.floor(out), 0, 255).astype(np.uint8)


def to_uint8_gray(img: Image.Image) -> np.ndarray:
    """8-bit grayscale of a PIL image: 16-bit and 32-bit images are scaled by their own range,
    palette and RGB(A) images are converted through luminance (alpha is dropped)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        return scale_to_uint8(arr, float(arr.min()), float(arr.max()))
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        img = img.convert("RGB" if img.mode == "RGBA" else "L")
    return np.asarray(img.convert("L"), dtype=np.uint8)


def read_gray(path: str | Path) -> np.ndarray:
    """An image file as uint8 (H, W). Raises :class:`DataError` for missing or unreadable files."""
    try:
        with Image.open(path) as img:
            img.load()
            return to_uint8_gray(img)
    except FileNotFoundError:
        raise DataError(f"image file {path} does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"image file {path} is corrupt or not an image ({exc.__class__.__name__})") from None


def resize_square(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size (the whole image, aspect not kept, as chest X-ray pipelines do)."""
    if gray.shape == (size, size):
        return gray
    img = Image.fromarray(gray)
    return np.asarray(img.resize((size, size), Image.BILINEAR, reducing_gap=2.0), dtype=np.uint8)
