"""``zsbench pretrain --text-tower transformer``: a word-level transformer text tower trained from scratch,
its bit-identical resume, its checkpoint (vocabulary and weights) and its use as ``zsbench-clip:PATH``.

Tiny worlds (64 images, 32 px, batches of 16) keep every test to seconds; the transformer tower needs
no MiniLM, so nothing here loads a sentence encoder.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from zsbench.backbones.base import prepare_batch
from zsbench.cli.main import cli
from zsbench.data.base import ClassInfo
from zsbench.errors import UsageError
from zsbench.registry import BACKBONES
from zsbench.vlm.pretrain import CHECKPOINT_FILE, STATE_FILE, PretrainConfig, build_model, pretrain, resume_config
from zsbench.vlm.pretrained import load_pretrained
from zsbench.vlm.text_transformer import TextTransformerSpec, build_vocab, words

TINY = PretrainConfig(n_images=64, image_size=32, epochs=2, batch_size=16, embed_dim=16, text_tower="transformer")


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("transformer")
    return out, pretrain(TINY, out)


def test_tokenizer_is_deterministic_with_unknown_words() -> None:
    vocab = build_vocab(["Small dense opacity.", "No effusion; small-volume lungs"])
    assert vocab == ("<pad>", "<unk>", "dense", "effusion", "lungs", "no", "opacity", "small", "volume")
    spec = TextTransformerSpec(vocab, max_length=4)
    tokens = spec.tokenize(["small DENSE pneumothorax", "", "no no no no no no"])
    assert tokens.dtype == torch.int64 and tokens.shape == (3, 4)
    assert tokens.tolist() == [[7, 2, 1, 0], [1, 0, 0, 0], [5, 5, 5, 5]]  # <unk> for an unknown or empty text
    assert words("A 2cm-nodule") == ["a", "cm", "nodule"]


def test_transformer_tower_trains(straight) -> None:
    out, result = straight
    losses = [record["loss"] for record in result.history]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert result.images_per_s > 0 and result.checkpoint == out / CHECKPOINT_FILE
    trained = torch.load(out / STATE_FILE, weights_only=True)["model"]
    initial = build_model(TINY, 128, TextTransformerSpec.from_description(
        load_pretrained(out / CHECKPOINT_FILE).meta["text_tower"])).state_dict()
    text_keys = [k for k in trained if k.startswith("text_encoder.")]
    assert text_keys and set(trained) == set(initial)
    assert any(not torch.equal(trained[k], initial[k]) for k in text_keys)  # trained jointly, not frozen


def test_resumed_run_equals_straight_run(straight, tmp_path: Path) -> None:
    out, _ = straight
    pretrain(replace(TINY, epochs=1), tmp_path)  # as if killed after epoch 1
    config = resume_config(tmp_path, epochs=2)
    assert config.text_tower == "transformer"
    pretrain(config, tmp_path, resume=True)
    a, b = (torch.load(d / STATE_FILE, weights_only=True) for d in (out, tmp_path))
    assert a["model"].keys() == b["model"].keys() and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert torch.equal(a["text_features"], b["text_features"]) and a["text_tower_json"] == b["text_tower_json"]
    assert [h["loss"] for h in json.loads(a["history_json"])] == [h["loss"] for h in json.loads(b["history_json"])]


def test_checkpoint_records_vocabulary_and_tower(straight) -> None:
    out, _ = straight
    payload = torch.load(out / CHECKPOINT_FILE, weights_only=True)
    assert {"state_dict", "meta_json", "image_projection", "text_projection", "logit_scale"} <= set(payload)
    assert any(k.startswith("text_encoder.") for k in payload)
    meta = json.loads(payload["meta_json"])
    tower = meta["text_tower"]
    assert tower["id"] == "transformer" and tower["frozen"] is False
    assert tower["vocab"][:2] == ["<pad>", "<unk>"] and all(isinstance(w, str) for w in tower["vocab"])
    assert len(tower["vocab"]) == tower["vocab_size"] > 10 and "opacity" in tower["vocab"]
    assert (tower["d_model"], tower["n_heads"], tower["n_layers"], tower["dim"]) == (128, 4, 2, 128)
    assert meta["pretraining"]["text_tower"] == "transformer" and meta["config"]["text_tower"] == "transformer"
    assert payload["text_projection"].shape == (16, 128)


def test_checkpoint_is_a_clip_model_without_minilm(straight, monkeypatch: pytest.MonkeyPatch) -> None:
    from zsbench.text import encoders
    from zsbench.vlm.towers import create_zsbench_clip_text

    def no_minilm(*_: object, **__: object) -> None:
        raise AssertionError("a transformer-tower checkpoint must not load MiniLM")

    monkeypatch.setattr(encoders, "SentenceTransformerEncoder", no_minilm)
    out, _ = straight
    encoder = create_zsbench_clip_text(str(out / CHECKPOINT_FILE), prompts="cxr")
    model, loaded = encoder.model, load_pretrained(out / CHECKPOINT_FILE)
    texts = ["a small round dense opacity", "Pneumothorax, never seen"]
    spec = loaded.text_encoder.spec
    with torch.no_grad():  # the stored vocabulary, transformer and projection, nothing else
        expected = loaded.text_projection(loaded.text_encoder(spec.tokenize(texts))).numpy()
    assert np.allclose(model.encode_texts(texts), expected, atol=1e-5)
    classes = [ClassInfo("Effusion"), ClassInfo("Nodule"), ClassInfo("Pneumothorax")]
    embedded = encoder.encode_classes(classes, "name")
    assert embedded.shape == (3, 16) and np.isfinite(embedded).all()
    assert np.allclose(np.linalg.norm(embedded, axis=1), 1.0, atol=1e-5)


def test_pretrained_backbone_of_a_transformer_checkpoint(straight) -> None:
    out, _ = straight
    tower = load_pretrained(out / CHECKPOINT_FILE).backbone.eval()
    backbone = BACKBONES.create(f"pretrained:{out / CHECKPOINT_FILE}", image_size=64).eval()
    assert backbone.preprocess.to_dict()["pretraining"]["text_tower"] == "transformer"
    x = prepare_batch(torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8), backbone.preprocess)
    with torch.no_grad():
        assert torch.equal(backbone(x), tower(x))


def test_clip_zeroshot_run_with_a_transformer_checkpoint(straight, tmp_path: Path) -> None:
    out, _ = straight
    spec = f"zsbench-clip:{out / CHECKPOINT_FILE}"
    result = CliRunner().invoke(cli, ["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                                      "--n-images", "200", "--image-size", "32", "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("*/result.json")]
    assert 0.0 <= record["metrics"]["auroc_unseen"] <= 1.0


@pytest.mark.parametrize("args, message", [
    (["--out", "{tmp}/out", "--text-tower", "bert"], "'bert' is not one of 'minilm', 'transformer'"),
    (["--resume", "{tmp}/out", "--text-tower", "transformer"], "drop --text-tower"),
])
def test_cli_bad_text_tower_exits_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["pretrain", *(a.replace("{tmp}", str(tmp_path)) for a in args)])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_text_tower_in_a_config_is_one_line() -> None:
    with pytest.raises(UsageError, match=r"unknown text tower 'transfomer'.*valid: minilm, transformer; "
                                         r"did you mean 'transformer'\?"):
        replace(TINY, text_tower="transfomer").validate()


def test_minilm_stays_the_default() -> None:
    recorded = PretrainConfig().to_dict()
    assert recorded["text_tower"] == "minilm"
    del recorded["text_tower"]  # pretrain.json and last.pt written before the option
    assert PretrainConfig.from_dict(recorded) == PretrainConfig()
    model = build_model(replace(TINY, text_tower="minilm"), 64)
    assert model.text_encoder is None and not any(k.startswith("text_encoder") for k in model.state_dict())
