"""Your own data: a CSV file of image paths and labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from zsbench.data.base import PARTS, ClassInfo, ImageTable
from zsbench.data.files import FileImageSource
from zsbench.data.splitting import patient_split
from zsbench.data.vocab import NO_FINDING, canonical
from zsbench.errors import DataError, UsageError
from zsbench.options import OptionSet, parse_option_set
from zsbench.text.library import DESCRIPTIONS


class CsvDataset(FileImageSource):
    """Images listed in a CSV file, labels in it too.

    Columns (names configurable with ``--dataset-option``):

    - ``image_column`` (default ``path``): image path, relative to ``--root`` or absolute;
    - labels either as one ``labels_column`` (default ``labels``) of ``|``-separated names
      (``Effusion|Mass``; empty or ``No Finding`` = none), or as ``label_columns``
      (``"Effusion,Mass,..."``) of 1 / 0 / blank (blank = unknown);
    - optional ``patient_column`` (default: each image its own patient) and ``part_column`` with
      values train / val / test (default: a seeded patient-disjoint 70/10/20 split);
    - optional ``report_column``: each image's report text (MIMIC-CXR, OpenI), returned by
      :meth:`reports` for image-text pretraining (blank = no report).

    Label names are mapped to the canonical vocabulary (Pleural Effusion -> Effusion, ...).
    """

    name = "csv"

    def __init__(self, metadata: str | Path | None, root: str | Path | None = None, image_size: int = 256,
                 seed: int = 0, cache: str | Path | None = None, image_column: str = "path",
                 labels_column: str = "labels", label_columns: str | None = None,
                 patient_column: str | None = None, part_column: str | None = None,
                 report_column: str | None = None) -> None:
        super().__init__(root, image_size, cache)
        if not metadata:
            raise UsageError("dataset 'csv' needs --metadata FILE.csv")
        self.metadata_path = Path(metadata)
        if not self.metadata_path.is_file():
            raise UsageError(f"--metadata {metadata} does not exist")
        self.seed = seed
        self.image_column, self.labels_column = image_column, labels_column
        self.label_columns = [c.strip() for c in label_columns.split(",")] if label_columns else None
        self.patient_column, self.part_column = patient_column, part_column
        self.report_column = report_column
        self._table: ImageTable | None = None
        self._report_of: dict[str, str] = {}

    def classes(self) -> list[ClassInfo]:
        return [ClassInfo(c, DESCRIPTIONS.get(c, ())) for c in self.table().class_names]

    def _column(self, df: pd.DataFrame, name: str, what: str) -> pd.Series:
        if name not in df.columns:
            raise UsageError(
                f"{self.metadata_path}: no {what} column {name!r} (columns: {', '.join(map(str, df.columns))}); "
                f"set it with --dataset-option {what.replace(' ', '_')}_column=NAME"
            )
        return df[name]

    def table(self) -> ImageTable:
        if self._table is not None:
            return self._table
        try:
            df = pd.read_csv(self.metadata_path, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"{self.metadata_path} is empty; it needs a header row and one row per image") from None
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read {self.metadata_path}: {exc.__class__.__name__}") from None
        if df.empty:
            raise DataError(f"{self.metadata_path} lists no images; add one row per image below the header")
        ids = self._column(df, self.image_column, "image").to_numpy()
        blank = [n for n, v in enumerate(ids) if not str(v).strip() or str(v).strip().lower() in ("nan", "none")]
        if blank:
            raise DataError(f"{self.metadata_path}: {len(blank)} row(s) have no image path in column "
                            f"{self.image_column!r} (first: data row {blank[0] + 1}); fill them in or drop those rows")
        if self.label_columns:
            for c in self.label_columns:
                self._column(df, c, "label")
            names = [canonical(c) for c in self.label_columns]
            raw = df[self.label_columns].replace("", np.nan)
            try:
                labels = raw.astype(np.float32).to_numpy()
            except ValueError:
                raise DataError(f"{self.metadata_path}: label columns must hold 1, 0 or blank") from None
        else:
            lists = [
                [canonical(x) for x in str(v).split("|") if x.strip()]
                for v in self._column(df, self.labels_column, "labels")
            ]
            names = sorted({n for ls in lists for n in ls} - {NO_FINDING})
            col = {n: i for i, n in enumerate(names)}
            labels = np.zeros((len(df), len(names)), dtype=np.float32)
            for row, ls in enumerate(lists):
                for n in ls:
                    if n != NO_FINDING:
                        labels[row, col[n]] = 1.0
        patients = self._column(df, self.patient_column, "patient").to_numpy() if self.patient_column else ids
        if self.report_column:  # read with the table, so a wrong column name fails before any pixel
            texts = self._column(df, self.report_column, "report")
            self._report_of = {str(i): _report_text(t) for i, t in zip(ids, texts, strict=True)}
        if self.part_column:
            part = self._column(df, self.part_column, "part").str.strip().str.lower().to_numpy()
            bad = sorted(set(part) - set(PARTS))
            if bad:
                raise DataError(f"{self.metadata_path}: part values must be train, val or test (found {bad[:3]})")
        else:
            part = patient_split(patients, seed=self.seed)
        self._table = ImageTable(ids.astype(str), patients.astype(str), labels, part.astype(str), names)
        return self._table

    def reports(self, ids: Sequence[str] | np.ndarray) -> list[str] | None:
        """The ``report_column`` text of each image ("" where blank), None without that option."""
        if not self.report_column:
            return None
        self.table()
        try:
            return [self._report_of[str(i)] for i in ids]
        except KeyError as exc:
            raise UsageError(f"image id {exc.args[0]!r} is not listed in {self.metadata_path}") from None

    def candidate_paths(self, image_id: str) -> list[Path]:
        path = Path(image_id)
        if path.is_absolute():
            return [path]
        return [self._require_root() / path]

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "metadata": str(self.metadata_path), "root": str(self.root) if self.root else None,
                "image_size": self.image_size}


class CsvOptions(OptionSet):
    """``--dataset-option`` keys of the csv dataset: which columns hold what."""

    image_column: str | None = None
    labels_column: str | None = None
    label_columns: str | None = None
    patient_column: str | None = None
    part_column: str | None = None
    report_column: str | None = None  # report text per image (optional)


def _report_text(value: object) -> str:
    """A report cell as text: blank, NaN and None (how a missing report is often written) are ""."""
    text = "" if value is None else str(value).strip()
    return "" if text.lower() in ("nan", "none") else text


def create_csv(*, metadata: str | None = None, root: str | None = None, image_size: int | None = None,
               seed: int = 0, cache: str | None = None, n_images: int | None = None, split_lists: str | None = None,
               **options: str | None) -> CsvDataset:
    # the column options, checked against CsvOptions (the runner has checked them already)
    columns = parse_option_set(CsvOptions, {k: v for k, v in options.items() if v is not None}, "dataset 'csv'")
    return CsvDataset(metadata, root, image_size or 256, seed, cache, **columns.model_dump(exclude_none=True))
