"""``zsbench pretrain``: contrastive image-report pretraining, its checkpoint and ``pretrained:PATH``.

Tiny worlds (100 images, 32 px) and a hashed bag-of-words text tower stand in for MiniLM, so every
test runs in seconds; the CLI's own default tower is MiniLM.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from zsbench.backbones.base import prepare_batch
from zsbench.cli.main import cli
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import UsageError
from zsbench.registry import BACKBONES
from zsbench.vlm.pretrain import (
    CHECKPOINT_FILE,
    STATE_FILE,
    PretrainConfig,
    TextTower,
    build_pairs,
    pretrain,
    resume_config,
)
from zsbench.vlm.pretrained import load_pretrained

TINY = PretrainConfig(n_images=100, image_size=32, epochs=2, batch_size=16, embed_dim=16)


def hashed_words(texts: list[str]) -> np.ndarray:
    """A deterministic, fast stand-in for a sentence encoder: hashed bag of words, 64 dims."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().replace(".", " ").split():
            out[row, zlib.crc32(word.encode()) % 64] += 1.0
    return out


TOWER = TextTower({"id": "hashed-words", "dim": 64}, hashed_words)


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("straight")
    return out, pretrain(TINY, out, text_tower=TOWER)


def test_loss_is_finite_and_falls(straight) -> None:
    _, result = straight
    losses = [record["loss"] for record in result.history]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert losses[1] < losses[0]
    assert result.images_per_s > 0 and result.checkpoint.name == CHECKPOINT_FILE


def test_resumed_run_equals_straight_run(straight, tmp_path: Path) -> None:
    out, _ = straight
    pretrain(replace(TINY, epochs=1), tmp_path, text_tower=TOWER)  # as if killed after epoch 1
    pretrain(resume_config(tmp_path, epochs=2), tmp_path, resume=True, text_tower=TOWER)
    a = torch.load(out / STATE_FILE, weights_only=True)["model"]
    b = torch.load(tmp_path / STATE_FILE, weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_checkpoint_is_self_describing(straight) -> None:
    out, _ = straight
    payload = torch.load(out / CHECKPOINT_FILE, weights_only=True)
    assert set(payload) >= {"state_dict", "meta_json", "image_projection", "text_projection", "logit_scale"}
    model = load_pretrained(out / CHECKPOINT_FILE)
    seen = model.pretraining()
    assert seen["data_seed"] == 1000 and seen["n_images"] == 100 and seen["epochs"] == 2
    assert seen["exclude_findings"] == [] and model.meta["text_tower"]["id"] == "hashed-words"
    assert model.meta["backbone"]["spec"] == "tiny-cnn" and model.meta["image_size"] == 32
    assert 0 < model.scale <= 100


def test_pretrained_backbone_equals_visual_tower(straight) -> None:
    out, _ = straight
    tower = load_pretrained(out / CHECKPOINT_FILE).backbone.eval()
    backbone = BACKBONES.create(f"pretrained:{out / CHECKPOINT_FILE}", image_size=64).eval()
    assert backbone.preprocess.input_size == 32  # kept at the pretraining size; inputs are resized
    assert backbone.preprocess.to_dict()["pretraining"]["data_seed"] == 1000
    pixels = torch.from_numpy(SyntheticWorld(n_images=50, image_size=32, seed=3).load_images(
        np.array(["syn3_p000000_0"])))
    x = prepare_batch(pixels, backbone.preprocess)
    with torch.no_grad():
        assert torch.equal(backbone(x), tower(x))
        assert torch.equal(backbone.forward_features(x), tower.forward_features(x))


def test_exclusion_drops_sentences_and_images() -> None:
    config = replace(TINY, exclude_findings=("Nodule", "Mass"))
    world = SyntheticWorld(n_images=100, image_size=32, seed=1000)
    kept = build_pairs(config, world)
    assert kept.dropped_sentences > 0
    assert not any(word in text.lower() for text in kept.texts for word in ("nodule", "mass"))
    reports = dict(zip(world.table().ids.tolist(), world.structured_reports(world.table().ids), strict=True))
    for image_id, text in zip(kept.ids.tolist(), kept.texts, strict=True):
        assert text == " ".join(s.text for s in reports[image_id].sentences if s.finding not in {"Nodule", "Mass"})
    dropped = build_pairs(replace(config, drop_images=True), world)
    showing = {str(i) for n, i in enumerate(world.table().ids) if {"Nodule", "Mass"} & set(world.findings(n))}
    assert showing and not showing & set(dropped.ids.tolist())
    assert len(dropped.ids) == 100 - dropped.dropped_images and len(dropped.pixels) == len(dropped.ids)


@pytest.mark.parametrize("config, message", [
    (replace(TINY, data_seed=0), "benchmark"),
    (replace(TINY, exclude_findings=("Nodul",)), "did you mean 'Nodule'"),
])
def test_bad_configs_are_one_line_errors(config: PretrainConfig, message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        pretrain(config, tmp_path, text_tower=TOWER)


def test_run_with_pretrained_backbone(straight, tmp_path: Path) -> None:
    out, _ = straight
    result = CliRunner().invoke(cli, [
        "run", "--method", "linear", "--backbone", f"pretrained:{out / CHECKPOINT_FILE}", "--n-images", "200",
        "--image-size", "32", "--epochs", "1", "--text-encoder", "random", "--out", str(tmp_path), "--quiet",
        "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["backbone"]["preprocess"]["pretraining"]["data_seed"] == 1000


@pytest.mark.parametrize("args, message", [
    (["--data-seed", "0"], "benchmark worlds' seed"),
    (["--exclude-findings", "Nodul"], "did you mean 'Nodule'"),
    (["--resume", "{tmp}/none"], "has no last.pt"),
])
def test_cli_bad_inputs_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = [] if "--resume" in args else ["--out", str(tmp_path / "out")]
    result = CliRunner().invoke(cli, ["pretrain", *out, *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_checkpoint_backbone_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--backbone", f"pretrained:{tmp_path}/none.pt", "--n-images", "200",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_used_folder_is_resumed_not_overwritten(straight) -> None:
    out, _ = straight
    with pytest.raises(UsageError, match="already holds a pretraining run"):
        pretrain(TINY, out, text_tower=TOWER)
    result = CliRunner().invoke(cli, ["pretrain", "--resume", str(out), "--lr", "0.1"])
    assert result.exit_code == 2 and "drop --lr" in result.stderr


@pytest.fixture(scope="module")
def minilm_pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pretraining with the default (MiniLM) text tower, which zsbench-clip rebuilds."""
    out = tmp_path_factory.mktemp("minilm")
    pretrain(replace(TINY, epochs=1), out)
    return out / CHECKPOINT_FILE


def test_a_pretrained_checkpoint_is_a_clip_zeroshot_model(minilm_pretrained: Path, tmp_path: Path) -> None:
    from zsbench.vlm.models import load_image_text_model

    spec = f"zsbench-clip:{minilm_pretrained}"
    model = load_image_text_model(spec)
    loaded = load_pretrained(minilm_pretrained)
    pixels = torch.randint(0, 256, (3, 1, 32, 32), dtype=torch.uint8)
    with torch.no_grad():  # the image tower is the backbone followed by its projection
        expected = loaded.image_projection(loaded.backbone(prepare_batch(pixels, loaded.backbone.preprocess)))
    assert torch.allclose(model.encode_images(pixels), expected, atol=1e-6)
    assert model.encode_texts(["a small round dense opacity"]).shape == (1, model.dim)
    out = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                                      "--n-images", "200", "--image-size", "32", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(p.read_text()) for p in out.glob("*/result.json")]
    assert record["trained_on_labels"] is False and 0.0 <= record["metrics"]["auroc_unseen"] <= 1.0


def test_a_checkpoint_with_a_stand_in_text_tower_is_no_clip_model(straight) -> None:
    from zsbench.vlm.models import load_image_text_model

    out, _ = straight
    with pytest.raises(UsageError, match="text tower 'hashed-words', which zsbench-clip cannot rebuild"):
        load_image_text_model(f"zsbench-clip:{out / CHECKPOINT_FILE}")
