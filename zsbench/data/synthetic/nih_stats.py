"""Real NIH ChestX-ray14 statistics for a more realistic synthetic world (``stats=nih``).

Both come from label files torchxrayvision ships: finding combinations (and so class frequencies
and co-occurrence) from ``Data_Entry_2017_v2020.csv.gz``, lesion centres from the 984 boxes of
``BBox_List_2017.csv.gz`` (8 classes).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from zsbench.data.nih import packaged_file
from zsbench.data.vocab import NO_FINDING, canonical
from zsbench.errors import UsageError

NIH_IMAGE_SIDE = 1024.0


def _require(name: str):
    path = packaged_file(name)
    if path is None:
        raise UsageError(f"stats=nih needs {name} from torchxrayvision: pip install torchxrayvision")
    return path


@lru_cache(maxsize=1)
def finding_sets(max_findings: int = 4) -> tuple[tuple[str, ...], ...]:
    """One tuple of class names per NIH image (empty for No Finding), at most ``max_findings``."""
    labels = pd.read_csv(_require("Data_Entry_2017_v2020.csv.gz"), usecols=["Finding Labels"])["Finding Labels"]
    sets = []
    for text in labels:
        names = tuple(sorted(canonical(n) for n in str(text).split("|") if canonical(n) != NO_FINDING))
        if len(names) <= max_findings:
            sets.append(names)
    return tuple(sets)


@lru_cache(maxsize=1)
def box_centres() -> dict[str, np.ndarray]:
    """Class name -> (k, 2) array of normalised (y, x) box centres."""
    boxes = pd.read_csv(_require("BBox_List_2017.csv.gz"))
    x, y, w, h = (boxes.iloc[:, i].astype(float) for i in (2, 3, 4, 5))
    cy, cx = (y + h / 2) / NIH_IMAGE_SIDE, (x + w / 2) / NIH_IMAGE_SIDE
    out: dict[str, list[tuple[float, float]]] = {}
    for name, a, b in zip(boxes.iloc[:, 1], cy, cx, strict=True):
        out.setdefault(canonical(str(name)), []).append((a, b))
    return {k: np.asarray(v) for k, v in out.items()}
