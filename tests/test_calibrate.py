import csv
import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from tests.imaging import write_png
from zsbench.calibration import choose_threshold, rates
from zsbench.checkpoint import load_checkpoint
from zsbench.cli.main import cli
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.engine.trainer import score_images
from zsbench.rundata import load_run_part


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def ckpt_copy(trained_run, tmp_path):
    """A private copy: calibrate writes beside the checkpoint, and the session's run stays clean."""
    path = tmp_path / "model" / "best.pt"
    path.parent.mkdir()
    shutil.copy(trained_run / "best.pt", path)
    return path


def test_threshold_is_the_tightest_that_reaches_the_target():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    labels = np.array([1, 0, 1, 1, 0, 1, 0, 0, 1, np.nan])
    t, _ = choose_threshold(scores, labels, "sensitivity", 0.8)  # 5 positives: 4 must be called
    assert 0.4 > t > 0.3 and rates(scores, labels, t) == (0.8, 0.5)
    t, _ = choose_threshold(scores, labels, "sensitivity", 1.0)
    assert 0.1 > t > 0.0 and rates(scores, labels, t)[0] == 1.0
    t, _ = choose_threshold(scores, labels, "specificity", 0.75)  # 4 negatives: 3 below
    assert 0.6 > t > 0.5 and rates(scores, labels, t) == (0.6, 0.75)
    assert choose_threshold(scores, np.zeros(10), "sensitivity", 0.9) == (None, "no positives to calibrate on")
    ties = np.array([0.5, 0.5, 0.5, 0.1])
    t, _ = choose_threshold(ties, np.array([1, 0, 1, 0]), "sensitivity", 0.5)
    assert t < 0.5 and rates(ties, np.array([1, 0, 1, 0]), t)[0] == 1.0  # ties are called together


def _rescored_val(ckpt_path):
    ckpt = load_checkpoint(ckpt_path)
    val = load_run_part(ckpt.meta.config, "val")
    scores = score_images(ckpt.model, val.pixels, torch.from_numpy(ckpt.class_embeddings))
    return ckpt, val, scores


def test_calibrate_reaches_the_requested_sensitivity(ckpt_copy, capsys):
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--sensitivity", "0.9", "--json"])
    assert res.exit_code == 0, res.output
    cal = json.loads(res.stdout)
    assert json.loads((ckpt_copy.parent / "best.calibration.json").read_text()) == cal
    ckpt, val, scores = _rescored_val(ckpt_copy)
    assert cal["target"] == "sensitivity" and cal["value"] == 0.9
    assert cal["validation"]["n_images"] == len(val.ids)
    calibrated = [c for c in cal["classes"] if c["threshold"] is not None]
    assert {c["name"] for c in calibrated} == set(ckpt.meta.seen)  # val holds no unseen positives
    report = []
    for c in cal["classes"]:
        if c["threshold"] is None:
            assert c["name"] in ckpt.meta.unseen and c["note"] == "no positives to calibrate on"
            continue
        col = ckpt.meta.class_names.index(c["name"])
        labels = val.labels[:, col]
        sens, spec = rates(scores[:, col], labels, c["threshold"])  # independent of calibrate's scoring
        assert sens == pytest.approx(c["sensitivity"]) and spec == pytest.approx(c["specificity"])
        assert sens >= 0.9 - 0.01  # reaches the target within 1 point ...
        assert sens <= 0.9 + 1 / c["n_pos"] + 1e-9  # ... with the tightest threshold that does
        report.append(f"{c['name']} {sens:.3f} ({c['n_pos']} pos)")
    with capsys.disabled():
        print("\ncalibrated sensitivity (target 0.900) on val: " + ", ".join(report))


def test_calibrate_for_specificity_in_percent(ckpt_copy):
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--specificity", "95", "--classes", "Effusion,Mass"])
    assert res.exit_code == 0, res.output
    assert "Effusion" in res.stdout and "thresholds:" in res.stderr
    cal = json.loads((ckpt_copy.parent / "best.calibration.json").read_text())
    assert [c["name"] for c in cal["classes"]] == ["Effusion", "Mass"] and cal["value"] == 0.95
    for c in cal["classes"]:
        assert 0.95 <= c["specificity"] <= 0.95 + 1 / c["n_neg"] + 1e-9


def test_predict_says_present_or_absent_after_calibration(ckpt_copy, tmp_path):
    assert invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--sensitivity", "0.8"]).exit_code == 0
    cal = json.loads((ckpt_copy.parent / "best.calibration.json").read_text())
    threshold = {c["name"]: c["threshold"] for c in cal["classes"]}
    ckpt = load_checkpoint(ckpt_copy)
    val = load_run_part(ckpt.meta.config, "val")
    paths = [write_png(tmp_path / f"{i}.png", val.pixels[k, 0]) for k, i in enumerate(val.ids[:5])]
    other = "a dense basal opacity in one lower zone"  # Effusion under a text it was not calibrated with
    classes = tmp_path / "classes.yaml"
    classes.write_text(f"- Mass\n- Edema\n- name: Effusion\n  description: {other}\n")
    args = ["predict", "--checkpoint", str(ckpt_copy), *map(str, paths), "--classes-file", str(classes)]
    res = invoke([*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["calibration"]["target"] == "sensitivity" and out["calibration"]["value"] == 0.8
    by_name = {c["name"]: c for c in out["classes"]}
    assert by_name["Mass"]["threshold"] == threshold["Mass"]
    assert by_name["Edema"]["threshold"] is None  # unseen: nothing to calibrate on in val
    assert by_name["Effusion"]["threshold"] is None and by_name["Effusion"]["text_source"] == "description"
    calls = [p for img in out["images"] for p in img["predictions"] if p["class"] == "Mass"]
    assert all(p["present"] == (p["score"] >= threshold["Mass"]) for p in calls)
    assert all(p["present"] is None for img in out["images"] for p in img["predictions"] if p["class"] != "Mass")
    table = invoke(args)
    assert "present" in table.stdout or "absent" in table.stdout
    plain = json.loads(invoke([*args, "--format", "json", "--no-calibration"]).stdout)
    assert plain["calibration"] is None
    # a calibration made for another checkpoint is refused, not silently applied
    torch.save({**torch.load(ckpt_copy, weights_only=True)}, ckpt_copy.parent / "retrained.pt")
    shutil.copy(ckpt_copy.parent / "best.calibration.json", ckpt_copy.parent / "retrained.calibration.json")
    payload = torch.load(ckpt_copy, weights_only=True)
    payload["state_dict"] = {k: v + 0 for k, v in payload["state_dict"].items()}
    meta = json.loads(payload["meta_json"])
    meta["epoch"] = 99
    payload["meta_json"] = json.dumps(meta)
    torch.save(payload, ckpt_copy.parent / "retrained.pt")
    stale = invoke(["predict", "--checkpoint", str(ckpt_copy.parent / "retrained.pt"), str(paths[0])])
    assert stale.exit_code == 2 and "made for another checkpoint" in stale.stderr


def test_calibrate_on_a_labels_csv_within_one_point(ckpt_copy, tmp_path, capsys):
    """A fresh labelled set (another synthetic world, as if from another hospital), large enough for
    1-point resolution, labelling the unseen classes too: those get thresholds from their texts."""
    world = SyntheticWorld(n_images=1500, image_size=64, seed=7)
    table = world.table()
    keep = np.flatnonzero(table.labels.sum(axis=1) > 0)
    pixels = world.load_images(table.ids[keep])
    rows = []
    for k, r in enumerate(keep):
        write_png(tmp_path / f"{table.ids[r]}.png", pixels[k, 0])
        row = {"path": f"{table.ids[r]}.png",
               **{n: int(v) for n, v in zip(table.class_names, table.labels[r], strict=True)}}
        if k % 10 == 0:
            row["Mass"] = ""  # unknown labels are left out, not counted as negatives
        rows.append(row)
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, ["path", *table.class_names])
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "cal.json"
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--labels", str(labels), "--sensitivity", "0.9",
                  "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not (ckpt_copy.parent / "best.calibration.json").exists()  # --out was honoured
    cal = json.loads(out.read_text())
    assert cal["validation"] == {"source": str(labels), "n_images": len(keep)}
    by_name = {c["name"]: c for c in cal["classes"]}
    assert set(by_name) == set(table.class_names)  # unseen classes included
    mass = table.class_names.index("Mass")
    assert by_name["Mass"]["n_pos"] == int(table.labels[keep[np.arange(len(keep)) % 10 != 0], mass].sum())
    large = []
    for c in cal["classes"]:
        assert 0.9 <= c["sensitivity"] <= 0.9 + 1 / c["n_pos"] + 1e-9
        if c["n_pos"] >= 100:
            assert abs(c["sensitivity"] - 0.9) <= 0.01
            large.append(f"{c['name']} {c['sensitivity']:.4f} ({c['n_pos']} pos)")
    assert len(large) >= 3 and any(n.startswith(("Edema", "Pneumonia", "Emphysema", "Fibrosis")) for n in large)
    with capsys.disabled():
        print("\ncalibrated sensitivity (target 0.9) on 1-point sized classes: " + ", ".join(large))


def test_calibrate_usage_errors(ckpt_copy):
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy)])
    assert res.exit_code == 2 and "exactly one of --sensitivity or --specificity" in res.stderr
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--sensitivity", "150"])
    assert res.exit_code == 2 and "(0, 1]" in res.stderr
    res = invoke(["calibrate", "--checkpoint", str(ckpt_copy), "--sensitivity", "0.9", "--classes", "Covid"])
    assert res.exit_code == 2 and "no labels for Covid" in res.stderr
