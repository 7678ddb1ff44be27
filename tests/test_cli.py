import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from zsbench.cli.main import cli

ZSBENCH = [sys.executable, "-m", "zsbench"]


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_run_writes_result_and_scores(tiny_run_args, tmp_path):
    res = invoke(["run", *tiny_run_args, "--seed", "3"])
    assert res.exit_code == 0, res.output
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1
    result = json.loads((run_dirs[0] / "result.json").read_text())
    for key in ("config", "seeds", "zsbench_version", "timings", "classes", "metrics", "counts"):
        assert key in result
    assert result["seeds"]["seed"] == 3 and result["config"]["seed"] == 3
    assert result["unseen_texts_in_training"] is False
    m = result["metrics"]
    for key in ("auroc_seen", "auroc_unseen", "auroc_harmonic", "p@2", "r@3", "f1@3"):
        assert 0.0 <= m[key] <= 1.0
    assert len(m["auroc_per_class"]) == 14
    scores = np.load(run_dirs[0] / "scores.npz")
    assert scores["scores"].shape == scores["labels"].shape == (len(scores["image_ids"]), 14)
    assert list(scores["class_names"]) == result["classes"]["all"]
    # the saved best checkpoint loads safely
    ckpt = torch.load(run_dirs[0] / "best.pt", weights_only=True)
    assert "state_dict" in ckpt and json.loads(ckpt["meta_json"])["config"]["seed"] == 3
    assert not list(run_dirs[0].glob(".*.tmp"))  # no temp files left behind
    assert "AUROC S (seen)" in res.output and "f1@3" in res.output and "unseen" in res.output


def test_run_is_deterministic_for_a_seed(tiny_run_args, tmp_path):
    outs = []
    for _ in range(2):
        res = invoke(["run", *tiny_run_args, "--json"])
        assert res.exit_code == 0
        outs.append(json.loads(res.stdout)["metrics"])
    assert outs[0] == outs[1]


def test_json_prints_only_result_json(tiny_run_args):
    proc = subprocess.run([*ZSBENCH, "run", *tiny_run_args, "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["config"]["text_encoder"] == "random"
    assert Path(data["run_id"]).name == data["run_id"]


@pytest.mark.parametrize(
    ("flag", "value", "hint"),
    [
        ("--method", "cxr-ml-gzs", "did you mean 'cxr-ml-gzsl'"),
        ("--backbone", "tiny-cn", "did you mean 'tiny-cnn'"),
        ("--text-encoder", "minilmm", "did you mean 'minilm'"),
        ("--dataset", "synthetc", "did you mean 'synthetic'"),
    ],
)
def test_unknown_names_exit_2_with_one_line(flag, value, hint, tiny_run_args):
    # without --quiet: the progress display must not add even a blank line
    args = [a for a in tiny_run_args if a != "--quiet"]
    proc = subprocess.run([*ZSBENCH, "run", *args, flag, value], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and hint in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("seen: [Mass, Edema]\nunseen: [Edema]\n", "both seen and unseen"),
        ("seen: [Mass]\nunseen: [Covid]\n", "unknown unseen class 'Covid'"),
    ],
)
def test_bad_class_split_exits_2_with_one_line(yaml_text, message, tmp_path, tiny_run_args):
    split = tmp_path / "split.yaml"
    split.write_text(yaml_text)
    args = [a for a in tiny_run_args if a != "--quiet"]
    proc = subprocess.run([*ZSBENCH, "run", *args, "--split", str(split)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_debug_shows_traceback(tiny_run_args):
    proc = subprocess.run([*ZSBENCH, "--debug", "run", *tiny_run_args, "--method", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_list_shows_origin():
    res = invoke(["list", "backbones"])
    assert res.exit_code == 0
    assert "tiny-cnn" in res.output and "built-in" in res.output and "timm:<arg>" in res.output
    res = invoke(["list"])
    for kind in ("methods", "datasets", "text-encoders", "cxr-ml-gzsl", "minilm", "synthetic"):
        assert kind in res.output


@pytest.mark.parametrize("method", ["linear", "supervised", "lesa", "mlzsl", "cxr-ml-gzsl:reference"])
def test_every_method_runs_end_to_end_and_its_checkpoint_reloads(method, tiny_run_args, tmp_path):
    from zsbench.checkpoint import load_checkpoint

    name, _, preset = method.partition(":")
    extra = ["--method-option", f"preset={preset}"] if preset else []
    res = invoke(["run", *tiny_run_args, "--method", name, *extra, "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["zero_shot"] is (name != "supervised")
    assert result["unseen_texts_in_training"] is (preset == "reference")
    assert 0.0 <= result["metrics"]["auroc_unseen"] <= 1.0
    run_dir = tmp_path / "runs" / result["run_id"]
    loaded = load_checkpoint(run_dir / "best.pt")
    assert loaded.model.method.name == name
