"""Helpers that write test images in the formats predict reads (PNG, JPEG, DICOM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


def write_png16(path: Path, pixels: np.ndarray) -> Path:
    """8-bit pixels spread over the full 16-bit range, as the PNG standard asks."""
    Image.fromarray(pixels.astype(np.uint16) * 257).save(path)
    return path


def write_jpeg(path: Path, pixels: np.ndarray, quality: int = 95) -> Path:
    Image.fromarray(pixels).save(path, quality=quality)
    return path


def write_dicom(path: Path, stored: np.ndarray, bits_stored: int = 12, photometric: str = "MONOCHROME2",
                window: tuple[float, float] | None = None, intercept: float | None = None) -> Path:
    """An uncompressed DX DICOM file with 16-bit allocated pixels."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray, for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if intercept is not None:
        ds.RescaleIntercept, ds.RescaleSlope = intercept, 1
    ds.PixelData = stored.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def to_12bit(pixels: np.ndarray) -> np.ndarray:
    return np.rint(pixels.astype(np.float64) * 4095 / 255).astype(np.uint16)
