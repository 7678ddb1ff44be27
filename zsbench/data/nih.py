"""NIH ChestX-ray14."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from zsbench.data.base import PARTS, ClassInfo, ImageTable
from zsbench.data.files import FileImageSource
from zsbench.data.split_lists import default_dir, load_split_lists
from zsbench.data.splitting import patient_split
from zsbench.data.vocab import NIH_CLASSES, NO_FINDING, canonical, check_known_labels
from zsbench.errors import DataError, UsageError
from zsbench.text.library import NIH_DESCRIPTIONS


def packaged_file(name: str) -> Path | None:
    """A label file shipped as package data by torchxrayvision, found without importing it."""
    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    return path if path.is_file() else None


class NIHChestXray14(FileImageSource):
    """NIH ChestX-ray14: 112,120 frontal chest X-rays of 30,805 patients, 14 findings mined from
    radiology reports (plus "No Finding").

    Citation: Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale Chest
    X-ray Database and Benchmarks on Weakly-Supervised Classification and Localization of Common
    Thorax Diseases. CVPR 2017.

    Download: https://nihcc.app.box.com/v/ChestXray-NIHCC (images_001.tar.gz ... images_012.tar.gz
    and Data_Entry_2017_v2020.csv). Extract the archives under one root: the official
    ``images_XXX/images/*.png`` layout and a flat folder of PNGs both work.

    Metadata: ``Data_Entry_2017.csv`` or ``Data_Entry_2017_v2020.csv``, plain or gzip; by default
    the copy torchxrayvision ships. Image split: the CheXNet lists (train/val/test_list.txt) from
    ``split_lists`` or the download cache, else a seeded patient-disjoint 70/10/20 split
    (``split_source`` says which).
    """

    name = "nih"

    def __init__(
        self,
        root: str | Path | None = None,
        metadata: str | Path | None = None,
        split_lists: str | Path | None = None,
        image_size: int = 256,
        seed: int = 0,
        cache: str | Path | None = None,
    ) -> None:
        super().__init__(root, image_size, cache)
        meta = Path(metadata) if metadata else packaged_file("Data_Entry_2017_v2020.csv.gz")
        if meta is None:
            raise UsageError("no NIH metadata: pass --metadata Data_Entry_2017_v2020.csv (or install torchxrayvision)")
        if not meta.is_file():
            raise UsageError(f"NIH metadata file {meta} does not exist")
        self.metadata_path = meta
        if split_lists is None and (default_dir("nih-chexnet") / "test_list.txt").is_file():
            split_lists = default_dir("nih-chexnet")
        self.split_lists = Path(split_lists) if split_lists else None
        self.seed = seed
        self._table: ImageTable | None = None
        self._index: dict[str, Path] | None = None

    @property
    def split_source(self) -> str:
        if self.split_lists:
            return f"split lists in {self.split_lists}"
        return f"fallback: seeded patient-disjoint 70/10/20 split (seed {self.seed}); no split lists given"

    def classes(self) -> list[ClassInfo]:
        return [ClassInfo(c, NIH_DESCRIPTIONS[c]) for c in NIH_CLASSES]

    def table(self) -> ImageTable:
        if self._table is None:
            self._table = self._read_table()
        return self._table

    def _read_table(self) -> ImageTable:
        try:
            df = pd.read_csv(self.metadata_path, compression="infer", dtype={"Patient ID": str})
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read NIH metadata {self.metadata_path}: {exc.__class__.__name__}") from None
        needed = {"Image Index", "Finding Labels", "Patient ID"}
        if not needed <= set(df.columns):
            raise DataError(f"{self.metadata_path}: needs columns {', '.join(sorted(needed))}")
        findings = df["Finding Labels"].astype(str).str.split("|")
        check_known_labels({f for fs in findings for f in fs}, NIH_CLASSES, str(self.metadata_path))
        column = {c: i for i, c in enumerate(NIH_CLASSES)}
        labels = np.zeros((len(df), len(NIH_CLASSES)), dtype=np.float32)
        for row, fs in enumerate(findings):
            for f in fs:
                name = canonical(f)
                if name != NO_FINDING:
                    labels[row, column[name]] = 1.0
        ids = df["Image Index"].astype(str).to_numpy()
        patients = df["Patient ID"].astype(str).to_numpy()
        if self.split_lists:
            part = np.full(len(ids), "none", dtype=object)
            position = {image_id: n for n, image_id in enumerate(ids)}
            for name, listed in load_split_lists(self.split_lists).items():
                unknown = [i for i in listed if i not in position]
                if unknown:
                    raise DataError(
                        f"{len(unknown)} images of the {name} list are not in {self.metadata_path.name} "
                        f"(e.g. {unknown[0]}); are the lists for this dataset?"
                    )
                part[[position[i] for i in listed]] = name
            part = part.astype(str)
        else:
            part = patient_split(patients, seed=self.seed, weights=labels.any(axis=1).astype(float))
        return ImageTable(ids, patients, labels, part, list(NIH_CLASSES))

    def candidate_paths(self, image_id: str) -> list[Path]:
        if self._index is None:
            self._index = self._scan()
        path = self._index.get(image_id)
        return [path] if path else []

    def _scan(self) -> dict[str, Path]:
        """File name -> path for the official images_XXX/images/ layout and flat folders."""
        root = self._require_root()
        index: dict[str, Path] = {}
        folders = [root, root / "images", *sorted(root.glob("images_*/images")), *sorted(root.glob("images_*"))]
        for folder in folders:
            if folder.is_dir():
                for entry in folder.iterdir():
                    if entry.suffix.lower() == ".png":
                        index.setdefault(entry.name, entry)
        return index

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "metadata": str(self.metadata_path),
            "root": str(self.root) if self.root else None,
            "image_split": self.split_source,
            "image_size": self.image_size,
            "parts": list(PARTS),
        }


def create_nih(
    *,
    root: str | None = None,
    metadata: str | None = None,
    split_lists: str | None = None,
    image_size: int | None = None,
    seed: int = 0,
    cache: str | None = None,
    **_: object,
) -> NIHChestXray14:
    return NIHChestXray14(root, metadata, split_lists, image_size or 256, seed, cache)
