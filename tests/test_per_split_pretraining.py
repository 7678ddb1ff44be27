"""One strict pretraining per class split: ``zsbench pretrain --unseen-of``, the sweep's ``{unseen}``
placeholder that names each split's checkpoint, and the leaderboard label that joins them in one row."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from zsbench.cli.main import cli
from zsbench.data.class_splits import load_class_split, unseen_folder_name
from zsbench.errors import UsageError
from zsbench.leaderboard.collect import collect_runs, part_label, pretraining_tag
from zsbench.sweep import SweepGrid, build_plan
from zsbench.vlm.pretrain import CHECKPOINT_FILE, CONFIG_FILE, STATE_FILE, PretrainConfig
from zsbench.vlm.pretrain_splits import plan_split_pretraining
from zsbench.vlm.pretrained import read_pretrained

TINY = ["--n-images", "80", "--image-size", "32", "--epochs", "1", "--batch-size", "16", "--embed-dim", "16",
        "--device", "cpu", "--quiet"]
PAPER_UNSEEN = "Edema+Emphysema+Fibrosis+Pneumonia"


def test_the_folder_name_is_the_sorted_unseen_classes() -> None:
    assert unseen_folder_name(load_class_split("synthetic-paper")) == PAPER_UNSEEN


def test_plan_statuses_and_refusals(tmp_path: Path) -> None:
    base = PretrainConfig(n_images=80)
    paper = load_class_split("synthetic-paper")
    other = replace(paper, name="other")  # the same unseen classes: one pretraining serves both
    [plan] = plan_split_pretraining(base, [paper, other], tmp_path)
    assert plan.status == "new" and plan.folder == tmp_path / PAPER_UNSEEN
    assert plan.config.exclude_findings == tuple(sorted(paper.unseen))
    plan.folder.mkdir()
    (plan.folder / CONFIG_FILE).write_text(json.dumps(plan.config.to_dict()))
    (plan.folder / STATE_FILE).write_bytes(b"")
    assert plan_split_pretraining(base, [paper], tmp_path)[0].status == "resume"
    (plan.folder / CHECKPOINT_FILE).write_bytes(b"")
    assert plan_split_pretraining(base, [paper], tmp_path)[0].status == "done"
    with pytest.raises(UsageError, match="other settings"):
        plan_split_pretraining(replace(base, epochs=9), [paper], tmp_path)
    (plan.folder / CONFIG_FILE).write_text('{"not_a_setting": 1}')
    with pytest.raises(UsageError, match="unreadable"):
        plan_split_pretraining(base, [paper], tmp_path)
    with pytest.raises(UsageError, match="drop --exclude-findings"):
        plan_split_pretraining(replace(base, exclude_findings=("Mass",)), [paper], tmp_path)


@pytest.fixture(scope="module")
def per_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("strict")
    result = CliRunner().invoke(cli, ["pretrain", "--unseen-of", "synthetic-paper", "--drop-images",
                                      "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out


def test_unseen_of_pretrains_without_the_splits_unseen_classes(per_split: Path) -> None:
    meta, _, _ = read_pretrained(per_split / PAPER_UNSEEN / CHECKPOINT_FILE)
    seen = meta["pretraining"]
    assert seen["exclude_findings"] == sorted(load_class_split("synthetic-paper").unseen)
    assert seen["drop_images"] and seen["dropped_images"] > 0


def test_unseen_of_keeps_finished_pretrainings(per_split: Path) -> None:
    checkpoint = per_split / PAPER_UNSEEN / CHECKPOINT_FILE
    before = checkpoint.stat().st_mtime_ns
    result = CliRunner().invoke(cli, ["pretrain", "--unseen-of", "synthetic-paper", "--drop-images",
                                      "--out", str(per_split), *TINY])
    assert result.exit_code == 0, result.output
    assert "finished, kept" in result.output and checkpoint.stat().st_mtime_ns == before


@pytest.mark.parametrize("args, message", [
    (["--unseen-of", "synthetic-paper"], "needs --out"),
    (["--unseen-of", "synthetic-nope", "--out", "{tmp}"], "synthetic-nope"),
])
def test_unseen_of_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pretrain", *[a.replace("{tmp}", str(tmp_path)) for a in args], *TINY])
    assert result.exit_code == 2 and message in result.output


def test_a_single_run_binds_the_placeholder_too(per_split: Path, tmp_path: Path) -> None:
    spec = f"pretrained:{per_split}/{{unseen}}/{CHECKPOINT_FILE}"
    result = CliRunner().invoke(cli, ["run", "--method", "linear", "--backbone", spec, "--text-encoder", "random",
                                      "--n-images", "120", "--image-size", "32", "--epochs", "1", "--out",
                                      str(tmp_path), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["backbone"] == f"pretrained:{per_split}/{PAPER_UNSEEN}/{CHECKPOINT_FILE}"


def strict_grid(spec: str, **changes: object) -> SweepGrid:
    return SweepGrid.from_dict({"methods": ["clip-zeroshot"], "backbones": [spec], "text_encoders": [spec],
                                "base": {"n_images": 120, "image_size": 32, "device": "cpu"}, **changes})


def test_unseen_placeholder_binds_each_split_and_keeps_the_key(per_split: Path, tmp_path: Path) -> None:
    spec = f"zsbench-clip:{per_split}/{{unseen}}/{CHECKPOINT_FILE}"
    [run] = build_plan(strict_grid(spec), tmp_path, write_splits=False).runs
    bound = f"zsbench-clip:{per_split}/{PAPER_UNSEEN}/{CHECKPOINT_FILE}"
    assert run.config.backbone == bound and run.config.text_encoder == bound
    assert "unseen" in run.key and PAPER_UNSEEN not in run.key


@pytest.mark.parametrize("spec, message", [
    ("pretrained:{tmp}/{split}/pretrained.pt", "placeholder other than {unseen}"),
    ("pretrained:{tmp}/{unseen}/pretrained.pt", "does not exist"),  # checked per split, before any run
])
def test_bad_per_split_specs_are_refused_at_planning(spec: str, message: str, tmp_path: Path) -> None:
    grid = SweepGrid.from_dict({"methods": ["linear"], "backbones": [spec.replace("{tmp}", str(tmp_path))],
                                "text_encoders": ["random"], "base": {"n_images": 120, "image_size": 32}})
    with pytest.raises(UsageError, match=message):
        build_plan(grid, tmp_path / "sweep", write_splits=False)


def test_a_strict_clip_run_is_one_leaderboard_row_named_by_what_it_saw(per_split: Path, tmp_path: Path) -> None:
    spec = f"zsbench-clip:{per_split}/{{unseen}}/{CHECKPOINT_FILE}"
    out = tmp_path / "sweep"
    result = CliRunner().invoke(cli, ["sweep", "--config", str(write_yaml(tmp_path, spec)), "--out", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    [record] = collect_runs([out])
    assert record.key.backbone == "zsbench-clip[unseen excluded + images]"
    assert record.key.text_encoder == "zsbench-clip[unseen excluded + images]"
    assert not record.trained_on_labels


def write_yaml(folder: Path, spec: str) -> Path:
    path = folder / "strict.yaml"
    path.write_text(json.dumps(strict_grid(spec).to_dict()))  # JSON is YAML
    return path


@pytest.mark.parametrize("pretraining, unseen, tag", [
    ({"exclude_findings": []}, ["Mass"], "all findings"),
    ({"exclude_findings": ["Mass"], "drop_images": False}, ["Mass"], "unseen excluded"),
    ({"exclude_findings": ["Mass"], "drop_images": True}, ["Mass"], "unseen excluded + images"),
    ({"exclude_findings": ["Edema", "Mass"]}, ["Mass"], "without Edema,Mass"),
    ({"exclude_findings": [], "seed": 2, "data_seed": 1000}, ["Mass"], "all findings, seed 2"),
    ({"exclude_findings": [], "text_tower": "transformer"}, ["Mass"], "all findings, text tower transformer"),
])
def test_pretraining_tags(pretraining: dict, unseen: list[str], tag: str) -> None:
    assert pretraining_tag(pretraining, unseen) == tag


def test_part_labels_leave_other_specs_alone() -> None:
    result = {"backbone": {"spec": "tiny-cnn", "preprocess": {}}, "class_split": {"unseen": ["Mass"]}}
    assert part_label("tiny-cnn", result, Path("r.json")) == "tiny-cnn"
    assert part_label("minilm", result, Path("r.json")) == "minilm"
    pretrained = {"backbone": {"spec": "pretrained:/a/pretrained.pt",
                               "preprocess": {"pretraining": {"exclude_findings": []}}},
                  "class_split": {"unseen": ["Mass"]}}
    assert part_label("pretrained:/a/pretrained.pt", pretrained, Path("r.json")) == "pretrained[all findings]"
    # a text tower from another checkpoint than the backbone's keeps its path
    assert part_label("zsbench-clip:/b/pretrained.pt", pretrained, Path("r.json")) == "zsbench-clip:/b/pretrained.pt"
