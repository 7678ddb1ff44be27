"""Real label files (shipped by torchxrayvision), real file formats, tiny generated images."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from zsbench.data.chexpert import CheXpert
from zsbench.data.class_splits import load_class_split
from zsbench.data.images import read_gray
from zsbench.data.nih import NIHChestXray14, packaged_file
from zsbench.data.padchest import PadChest, parse_labels
from zsbench.data.pixel_cache import PixelCache, prepare_cache
from zsbench.data.protocol import apply_protocol
from zsbench.data.split_lists import parse_list
from zsbench.data.vocab import canonical
from zsbench.errors import DataError, LeakageError, UsageError
from zsbench.runner import check_training_classes, drop_missing_images

SHARED_LISTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "nih-chexnet-split"
needs_shared = pytest.mark.skipif(not SHARED_LISTS.is_dir(), reason="../shared/data not present")
ZSBENCH = [sys.executable, "-m", "zsbench"]


@pytest.fixture(scope="module")
def nih_rows():
    """The first 60 rows of the real Data_Entry_2017_v2020.csv."""
    return pd.read_csv(packaged_file("Data_Entry_2017_v2020.csv.gz"), nrows=60)


def write_nih_folder(root: Path, names: list[str], layout: str = "official") -> None:
    for n, name in enumerate(names):
        folder = root / f"images_{1 + n % 2:03d}" / "images" if layout == "official" else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 40), n * 4 % 256, dtype=np.uint8)).save(folder / name)


def write_lists(folder: Path, rows: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    patients = rows["Patient ID"].unique()
    part = {p: ("train" if i % 5 < 3 else "val" if i % 5 == 3 else "test") for i, p in enumerate(patients)}
    for name in ("train", "val", "test"):
        chosen = rows[rows["Patient ID"].map(part) == name]["Image Index"]
        (folder / f"{name}_list.txt").write_text("".join(f"{i} 0 0 0\n" for i in chosen))
    return folder


@pytest.mark.parametrize("layout", ["official", "flat"])
def test_nih_loads_real_metadata_rows_and_generated_pngs(tmp_path, nih_rows, layout):
    meta = tmp_path / "Data_Entry_2017_v2020.csv.gz"
    with gzip.open(meta, "wt") as fh:
        nih_rows.to_csv(fh, index=False)
    write_nih_folder(tmp_path / "img", list(nih_rows["Image Index"]), layout)
    ds = NIHChestXray14(root=tmp_path / "img", metadata=meta, split_lists=write_lists(tmp_path / "l", nih_rows),
                        image_size=32)
    table = ds.table()
    assert len(table) == 60 and table.class_names[0] == "Atelectasis"
    row = list(table.ids).index("00000001_001.png")  # Cardiomegaly|Emphysema in the real file
    assert set(np.flatnonzero(table.labels[row])) == {1, 10}
    pixels = ds.load_images(table.ids[:5])
    assert pixels.shape == (5, 1, 32, 32) and pixels.dtype == np.uint8
    assert pixels[1].mean() == pytest.approx(4, abs=1)
    assert ds.missing_ids(table.ids) == []
    assert "Wang" in NIHChestXray14.__doc__ and "nihcc.app.box.com" in NIHChestXray14.__doc__


@needs_shared
def test_stats_with_reference_lists_gives_the_paper_counts():
    out = subprocess.run([*ZSBENCH, "data", "stats", "--dataset", "nih", "--split", "nih-paper",
                          "--split-lists", str(SHARED_LISTS), "--json"], capture_output=True, text=True, check=True)
    counts = json.loads(out.stdout)
    assert (counts["train"], counts["val"], counts["test"]) == (30758, 4474, 10510)


def test_fallback_split_is_patient_disjoint_and_close_to_the_paper_counts():
    ds = NIHChestXray14(seed=0)
    assert ds.split_source.startswith("fallback") or ds.split_lists is not None
    fallback = NIHChestXray14(seed=0, split_lists=None)
    fallback.split_lists = None  # ignore any downloaded lists in the user's cache
    counts = apply_protocol(fallback.table(), load_class_split("nih-paper")).counts()
    for part, ref in (("train", 30758), ("val", 4474), ("test", 10510)):
        assert abs(counts[part] / ref - 1) <= 0.03, (part, counts[part])


def test_clinical_protocol_keeps_no_finding_in_val_and_test(nih_rows, tmp_path):
    meta = tmp_path / "meta.csv"
    nih_rows.to_csv(meta, index=False)
    ds = NIHChestXray14(metadata=meta, split_lists=write_lists(tmp_path / "l", nih_rows))
    paper = apply_protocol(ds.table(), load_class_split("nih-paper"))
    clinical = apply_protocol(ds.table(), load_class_split("nih-clinical"))
    assert len(clinical.train) == len(paper.train)
    assert len(clinical.test) > len(paper.test) and (clinical.test.labels.sum(axis=1) == 0).any()


def test_unknown_labels_name_them_and_the_aliases(tmp_path, nih_rows):
    bad = nih_rows.copy()
    bad.loc[3, "Finding Labels"] = "Mass|Covid Pneumonitis"
    meta = tmp_path / "meta.csv"
    bad.to_csv(meta, index=False)
    with pytest.raises(DataError, match=r"'Covid Pneumonitis'.*known aliases: .*pleural effusion -> Effusion"):
        NIHChestXray14(metadata=meta).table()


def test_malformed_split_list_gives_file_and_line(tmp_path):
    bad = tmp_path / "train_list.txt"
    bad.write_text("00000001_000.png 0 1\n\nnot-an-image 0 0\n")
    with pytest.raises(DataError, match=r"train_list.txt:3: expected an image file name"):
        parse_list(bad)


@pytest.mark.parametrize("mode", ["L", "I;16", "RGBA", "P", "JPEG"])
def test_image_formats_load_as_8bit_gray(tmp_path, mode):
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))
    path = tmp_path / ("img.jpg" if mode == "JPEG" else "img.png")
    if mode == "I;16":
        Image.fromarray(ramp.astype(np.uint16) * 257).save(path)  # full 16-bit range
    elif mode == "RGBA":
        rgba = np.dstack([ramp, ramp, ramp, np.full_like(ramp, 128)])
        Image.fromarray(rgba, "RGBA").save(path)
    elif mode == "P":
        Image.fromarray(ramp).convert("P").save(path)
    elif mode == "JPEG":
        Image.fromarray(ramp).save(path, quality=95)
    else:
        Image.fromarray(ramp).save(path)
    gray = read_gray(path)
    assert gray.dtype == np.uint8 and gray.shape == (64, 64)
    # 16-bit images are stretched over their own range (0..252*257 here) onto 0..255
    expected = ramp * (255 / 252) if mode == "I;16" else ramp
    assert np.abs(gray.astype(int) - expected).max() <= (8 if mode in ("JPEG", "P") else 1)


def test_corrupt_and_missing_files(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="corrupt"):
        read_gray(tmp_path / "bad.png")
    with pytest.raises(DataError, match="does not exist"):
        read_gray(tmp_path / "nope.png")


def test_verify_reports_missing_and_corrupt(tmp_path, nih_rows):
    meta = tmp_path / "meta.csv"
    nih_rows.head(10).to_csv(meta, index=False)
    names = list(nih_rows["Image Index"].head(10))
    write_nih_folder(tmp_path / "img", names[:8])
    corrupt = next((tmp_path / "img").rglob(names[0]))
    corrupt.write_bytes(b"garbage")
    proc = subprocess.run([*ZSBENCH, "data", "verify", "nih", "--root", str(tmp_path / "img"), "--metadata",
                           str(meta), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["checked"] == 10 and sorted(report["missing"]) == sorted(names[8:])
    assert report["corrupt"] == [names[0]]


def test_missing_images_refuse_a_run_unless_allowed(tmp_path, nih_rows):
    meta = tmp_path / "meta.csv"
    nih_rows.to_csv(meta, index=False)
    lists = write_lists(tmp_path / "l", nih_rows)
    write_nih_folder(tmp_path / "img", list(nih_rows["Image Index"])[:-5])
    ds = NIHChestXray14(root=tmp_path / "img", metadata=meta, split_lists=lists)
    split = load_class_split("nih-clinical")
    with pytest.raises(UsageError, match=r"missing under .*--allow-missing"):
        drop_missing_images(ds, apply_protocol(ds.table(), split), allow_missing=False)
    splits = apply_protocol(ds.table(), split)
    before = sum(splits.counts().values())
    dropped = drop_missing_images(ds, splits, allow_missing=True)
    assert dropped >= 1 and sum(splits.counts().values()) == before - dropped


def test_unseen_texts_guard():
    check_training_classes([0, 1, 2], unseen=[3], allowed=False)
    with pytest.raises(LeakageError, match="unseen"):
        check_training_classes([0, 1, 3], unseen=[3], allowed=False)


def test_download_splits_verifies_checksums(tmp_path):
    if not SHARED_LISTS.is_dir():
        pytest.skip("../shared/data not present")
    dest = tmp_path / "lists"
    proc = subprocess.run([*ZSBENCH, "data", "download-splits", "nih-chexnet", "--dest", str(dest),
                           "--base-url", SHARED_LISTS.as_uri()], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(parse_list(dest / "val_list.txt")) == 11219
    tampered = tmp_path / "mirror"
    tampered.mkdir()
    for f in SHARED_LISTS.glob("*_list.txt"):
        (tampered / f.name).write_bytes(f.read_bytes())
    (tampered / "val_list.txt").write_text("00000001_000.png 0\n")
    proc = subprocess.run([*ZSBENCH, "data", "download-splits", "nih-chexnet", "--dest", str(tmp_path / "x"),
                           "--base-url", tampered.as_uri()], capture_output=True, text=True)
    assert proc.returncode == 1 and "does not match" in proc.stderr
    assert not (tmp_path / "x" / "val_list.txt").exists()


def test_chexpert_rows_from_the_shipped_file():
    for policy, expected in (("ignore", np.nan), ("zeros", 0.0), ("ones", 1.0)):
        table = CheXpert(uncertain=policy).table()
        row = list(table.ids).index("CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg")
        col = table.class_names.index("Cardiomegaly")  # -1.0 in the file
        value = table.labels[row, col]
        assert np.isnan(value) if np.isnan(expected) else value == expected
        assert table.labels[row, table.class_names.index("Fracture")] == 1.0
    assert "Effusion" in table.class_names  # "Pleural Effusion" mapped to the canonical name
    parts = {p: set(table.patients[table.part == p]) for p in ("train", "val", "test")}
    assert not parts["train"] & parts["test"]


def test_padchest_rows_from_the_shipped_file():
    table = PadChest().table()
    assert 170 <= len(table.class_names) <= 200
    assert {"Effusion", "Cardiomegaly", "Infiltration", "Hernia"} <= set(table.class_names)
    assert parse_labels("['pleural effusion', ' cardiomegaly', 'normal']") == ["Effusion", "Cardiomegaly"]
    assert parse_labels("not a list") is None


def test_vocabulary_aliases():
    assert canonical("Pleural Effusion") == "Effusion"
    assert canonical("infiltrate") == "Infiltration"
    assert canonical("pleural thickening") == "Pleural_Thickening"
    assert canonical("Something New") == "Something New"


def test_pixel_cache_resumes_and_skips_bad_files(tmp_path):
    ids = [f"{i:08d}_000.png" for i in range(12)]
    for i, name in enumerate(ids[:10]):
        Image.fromarray(np.full((20, 20), i * 10, dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / ids[9]).write_bytes(b"bad")

    def read(image_id, stop_after=None):
        path = tmp_path / image_id
        if not path.exists():
            raise FileNotFoundError(image_id)
        return np.asarray(Image.fromarray(read_gray(path)).resize((16, 16)))

    calls = []

    def interrupted(image_id):
        calls.append(image_id)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return read(image_id)

    cache_dir = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        prepare_cache(cache_dir, ids, 16, "test", interrupted, chunk=4)
    report = prepare_cache(cache_dir, ids, 16, "test", read, chunk=4)
    assert report.resumed_from == 4  # the first full chunk was kept
    assert report.ok == 9 and report.missing == ids[10:] and report.corrupt == [ids[9]]
    cache = PixelCache.open(cache_dir)
    assert cache.covers(ids[:9]) and not cache.covers(ids[9:10])
    assert cache.get([ids[3]])[0, 0].mean() == pytest.approx(30, abs=1)
