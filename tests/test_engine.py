"""Training engine: resume equality, early stopping, steps, autocast, channels_last, ten-crop TTA, NaN."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tests.conftest import TINY_RUN
from zsbench.backbones.base import prepare_batch
from zsbench.backbones.tiny_cnn import TinyCNN
from zsbench.engine.trainer import (
    TrainData,
    TrainHooks,
    TrainSettings,
    ZeroShotModel,
    score_images,
    seen_loss_validator,
    ten_crops,
    train,
)
from zsbench.errors import TrainingError
from zsbench.methods.cxr_ml_gzsl import CxrMlGzsl, CxrMlGzslConfig

ZSBENCH = [sys.executable, "-m", "zsbench"]
RESUME_RUN = [*TINY_RUN, "--n-images", "600", "--epochs", "4", "--seed", "5"]


def _weights(path):
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("augment", ["shift", "paper"])
def test_killed_run_resumed_ends_with_the_same_weights(tmp_path, augment):
    args = [*RESUME_RUN, "--augment", augment]
    whole = tmp_path / "whole"
    subprocess.run([*ZSBENCH, "run", *args, "--out", str(whole)], check=True, capture_output=True)
    (whole_dir,) = whole.iterdir()

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*ZSBENCH, "run", *args, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it once the first epoch is saved
        lasts = list(killed.glob("*/last.pt"))
        if lasts and torch.load(lasts[0], weights_only=True)["epoch"] >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run_dir,) = killed.iterdir()
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert 1 <= state["epoch"] < 4 and not (run_dir / "result.json").exists()

    # SIGKILL left the run's lock behind: it is reported as stale, with the file to delete
    refused = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir), "--quiet"], capture_output=True, text=True)
    assert refused.returncode == 2 and "stale lock" in refused.stderr and len(refused.stderr.splitlines()) == 1
    (run_dir / ".zsbench.lock").unlink()
    out = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir), "--json", "--quiet"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["training"]["resumed_from_epoch"] == state["epoch"]
    for name in ("last.pt", "best.pt"):
        a, b = _weights(whole_dir / name), _weights(run_dir / name)
        sa = a["model"] if name == "last.pt" else a["state_dict"]
        sb = b["model"] if name == "last.pt" else b["state_dict"]
        assert sa.keys() == sb.keys()
        for key in sa:
            assert torch.equal(sa[key], sb[key]), key
    whole_metrics = json.loads((whole_dir / "result.json").read_text())["metrics"]
    assert result["metrics"] == whole_metrics


def test_resume_refuses_other_flags_and_damaged_state(tmp_path):
    subprocess.run([*ZSBENCH, "run", *TINY_RUN, "--out", str(tmp_path)], check=True, capture_output=True)
    (run_dir,) = tmp_path.iterdir()
    proc = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir), "--epochs", "9"], capture_output=True, text=True)
    assert proc.returncode == 2 and "own settings" in proc.stderr
    result = (run_dir / "result.json").read_bytes()
    proc = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir)], capture_output=True, text=True)
    assert proc.returncode == 2 and "is a finished run" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert (run_dir / "result.json").read_bytes() == result  # untouched
    (run_dir / "result.json").unlink()  # from here on: a run that never finished
    # a last.pt of an older synthetic world (recorded, or from before last.pt recorded its dataset)
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert json.loads(state["dataset_json"])["world_version"] >= 2
    old = json.dumps({**json.loads(state["dataset_json"]), "world_version": 1})
    for changed in ({**state, "dataset_json": old}, {k: v for k, v in state.items() if k != "dataset_json"}):
        torch.save(changed, run_dir / "last.pt")
        proc = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir)], capture_output=True, text=True)
        assert proc.returncode == 2 and "synthetic world version 1" in proc.stderr, proc.stderr
        assert len(proc.stderr.splitlines()) == 1
    (run_dir / "last.pt").write_bytes(b"not a checkpoint")
    proc = subprocess.run([*ZSBENCH, "run", "--resume", str(run_dir)], capture_output=True, text=True)
    assert proc.returncode == 2 and "damaged" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def _tiny_problem(n=64, size=32):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(n, 1, size, size), dtype=np.uint8)
    labels = (rng.random((n, 3)) < 0.4).astype(np.float32)
    torch.manual_seed(0)
    backbone = TinyCNN(input_size=size)
    model = ZeroShotModel(backbone, CxrMlGzsl(backbone.feature_dim, 8, CxrMlGzslConfig()))
    return model, pixels, labels, torch.randn(3, 8)


def _settings(**kw):
    base = dict(epochs=3, batch_size=16, lr=1e-3, weight_decay=0.0, lr_factor=0.1, lr_patience=5, seed=0)
    return TrainSettings(**{**base, **kw})


def _train(model, pixels, labels, emb, settings, **hooks):
    return train(model, TrainData(pixels, labels, emb), settings, TrainHooks(**hooks))


def test_early_stopping_and_max_steps():
    model, pixels, labels, emb = _tiny_problem()
    scores = iter([0.9, 0.5, 0.4, 0.3, 0.2])
    out = _train(model, pixels, labels, emb, _settings(epochs=5, early_stop=2), validate=lambda m: next(scores))
    assert out.stopped_early and len(out.history) == 3 and out.best_epoch == 1
    model, pixels, labels, emb = _tiny_problem()
    seen = []
    out = _train(model, pixels, labels, emb, _settings(epochs=5, max_steps=6), validate=lambda m: 0.5,
                 progress=seen.append)
    assert len(out.history) == 2  # 4 steps per epoch: the budget ends in epoch 2
    assert [e.done for e in seen if e.stage == "train"] == [1, 2, 3, 4, 5, 6]
    assert all(e.total == 6 for e in seen if e.stage == "train")


def test_the_schedule_can_follow_the_validation_loss():
    # val AUROC keeps improving while the val loss keeps rising: only the val_loss schedule cuts the lr
    lrs = {}
    for monitor in ("val_score", "val_loss"):
        model, pixels, labels, emb = _tiny_problem()
        scores, losses = iter([0.5, 0.6, 0.7, 0.8]), iter([1.0, 2.0, 3.0, 4.0])
        out = _train(model, pixels, labels, emb, _settings(epochs=4, lr_patience=0, lr_monitor=monitor),
                     validate=lambda m, s=scores: next(s), val_loss=lambda m, v=losses: next(v))
        lrs[monitor] = [h["lr"] for h in out.history]
        assert out.best_epoch == 4  # selection still follows the validation score
        assert ("val_loss" in out.history[0]) == (monitor == "val_loss")
    assert lrs["val_score"] == pytest.approx([1e-3] * 4)
    assert lrs["val_loss"] == pytest.approx([1e-3, 1e-4, 1e-5, 1e-6])
    model, pixels, labels, emb = _tiny_problem()
    with pytest.raises(ValueError, match="val_loss function"):
        _train(model, pixels, labels, emb, _settings(lr_monitor="val_loss"), validate=lambda m: 0.5)


def test_seen_loss_validator_is_the_methods_loss_in_eval_mode():
    model, pixels, labels, emb = _tiny_problem(n=40)
    model.train()
    value = seen_loss_validator(pixels, labels, emb, batch_size=16)(model)
    assert model.training  # the mode it had is restored
    model.eval()
    with torch.no_grad():
        x = prepare_batch(torch.from_numpy(pixels), model.backbone.preprocess)
        whole, _ = model.method.loss(model.features(x), emb, torch.from_numpy(labels))
    # batches of 16, 16 and 8 images, weighted by size: the ranking loss is a per-image mean
    assert value == pytest.approx(float(whole), rel=0.05)


def test_autocast_channels_last_and_clipping_train():
    model, pixels, labels, emb = _tiny_problem()
    before = [p.detach().clone() for p in model.parameters()]
    out = _train(model, pixels, labels, emb, _settings(epochs=1, amp=True, channels_last=True, clip_grad=1.0),
                 validate=lambda m: 0.5)
    assert np.isfinite(out.history[0]["train_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_nan_loss_stops_with_a_clear_error():
    model, pixels, labels, emb = _tiny_problem()
    with pytest.raises(TrainingError, match="loss became nan at epoch 1 step 1"):
        _train(model, pixels, labels, emb * float("nan"), _settings(), validate=lambda m: 0.5)


def test_ten_crops_and_tta_scores():
    x = torch.arange(2 * 1 * 6 * 6).reshape(2, 1, 6, 6)
    crops = ten_crops(x, 4)
    assert len(crops) == 10 and all(c.shape == (2, 1, 4, 4) for c in crops)
    assert torch.equal(crops[0], x[..., :4, :4]) and torch.equal(crops[5], x[..., :4, :4].flip(-1))
    model, pixels, _, emb = _tiny_problem(n=8)
    plain = score_images(model, pixels, emb)
    tta = score_images(model, pixels, emb, tta="tencrop")
    assert tta.shape == plain.shape and not np.allclose(tta, plain)
