"""CheXpert."""

from __future__ import annotations

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

CHEXPERT_LABELS = (
    "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation",
    "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
    "Support Devices",
)
UNCERTAIN_POLICIES = {"zeros": 0.0, "ones": 1.0, "ignore": np.nan}


class CheXpert(FileImageSource):
    """CheXpert: 224,316 chest radiographs of 65,240 patients, 14 observations labelled from reports
    as positive (1), negative (0), uncertain (-1) or not mentioned (blank, read as negative).

    Citation: Irvin J, Rajpurkar P, Ko M, et al. CheXpert: A Large Chest Radiograph Dataset with
    Uncertainty Labels and Expert Comparison. AAAI 2019.

    Download: https://stanfordmlgroup.github.io/competitions/chexpert/ (CheXpert-v1.0 or -small).
    ``--root`` is the folder that holds ``CheXpert-v1.0-small/`` (or that folder itself).

    Metadata: ``train.csv`` (default: the copy torchxrayvision ships); a ``valid.csv`` beside it
    becomes the test part. Uncertain labels: ``uncertain=zeros|ones|ignore`` (ignore = unknown).
    Frontal views only unless ``views=all``. Parts: seeded patient-disjoint splits.
    """

    name = "chexpert"

    def __init__(self, root: str | Path | None = None, metadata: str | Path | None = None, image_size: int = 256,
                 seed: int = 0, cache: str | Path | None = None, uncertain: str = "ignore",
                 views: str = "frontal") -> None:
        super().__init__(root, image_size, cache)
        if uncertain not in UNCERTAIN_POLICIES:
            raise UsageError(f"uncertain={uncertain!r}: choose zeros, ones or ignore")
        if views not in ("frontal", "all"):
            raise UsageError(f"views={views!r}: choose frontal or all")
        meta = Path(metadata) if metadata else packaged_file("chexpert_train.csv.gz")
        if meta is None or not meta.is_file():
            raise UsageError(f"CheXpert metadata {meta} not found; pass --metadata path/to/train.csv")
        self.metadata_path, self.seed, self.uncertain, self.views = meta, seed, uncertain, views
        self.class_names = [canonical(c) for c in CHEXPERT_LABELS]
        self._table: ImageTable | None = None

    def classes(self) -> list[ClassInfo]:
        return [ClassInfo(c, DESCRIPTIONS.get(c, ())) for c in self.class_names]

    def _read(self, path: Path) -> pd.DataFrame:
        try:
            df = pd.read_csv(path, compression="infer")
        except (OSError, pd.errors.ParserError) as exc:
            raise DataError(f"cannot read CheXpert metadata {path}: {exc.__class__.__name__}") from None
        missing = {"Path", *CHEXPERT_LABELS} - set(df.columns)
        if missing:
            raise DataError(f"{path}: missing columns {', '.join(sorted(missing))}")
        if self.views == "frontal" and "Frontal/Lateral" in df.columns:
            df = df[df["Frontal/Lateral"] == "Frontal"]
        return df

    def table(self) -> ImageTable:
        if self._table is not None:
            return self._table
        train = self._read(self.metadata_path)
        valid_path = self.metadata_path.with_name("valid.csv")
        frames = [train]
        if valid_path.is_file():
            frames.append(self._read(valid_path))
        df = pd.concat(frames, ignore_index=True)
        raw = df[list(CHEXPERT_LABELS)].to_numpy(dtype=np.float64)
        labels = np.nan_to_num(raw, nan=0.0)  # blank = not mentioned = negative
        labels[raw == -1] = UNCERTAIN_POLICIES[self.uncertain]
        ids = df["Path"].astype(str).to_numpy()
        patients = df["Path"].astype(str).str.extract(r"(patient\d+)")[0].fillna(df["Path"]).to_numpy()
        if len(frames) == 2:  # official valid set = test; train split 7:1 into train/val
            part = np.full(len(df), "test", dtype=object)
            n_train = len(train)
            part[:n_train] = patient_split(patients[:n_train], (0.875, 0.125, 0.0), self.seed)
            part = part.astype(str)
        else:
            part = patient_split(patients, seed=self.seed)
        self._table = ImageTable(ids, patients.astype(str), labels.astype(np.float32), part, self.class_names)
        return self._table

    def candidate_paths(self, image_id: str) -> list[Path]:
        root = self._require_root()
        tail = Path(*Path(image_id).parts[1:]) if len(Path(image_id).parts) > 1 else Path(image_id)
        return [root / image_id, root / tail]

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "metadata": str(self.metadata_path), "uncertain": self.uncertain,
                "views": self.views, "image_size": self.image_size, "no_finding_label": NO_FINDING}


class CheXpertOptions(OptionSet):
    """``--dataset-option`` keys of CheXpert."""

    uncertain: str = "ignore"  # zeros | ones | ignore
    views: str = "frontal"  # frontal | all


def create_chexpert(*, root: str | None = None, metadata: str | None = None, image_size: int | None = None,
                    seed: int = 0, cache: str | None = None, uncertain: str = "ignore", views: str = "frontal",
                    **_: object) -> CheXpert:
    return CheXpert(root, metadata, image_size or 256, seed, cache, uncertain, views)
