"""PadChest."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from zsbench.data.base import ClassInfo, ImageTable
from zsbench.data.files import FileImageSource
from zsbench.data.nih import packaged_file
from zsbench.data.splitting import patient_split
from zsbench.data.vocab import NO_FINDING, canonical
from zsbench.errors import DataError, UsageError
from zsbench.options import OptionSet
from zsbench.text.library import DESCRIPTIONS

PADCHEST_CSV = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz"
# report annotations that are not findings
NOT_FINDINGS = {"", "exclude", "suboptimal study", "unchanged"}
FRONTAL = {"PA", "AP", "AP_horizontal"}


def parse_labels(text: object) -> list[str] | None:
    """``"['pleural effusion', 'cardiomegaly']"`` -> canonical names; None when unparseable."""
    if not isinstance(text, str):
        return None
    try:
        values = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if not isinstance(values, list):
        return None
    names = [canonical(str(v).strip()) for v in values]
    return [n for n in names if n.lower() not in NOT_FINDINGS and n != NO_FINDING]


class PadChest(FileImageSource):
    """PadChest: 160,868 chest X-rays of 67,625 patients from Hospital San Juan (Alicante), with
    174 radiographic findings and 19 diagnoses (about 190 labels) from reports.

    Citation: Bustos A, Pertusa A, Salinas JM, de la Iglesia-Vayá M. PadChest: A large chest x-ray
    image dataset with multi-label annotated reports. Medical Image Analysis 66, 2020.

    Download: https://bimcv.cipf.es/bimcv-projects/padchest/ (images in numbered folders; the
    ``ImageDir`` column names the folder). Metadata: the label CSV, by default the copy
    torchxrayvision ships. Labels come from the ``Labels`` column; NIH-equivalent terms map onto
    NIH names (pleural effusion -> Effusion, ...). Frontal projections only unless ``views=all``;
    classes with fewer than ``min_count`` images are dropped. Parts: seeded patient-disjoint.
    """

    name = "padchest"

    def __init__(self, root: str | Path | None = None, metadata: str | Path | None = None, image_size: int = 256,
                 seed: int = 0, cache: str | Path | None = None, views: str = "frontal", min_count: int = 1) -> None:
        super().__init__(root, image_size, cache)
        meta = Path(metadata) if metadata else packaged_file(PADCHEST_CSV)
        if meta is None or not meta.is_file():
            raise UsageError(f"PadChest metadata {meta} not found; pass --metadata path/to/labels.csv")
        if views not in ("frontal", "all"):
            raise UsageError(f"views={views!r}: choose frontal or all")
        self.metadata_path, self.seed, self.views, self.min_count = meta, seed, views, int(min_count)
        self._table: ImageTable | None = None
        self._dirs: dict[str, str] = {}

    def classes(self) -> list[ClassInfo]:
        return [ClassInfo(c, DESCRIPTIONS.get(c, ())) for c in self.table().class_names]

    def table(self) -> ImageTable:
        if self._table is not None:
            return self._table
        cols = ["ImageID", "ImageDir", "PatientID", "Projection", "Labels"]
        try:
            df = pd.read_csv(self.metadata_path, compression="infer", usecols=cols, dtype=str)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise DataError(f"cannot read PadChest metadata {self.metadata_path}: {exc}") from None
        if self.views == "frontal":
            df = df[df["Projection"].isin(FRONTAL)]
        parsed = df["Labels"].map(parse_labels)
        df, parsed = df[parsed.notna()], parsed[parsed.notna()]  # unparseable rows carry no labels
        counts = Counter(n for names in parsed for n in set(names))
        class_names = sorted(n for n, k in counts.items() if k >= self.min_count)
        column = {n: i for i, n in enumerate(class_names)}
        labels = np.zeros((len(df), len(class_names)), dtype=np.float32)
        for row, names in enumerate(parsed):
            for n in names:
                if n in column:
                    labels[row, column[n]] = 1.0
        ids = df["ImageID"].to_numpy()
        self._dirs = dict(zip(ids, df["ImageDir"].fillna(""), strict=True))
        patients = df["PatientID"].fillna(df["ImageID"]).to_numpy()
        part = patient_split(patients, seed=self.seed, weights=labels.any(axis=1).astype(float))
        self._table = ImageTable(ids, patients, labels, part, class_names)
        return self._table

    def candidate_paths(self, image_id: str) -> list[Path]:
        root = self._require_root()
        self.table()
        return [root / str(self._dirs.get(image_id, "")) / image_id, root / image_id]

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "metadata": str(self.metadata_path), "views": self.views,
                "min_count": self.min_count, "image_size": self.image_size}


class PadChestOptions(OptionSet):
    """``--dataset-option`` keys of PadChest."""

    views: str = "frontal"  # frontal | all
    min_count: int = 1  # keep findings with at least this many images


def create_padchest(*, root: str | None = None, metadata: str | None = None, image_size: int | None = None,
                    seed: int = 0, cache: str | None = None, views: str = "frontal", min_count: int = 1,
                    **_: object) -> PadChest:
    return PadChest(root, metadata, image_size or 256, seed, cache, views, min_count)
