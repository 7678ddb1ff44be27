import csv
import io
import itertools
import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from tests.imaging import to_12bit, write_dicom, write_png
from zsbench.checkpoint import read_checkpoint
from zsbench.cli.main import cli
from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME
from zsbench.errors import UsageError
from zsbench.metrics import auroc
from zsbench.predict import ClassQuery, parse_class_list, read_class_file
from zsbench.rundata import run_part_table


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_present_never_seen_class_ranks_top3_from_its_description(trained_run, tmp_path, record_property, capsys):
    """A class named nowhere in training, given only by a description, on synthetic images (PNG
    and 12-bit DICOM): it must rank higher on the images that carry it than on those without it."""
    meta = read_checkpoint(trained_run / "best.pt").meta
    dataset, table = run_part_table(meta.config, "test")
    col = table.class_names.index("Emphysema")
    pos = np.flatnonzero(table.labels[:, col] > 0.5)
    neg = np.flatnonzero(table.labels[:, col] < 0.5)[:60]
    pixels = dataset.load_images(table.ids[np.r_[pos, neg]])
    folder = tmp_path / "images"
    folder.mkdir()
    paths = []
    for k, image_id in enumerate(table.ids[np.r_[pos, neg]]):
        if k % 3 == 0:
            paths.append(write_dicom(folder / f"{image_id}.dcm", to_12bit(pixels[k, 0])))
        else:
            paths.append(write_png(folder / f"{image_id}.png", pixels[k, 0]))
    # a paraphrase, not the text the run recorded, under a name the checkpoint has never heard
    new_class = {"name": "Bullous lung disease", "description": RECIPES_BY_NAME["Emphysema"].descriptions[1]}
    assert new_class["description"] not in meta.class_texts
    classes = tmp_path / "classes.yaml"
    classes.write_text(yaml.safe_dump([*meta.seen, new_class]))
    res = invoke(["predict", "--checkpoint", str(trained_run / "best.pt"), *map(str, paths),
                  "--classes-file", str(classes), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["classes"][-1] == {"name": "Bullous lung disease", "kind": "new", "text": new_class["description"],
                                  "text_source": "description", "threshold": None}
    ranks, scores = [], []
    for image in out["images"]:
        (row,) = [p for p in image["predictions"] if p["class"] == "Bullous lung disease"]
        ranks.append(row["rank"])
        scores.append(row["score"])
    ranks, scores = np.array(ranks), np.array(scores)
    is_pos = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    rate_pos = float((ranks[is_pos == 1] <= 3).mean())
    rate_neg = float((ranks[is_pos == 0] <= 3).mean())
    auc = auroc(scores, is_pos)
    record_property("top3_rate_with_class", rate_pos)
    record_property("top3_rate_without_class", rate_neg)
    with capsys.disabled():  # the acceptance number, visible in every test log
        print(f"\nnever-seen class top-3 rate: {rate_pos:.3f} of {len(pos)} images with it, "
              f"{rate_neg:.3f} of {len(neg)} without it; AUROC {auc:.3f}")
    # How well this small shared model transfers to an unseen class depends on floating-point noise:
    # the same code and packages gave the run's Emphysema AUROC 0.928 on one CPU and 0.793 on
    # another, and 0.703-0.853 with seeds 1 and 2 on the second. So the test asserts the
    # description's effect rather than a top-3 rate tuned to one machine: images with the disease
    # rank the never-seen class clearly higher than images without it.
    assert rate_pos > rate_neg + 0.1 and auc > 0.65


def _save_test_images(run_dir, tmp_path, n=4):
    meta = read_checkpoint(run_dir / "best.pt").meta
    dataset, table = run_part_table(meta.config, "test")
    pixels = dataset.load_images(table.ids[:n])
    return [write_png(tmp_path / f"{i}.png", pixels[k, 0]) for k, i in enumerate(table.ids[:n])]


def test_predict_reproduces_the_runs_scores(tiny_trained_run, tmp_path):
    paths = _save_test_images(tiny_trained_run, tmp_path)
    res = invoke(["predict", "--checkpoint", str(tiny_trained_run), *map(str, paths), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    stored = np.load(tiny_trained_run / "scores.npz")
    names = list(stored["class_names"])
    assert [c["name"] for c in out["classes"]] == names  # default: every checkpoint class
    for k, image in enumerate(out["images"]):
        preds = image["predictions"]
        assert [p["rank"] for p in preds] == list(range(1, 15))
        assert all(a["score"] >= b["score"] for a, b in itertools.pairwise(preds))
        got = np.array([next(p["score"] for p in preds if p["class"] == n) for n in names])
        np.testing.assert_allclose(got, stored["scores"][k], atol=1e-5)


def test_csv_table_and_top(tiny_trained_run, tmp_path):
    paths = _save_test_images(tiny_trained_run, tmp_path, n=3)
    args = ["predict", "--checkpoint", str(tiny_trained_run / "best.pt"), *map(str, paths),
            "--classes", "Edema,pleural thickening,Mass", "--top", "2"]
    res = invoke([*args, "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 6 and {r["rank"] for r in rows} == {"1", "2"}
    assert {r["class"] for r in rows} <= {"Edema", "Pleural_Thickening", "Mass"}  # names normalised
    assert {r["kind"] for r in rows} <= {"seen", "unseen"} and all(r["present"] == "" for r in rows)
    out_file = tmp_path / "p.csv"
    assert invoke([*args, "--format", "csv", "--out", str(out_file)]).exit_code == 0
    assert out_file.read_text() == res.stdout
    table = invoke(args)
    assert table.exit_code == 0 and table.stdout.count("threshold") == 3  # one table per image
    shown = [c for c in ("Edema", "Pleural_Thickening", "Mass") if c in table.stdout]
    assert len(shown) >= 2 and "n/a" in table.stdout  # no calibration: no present/absent call
    assert invoke([*args, "--out", str(out_file)]).exit_code == 2  # table cannot go to --out


def test_encoders_without_language_cannot_score_new_text(tiny_trained_run, tmp_path):
    (path,) = _save_test_images(tiny_trained_run, tmp_path, n=1)
    res = invoke(["predict", "--checkpoint", str(tiny_trained_run), str(path), "--classes", "Edema,COVID-19 pneumonia"])
    assert res.exit_code == 2
    (line,) = res.stderr.strip().splitlines()
    assert "'random' cannot embed new text" in line and "'COVID-19 pneumonia'" in line
    res = invoke(["predict", "--checkpoint", str(tiny_trained_run), str(path), "--classes", "Edema,Emphysema"])
    assert res.exit_code == 0, res.output


def test_heatmaps_are_written_as_png_overlays(tiny_trained_run, tmp_path):
    paths = _save_test_images(tiny_trained_run, tmp_path, n=2)
    big = np.kron(np.asarray(Image.open(paths[1])), np.ones((3, 2), dtype=np.uint8))  # 96 x 64, not square
    paths[1] = write_png(tmp_path / "big.png", big)
    out = tmp_path / "heat"
    res = invoke(["predict", "--checkpoint", str(tiny_trained_run), *map(str, paths), "--heatmaps", str(out),
                  "--heatmap-top", "2", "--format", "json"])
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("*.png"))
    assert len(files) == 4
    top2 = [p["class"] for p in json.loads(res.stdout)["images"][1]["predictions"][:2]]
    big_maps = sorted(f for f in files if f.name.startswith("big."))
    assert [f.name for f in big_maps] == [f"big.{k + 1}-{c.lower().replace('_', '-')}.png" for k, c in enumerate(top2)]
    with Image.open(big_maps[0]) as img:
        assert img.mode == "RGB" and img.size == (64, 96)


def test_class_lists_and_files(tmp_path):
    assert parse_class_list(" Edema , COVID-19 pneumonia") == [ClassQuery("Edema"), ClassQuery("COVID-19 pneumonia")]
    with pytest.raises(UsageError):
        parse_class_list("Edema,,Mass")
    listed = tmp_path / "a.yaml"
    listed.write_text("- Edema\n- name: New disease\n  description: faint haze in both lungs\n")
    assert read_class_file(listed) == [ClassQuery("Edema"), ClassQuery("New disease", "faint haze in both lungs")]
    mapping = tmp_path / "b.yml"
    mapping.write_text("classes:\n  Edema: null\n  New disease: faint haze, both lungs\n")
    assert read_class_file(mapping)[1] == ClassQuery("New disease", "faint haze, both lungs")
    table = tmp_path / "c.csv"
    table.write_text('name,description\nEdema,\nNew disease,"faint haze, both lungs"\n')
    assert read_class_file(table) == [ClassQuery("Edema"), ClassQuery("New disease", "faint haze, both lungs")]
    bad = tmp_path / "d.csv"
    bad.write_text("disease\nEdema\n")
    with pytest.raises(UsageError, match="'name' column"):
        read_class_file(bad)
    (tmp_path / "e.txt").write_text("Edema\n")
    with pytest.raises(UsageError, match=r"\.yaml, \.yml or \.csv"):
        read_class_file(tmp_path / "e.txt")


def test_duplicate_classes_are_refused(tiny_trained_run, tmp_path):
    (path,) = _save_test_images(tiny_trained_run, tmp_path, n=1)
    res = invoke(["predict", "--checkpoint", str(tiny_trained_run), str(path), "--classes", "Edema,edema"])
    assert res.exit_code == 2 and "listed twice" in res.stderr
