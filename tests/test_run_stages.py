"""The run's stages one at a time on a tiny synthetic world (32 px, 1 epoch, random text encoder),
the versioned resume state, and the progress events a run emits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from zsbench.config import RunConfig
from zsbench.data.protocol import apply_protocol
from zsbench.engine.train_state import TRAIN_STATE_VERSION, TrainState
from zsbench.errors import UsageError
from zsbench.progress import ProgressEvent
from zsbench.resume_state import load_resume_state
from zsbench.run_context import RunContext
from zsbench.run_setup import RunFolder
from zsbench.run_stages import (
    MAIN_STAGES,
    STAGES,
    data_stage,
    model_stage,
    record_stage,
    resolve_stage,
    text_stage,
)


def _config(out: Path, **changes: object) -> RunConfig:
    return RunConfig(n_images=300, image_size=32, epochs=1, batch_size=16, text_encoder="random", device="cpu",
                     out=str(out), **changes)


def _context(config: RunConfig, **fields: object) -> RunContext:
    return RunContext(config, folder=RunFolder(True), **fields)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunContext, list[ProgressEvent]]:
    """Every stage up to and including ``score`` of one tiny run, with the progress it reported.
    Nothing is recorded yet: its folder has config.json, best.pt and last.pt, no result.json."""
    events: list[ProgressEvent] = []
    ctx = _context(_config(tmp_path_factory.mktemp("staged")), progress=events.append)
    try:
        for stage in (*STAGES, *MAIN_STAGES[:-1]):
            stage(ctx)
    finally:
        ctx.folder.release()
    return ctx, events


def test_resolve_refuses_a_bad_name_before_any_data_loads(tmp_path):
    ctx = _context(_config(tmp_path / "runs", method="no-such-method"))
    with pytest.raises(UsageError, match="no-such-method"):
        resolve_stage(ctx)
    assert ctx.parts is None and not (tmp_path / "runs").exists()  # no dataset built, no folder made


def test_a_stage_out_of_order_names_the_missing_one(tmp_path):
    with pytest.raises(RuntimeError, match="the resolve stage has not run"):
        text_stage(_context(_config(tmp_path)))


@pytest.mark.parametrize("method", ["cxr-ml-gzsl", "supervised"])
def test_data_stage_splits_the_tiny_world_by_the_methods_protocol(tmp_path, method):
    ctx = _context(_config(tmp_path, method=method))
    for stage in (resolve_stage, text_stage, model_stage):
        stage(ctx)
    data = data_stage(ctx)
    parts = ctx.parts
    zero_shot = method != "supervised"
    expected = apply_protocol(parts.dataset.table(), parts.split, inductive=zero_shot)
    assert data.splits.counts() == expected.counts()
    assert sum(data.splits.counts().values()) <= 300 and min(data.splits.counts().values()) > 0
    assert data.missing == 0 and data.held_out is None  # generated images are never missing
    seen, unseen = parts.split.indices(parts.class_names)
    assert (data.seen, data.unseen) == (seen, unseen)
    assert data.train_columns == (seen if zero_shot else sorted(seen + unseen))
    unseen_positive = (np.nan_to_num(data.splits.train.labels[:, unseen]) > 0).any()
    assert unseen_positive != zero_shot  # only an upper bound keeps unseen-label images in training


def test_record_stage_writes_result_json_atomically(scored, monkeypatch):
    ctx, _ = scored
    run_dir = ctx.run_dir
    assert {"config.json", "best.pt", "last.pt"} <= {p.name for p in run_dir.iterdir()}
    assert not (run_dir / "result.json").exists()

    def interrupted(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("zsbench.results.os.replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        record_stage(ctx)
    assert not (run_dir / "result.json").exists()  # never half a file ...
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # ... nor a temporary one left
    monkeypatch.undo()

    recorded = record_stage(ctx)
    stored = json.loads((run_dir / "result.json").read_text())
    assert recorded.run_dir == run_dir and stored["run_id"] == run_dir.name
    assert stored["metrics"]["auroc_seen"] == ctx.scored.metrics["auroc_seen"]
    assert stored["counts"] == {**ctx.data.splits.counts(), "missing_images": 0}
    assert stored["training"]["best_epoch"] == ctx.outcome.best_epoch == 1
    assert set(stored["timings"]) == {"text_encoding_s", "load_images_s", "train_s", "test_s", "total_s"}
    scores = np.load(run_dir / "scores.npz")
    assert np.array_equal(scores["scores"], ctx.scored.scores)


def test_progress_events_count_up_within_each_stage(scored):
    _, events = scored
    by_stage: dict[str, list[ProgressEvent]] = defaultdict(list)
    for event in events:
        assert isinstance(event, ProgressEvent)
        by_stage[event.stage].append(event)
    assert set(by_stage) == {"load train", "load val", "load test", "train", "epoch", "test"}
    for stage, stream in by_stage.items():
        done = [e.done for e in stream]
        assert done == sorted(set(done)), stage  # strictly increasing
        assert stream[-1].done == stream[-1].total and len({e.total for e in stream}) == 1, stage
    assert "loss" in by_stage["train"][0].info
    assert by_stage["epoch"][0].info["epoch"] == 1 and "val_score" in by_stage["epoch"][0].info


def _resumable_copy(ctx: RunContext, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(ctx.run_dir, copy)
    (copy / "result.json").unlink(missing_ok=True)  # a run that never finished
    return copy


def test_last_pt_holds_a_typed_versioned_state(scored, tmp_path):
    ctx, _ = scored
    run_dir = _resumable_copy(ctx, tmp_path)
    raw = torch.load(run_dir / "last.pt", weights_only=True)  # plain containers and tensors only
    assert raw["version"] == TRAIN_STATE_VERSION and raw["epoch"] == 1
    state = load_resume_state(run_dir, ctx.config)
    assert isinstance(state.train, TrainState) and state.train.epoch == 1 and state.world_size == 1
    for name, tensor in ctx.model.state_dict().items():
        assert torch.equal(state.train.model[name], tensor), name  # the last epoch's weights (keep=best: 1 epoch)


@pytest.mark.parametrize("version", [None, 1, TRAIN_STATE_VERSION + 1])
def test_a_state_of_another_version_is_refused_in_one_line(scored, tmp_path, version):
    ctx, _ = scored
    run_dir = _resumable_copy(ctx, tmp_path)
    raw = torch.load(run_dir / "last.pt", weights_only=True)
    if version is None:  # written before states had a version: version 1
        del raw["version"]
    else:
        raw["version"] = version
    torch.save(raw, run_dir / "last.pt")
    with pytest.raises(UsageError) as refused:
        load_resume_state(run_dir, ctx.config)
    message = str(refused.value)
    found = 1 if version is None else version
    assert str(run_dir / "last.pt") in message and "\n" not in message
    assert f"version {found}" in message and f"version {TRAIN_STATE_VERSION}" in message
    assert "start a fresh run" in message


def test_an_incomplete_state_and_the_cli_refuse_in_one_line(scored, tmp_path):
    ctx, _ = scored
    run_dir = _resumable_copy(ctx, tmp_path)
    raw = torch.load(run_dir / "last.pt", weights_only=True)
    torch.save({k: v for k, v in raw.items() if k != "optimizer"}, run_dir / "last.pt")
    with pytest.raises(UsageError, match=r"incomplete \(no 'optimizer'\); start a fresh run"):
        load_resume_state(run_dir, ctx.config)
    torch.save({**raw, "version": 1}, run_dir / "last.pt")
    proc = subprocess.run([sys.executable, "-m", "zsbench", "run", "--resume", str(run_dir), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "version 1" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
