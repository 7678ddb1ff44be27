"""Labelled images for calibration and reports: a run's own data parts, or a labels CSV.

A run's data is rebuilt from the config it recorded (same dataset, size, seeds and class split), so
``calibrate`` and ``report`` see exactly the images the run trained, validated and tested on.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.data.mapped_rows import Pixels
from zsbench.errors import UsageError

PATH_COLUMNS = ("path", "image", "file")
_TRUE = {"1", "1.0", "yes", "true", "y", "present", "positive"}
_FALSE = {"0", "0.0", "no", "false", "n", "absent", "negative"}


@dataclass
class LabelledImages:
    """Images (model-sized pixels) with 0/1/NaN labels per named class."""

    ids: list[str]
    pixels: Pixels  # uint8 (n, 1, s, s); a pixel cache's rows stay mapped
    labels: np.ndarray  # float32 (n, K), NaN = unknown
    class_names: list[str]
    source: str

    def column(self, name: str) -> np.ndarray | None:
        from zsbench.predict import normalise_name

        keys = [normalise_name(c) for c in self.class_names]
        key = normalise_name(name)
        return self.labels[:, keys.index(key)] if key in keys else None


def run_config(config: dict[str, Any]) -> Any:
    from zsbench.config import RunConfig

    try:
        return RunConfig.from_dict(config)
    except UsageError as exc:
        raise UsageError(f"the run's recorded config does not fit this zsbench: {exc}") from None


def run_part_table(config: dict[str, Any], part: str) -> tuple[Any, Any]:
    """(dataset, image table of ``part`` after the run's protocol), rebuilt from a recorded config."""
    from zsbench.data.class_splits import load_class_split
    from zsbench.data.protocol import apply_protocol
    from zsbench.runner import create_dataset, drop_missing_images

    cfg = run_config(config)
    # the same steps as runner.run, so the parts are the run's own
    dataset = create_dataset(cfg)
    splits = apply_protocol(dataset.table(), load_class_split(cfg.split))
    drop_missing_images(dataset, splits, cfg.allow_missing)
    return dataset, getattr(splits, part)


def load_run_part(config: dict[str, Any], part: str = "val") -> LabelledImages:
    """The images of one part (train, val, test) of the run that ``config`` describes."""
    dataset, table = run_part_table(config, part)
    if len(table) == 0:
        raise UsageError(f"the run's {part} part holds no images")
    pixels = dataset.load_images(table.ids)
    return LabelledImages([str(i) for i in table.ids], pixels, table.labels.astype(np.float32),
                          list(table.class_names), f"{part} part of the run's dataset {config.get('dataset')!r}")


def _label(value: str, where: str) -> float:
    v = value.strip().lower()
    if v in ("", "nan", "na", "-1", "unknown", "?"):  # -1 is CheXpert's "uncertain": unknown here
        return math.nan
    if v in _TRUE:
        return 1.0
    if v in _FALSE:
        return 0.0
    raise UsageError(f"{where}: label {value!r} is not 1/0/yes/no/empty")


def load_labels_csv(path: str | Path, image_size: int) -> LabelledImages:
    """A CSV with an image column (``path``, ``image`` or ``file``; relative to the CSV's folder)
    and one column per class holding 1/0 (empty = unknown)."""
    from zsbench.imageio import load_for_model

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read labels {p}: {exc.strerror or exc.__class__.__name__}") from None
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise UsageError(f"{p}: needs a header and at least one image row")
    header = [h.strip() for h in rows[0]]
    lower = [h.lower() for h in header]
    path_col = next((lower.index(c) for c in PATH_COLUMNS if c in lower), None)
    if path_col is None:
        raise UsageError(f"{p}: no image column; name one of {', '.join(PATH_COLUMNS)}")
    class_cols = [i for i in range(len(header)) if i != path_col and header[i]]
    if not class_cols:
        raise UsageError(f"{p}: no class columns besides the image column")
    images, labels = [], []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise UsageError(f"{p} line {n}: {len(row)} cells for {len(header)} columns")
        image = Path(row[path_col].strip())
        images.append(image if image.is_absolute() else p.parent / image)
        labels.append([_label(row[i], f"{p} line {n}") for i in class_cols])
    pixels = load_for_model(images, image_size)
    return LabelledImages([str(i) for i in images], pixels, np.asarray(labels, dtype=np.float32),
                          [header[i] for i in class_cols], str(p))
