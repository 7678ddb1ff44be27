"""Reading chest X-ray files for prediction: PNG, JPEG (any Pillow format) and DICOM, any depth or size.

Everything becomes 8-bit grayscale the way file-based datasets are read for training
(:mod:`zsbench.data.images`), so a model sees a predicted image as it saw its training images:

- Pillow formats go through ``to_uint8_gray``: 8-bit data as is (colour through luminance), deeper
  data (16-bit PNG, 32-bit, float) min-max scaled over the image;
- DICOM goes through its modality LUT (rescale slope/intercept), then its VOI window when it has
  one, else min-max like other deep images (8-bit unrescaled pixels are used as is); MONOCHROME1
  is inverted so that bone is bright, as in every other format.

Resizing to the model's square input (``resize_square``, also from ``zsbench.data.images``) happens
in :func:`load_for_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.data.images import resize_square, scale_to_uint8
from zsbench.errors import ImageReadError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm", ".dicom", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class XrayImage:
    """One image as 8-bit grayscale, with where it came from."""

    path: Path
    pixels: np.ndarray  # uint8 (H, W)
    source_format: str  # "PNG", "JPEG", "DICOM", ...
    source_bits: int


def _is_dicom(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in (".dcm", ".dicom") or head[128:132] == b"DICM"


def _read_pillow(path: Path) -> XrayImage:
    from PIL import Image, UnidentifiedImageError

    from zsbench.data.images import to_uint8_gray

    try:
        with Image.open(path) as img:
            img.load()
            bits = 16 if img.mode.startswith("I;16") else 32 if img.mode in ("I", "F") else 8
            return XrayImage(path, to_uint8_gray(img), img.format or path.suffix.lstrip(".").upper(), bits)
    except UnidentifiedImageError:
        raise ImageReadError(f"{path}: not an image zsbench can read (PNG, JPEG or DICOM)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: cannot decode image ({exc.__class__.__name__})") from None


def _first(value: Any) -> float:
    """DICOM window values may be multi-valued; the first is the default window."""
    try:
        return float(value)
    except TypeError:
        return float(next(iter(value)))


def _read_dicom(path: Path) -> XrayImage:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise ImageReadError(f"{path}: not a readable DICOM file ({exc.__class__.__name__})") from None
    if "PixelData" not in ds:
        raise ImageReadError(f"{path}: DICOM file has no pixel data")
    try:
        raw = ds.pixel_array
    except Exception as exc:  # pydicom raises RuntimeError/NotImplementedError/ValueError per codec
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise ImageReadError(
            f"{path}: cannot decode DICOM pixels (transfer syntax {syntax}, {exc.__class__.__name__}); "
            "compressed DICOM needs a codec such as pylibjpeg or gdcm"
        ) from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:  # multi-frame: the first frame is the image a reader sees first
        raw = raw[0]
    if raw.ndim == 3:  # colour DICOM (secondary capture): luminance
        rgb = raw.astype(np.float64)
        gray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        return XrayImage(path, scale_to_uint8(gray, 0, float(2 ** int(ds.get("BitsStored", 8)) - 1)), "DICOM", 8)
    bits = int(ds.get("BitsStored", raw.dtype.itemsize * 8))
    values = np.asarray(apply_modality_lut(raw, ds), dtype=np.float64)
    rescaled = "RescaleSlope" in ds or "RescaleIntercept" in ds or "ModalityLUTSequence" in ds
    if "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
        # DICOM PS3.3 C.11.2.1.2: linear window, centre c, width w
        lo, hi = center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2
    elif int(ds.get("BitsAllocated", 16)) == 8 and not rescaled:
        lo, hi = 0.0, 255.0
    else:
        lo, hi = float(values.min()), float(values.max())
    pixels = scale_to_uint8(values, lo, hi)
    if photometric == "MONOCHROME1":  # low values are bright in MONOCHROME1
        pixels = 255 - pixels
    return XrayImage(path, pixels, "DICOM", bits)


def read_image(path: str | Path) -> XrayImage:
    """Read one image file as 8-bit grayscale (see the module docstring for the conversion)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise ImageReadError(f"cannot open image {p}: {exc.strerror or exc.__class__.__name__}") from None
    return _read_dicom(p) if _is_dicom(p, head) else _read_pillow(p)


def load_for_model(paths: list[Path], size: int) -> np.ndarray:
    """uint8 (n, 1, size, size) for the model. Full-size pixels are dropped as soon as they are
    resized, so a folder of large DICOMs needs memory only for the small copies."""
    batch = np.empty((len(paths), 1, size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        batch[i, 0] = resize_square(read_image(p).pixels, size)
    return batch


def expand_image_paths(items: list[str | Path]) -> list[Path]:
    """Files as given; folders become their image files (sorted), so ``predict DIR`` works."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ImageReadError(f"folder {p} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise ImageReadError(f"no image file at {p}")
    return out
