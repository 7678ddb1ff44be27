"""The csv dataset end to end, random class splits, GZSL model selection, the pixel cache in runs."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import TINY_RUN
from zsbench.data.csv_source import CsvDataset
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import UsageError

ZSBENCH = [sys.executable, "-m", "zsbench"]


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    """240 synthetic images saved as PNG files, listed in a CSV with a '|' labels column."""
    root = tmp_path_factory.mktemp("csvdata")
    world = SyntheticWorld(n_images=240, image_size=32, seed=5)
    table = world.table()
    pixels = world.load_images(table.ids)
    rows = []
    for n, image_id in enumerate(table.ids):
        Image.fromarray(pixels[n, 0]).save(root / f"{image_id}.png")
        names = [table.class_names[c] for c in np.flatnonzero(table.labels[n])]
        # a few aliases, as a user's file might spell them
        names = ["Pleural Effusion" if x == "Effusion" else x for x in names]
        rows.append({"path": f"{image_id}.png", "labels": "|".join(names) or "No Finding",
                     "patient": table.patients[n]})
    import pandas as pd

    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return root


def test_csv_dataset_reads_labels_aliases_and_patients(csv_data):
    ds = CsvDataset(csv_data / "labels.csv", root=csv_data, image_size=32,
                    patient_column="patient")
    table = ds.table()
    assert "Effusion" in table.class_names and "Pleural Effusion" not in table.class_names
    parts = {p: set(table.patients[table.part == p]) for p in ("train", "val", "test")}
    assert not parts["train"] & parts["val"] and not parts["train"] & parts["test"]
    assert ds.load_images(table.ids[:3]).shape == (3, 1, 32, 32)
    with pytest.raises(UsageError, match="no patient column 'who'"):
        CsvDataset(csv_data / "labels.csv", root=csv_data, patient_column="who").table()


def test_csv_label_columns_and_part_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("file,Mass,Pleural Effusion,split\na.png,1,0,train\nb.png,,1,test\n")
    table = CsvDataset(path, image_column="file", label_columns="Mass,Pleural Effusion", part_column="split").table()
    assert table.class_names == ["Mass", "Effusion"]
    assert np.isnan(table.labels[1, 0]) and table.labels[1, 1] == 1
    assert list(table.part) == ["train", "test"]


def test_run_on_csv_dataset_end_to_end(csv_data, tmp_path):
    split = tmp_path / "split.yaml"
    split.write_text(yaml.safe_dump({"seen": ["Atelectasis", "Effusion", "Infiltration", "Mass", "Nodule",
                                              "Cardiomegaly", "Consolidation", "Pneumothorax"],
                                     "unseen": ["Edema", "Emphysema"]}))
    proc = subprocess.run(
        [*ZSBENCH, "run", *TINY_RUN, "--dataset", "csv", "--metadata", str(csv_data / "labels.csv"),
         "--root", str(csv_data), "--dataset-option", "patient_column=patient", "--split", str(split),
         "--class-text", "name", "--out", str(tmp_path / "runs"), "--json"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["dataset"]["name"] == "csv" and result["counts"]["missing_images"] == 0
    assert result["classes"]["unseen"] == ["Edema", "Emphysema"]


def test_splits_make_writes_seeded_splits_with_unseen_in_test(tmp_path):
    out = tmp_path / "splits"
    args = [*ZSBENCH, "splits", "make", "--dataset", "synthetic", "--n-images", "400", "--n-unseen", "3",
            "--count", "4", "--seed", "7", "--out", str(out)]
    subprocess.run(args, check=True, capture_output=True)
    files = sorted(out.glob("*.yaml"))
    assert len(files) == 4
    world = SyntheticWorld(n_images=400)
    test = world.table().labels[world.table().part == "test"]
    names = world.table().class_names
    for f in files:
        data = yaml.safe_load(f.read_text())
        assert len(data["unseen"]) == 3 and not set(data["seen"]) & set(data["unseen"])
        assert data["generator"]["seed"] == 7 and data["generator"]["kind"] == "random"
        for name in data["unseen"]:
            assert test[:, names.index(name)].sum() > 0
    first = files[0].read_text()
    subprocess.run(args, check=True, capture_output=True)  # same seed, same splits
    assert files[0].read_text() == first


def test_gzsl_model_selection_holds_out_seen_classes(tmp_path):
    proc = subprocess.run([*ZSBENCH, "run", *TINY_RUN, "--epochs", "2", "--selection", "gzsl",
                           "--val-unseen", "2", "--out", str(tmp_path), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    selection = json.loads(proc.stdout)["training"]["selection"]
    assert selection["kind"] == "gzsl" and len(selection["held_out"]) == 2
    unseen = {"Edema", "Pneumonia", "Emphysema", "Fibrosis"}
    assert not set(selection["held_out"]) & unseen
    assert 1 <= selection["chosen_epochs"] <= 2 and len(selection["probe_history"]) == 2


def test_prepare_then_run_reads_the_cache(csv_data, tmp_path):
    cache = tmp_path / "cache"
    proc = subprocess.run([*ZSBENCH, "prepare", "--dataset", "csv", "--metadata", str(csv_data / "labels.csv"),
                           "--root", str(csv_data), "--size", "32", "--cache", str(cache)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "240 of 240 images ready" in proc.stdout
    ds = CsvDataset(csv_data / "labels.csv", root=tmp_path / "no-images-here", image_size=32, cache=cache)
    ids = ds.table().ids[:4]
    assert ds.load_images(ids).shape == (4, 1, 32, 32)  # served from the cache, no files needed
    again = subprocess.run([*ZSBENCH, "prepare", "--dataset", "csv", "--metadata", str(csv_data / "labels.csv"),
                            "--root", str(csv_data), "--size", "32", "--cache", str(cache)],
                           capture_output=True, text=True)
    assert "resumed after 240" in again.stdout
