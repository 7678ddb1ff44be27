"""clip-zeroshot: image-text models (open_clip, hf-clip), prompt sets, the training-free run path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from tests.run_fixtures import make_run
from zsbench.cli.main import cli
from zsbench.data.base import ClassInfo
from zsbench.errors import TrainingError, UsageError
from zsbench.leaderboard.bootstrap import BootstrapSettings
from zsbench.leaderboard.build import make_leaderboard
from zsbench.leaderboard.render_text import render_markdown
from zsbench.methods.clip_zeroshot import ClipZeroShot, ClipZeroShotConfig
from zsbench.registry import BACKBONES, METHODS, TEXT_ENCODERS
from zsbench.result_schema import check_result
from zsbench.vlm.models import load_image_text_model
from zsbench.vlm.prompts import PromptSet, encode_prompts, load_prompt_set
from zsbench.vlm.towers import PromptTextEncoder

CLASSES = [ClassInfo("Effusion"), ClassInfo("Pleural_Thickening"), ClassInfo("Mass")]


def tiny_hf_clip(folder: Path) -> Path:
    """A random transformers CLIP (32 px images, 16-d embeddings) and a byte-level tokenizer, saved."""
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate([*chars, *(c + "</w>" for c in chars), "<|startoftext|>", "<|endoftext|>"])}
    eos = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 48,
                     "bos_token_id": vocab["<|startoftext|>"], "eos_token_id": eos, "pad_token_id": eos},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 37,
                       "num_hidden_layers": 1, "num_attention_heads": 2},
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf_clip(tmp_path_factory) -> Path:
    return tiny_hf_clip(tmp_path_factory.mktemp("hf-clip") / "tiny-clip")


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_tiny_models_of_both_kinds_embed_images_and_texts(hf_clip):
    pixels = torch.randint(0, 256, (3, 1, 40, 40), dtype=torch.uint8)
    hf = load_image_text_model(f"hf-clip:{hf_clip}")
    assert hf.dim == 16 and hf.describe()["spec"] == f"hf-clip:{hf_clip}"
    assert tuple(hf.encode_images(pixels).shape) == (3, 16)
    texts = hf.encode_texts(["a chest x-ray showing effusion", "no effusion"])
    assert texts.shape == (2, 16) and np.isfinite(texts).all() and not np.allclose(texts[0], texts[1])
    again = load_image_text_model(f"hf-clip:{hf_clip}")  # the saved weights, not fresh random ones
    np.testing.assert_allclose(again.encode_texts(["no effusion"])[0], texts[1], rtol=1e-5, atol=1e-6)
    oc = load_image_text_model("open_clip:ViT-S-32", image_size=32)  # no tag: random weights
    assert oc.preprocess.input_size == 224  # a ViT takes its own size: pixels are resized to it
    assert tuple(oc.encode_images(pixels).shape) == (3, oc.dim) and oc.encode_texts(["x"]).shape == (1, oc.dim)


def test_prompt_ensemble_is_the_renormalised_mean_of_normalised_prompt_embeddings(hf_clip):
    prompts = PromptSet(templates=("a chest x-ray showing {}", "{} is present", "findings of {}"),
                        phrases={"Effusion": "pleural effusion"}, classes={"Mass": ("a lung mass", "a large mass")})
    encoder = PromptTextEncoder(load_image_text_model(f"hf-clip:{hf_clip}"), prompts)
    got = encoder.encode_classes(CLASSES, "description")
    expected_prompts = [
        ["a chest x-ray showing pleural effusion", "pleural effusion is present", "findings of pleural effusion"],
        ["a chest x-ray showing pleural thickening", "pleural thickening is present", "findings of pleural thickening"],
        ["a lung mass", "a large mass"],
    ]
    for row, texts in zip(got, expected_prompts, strict=True):
        vectors = np.stack([encoder.model.encode_texts([t])[0] for t in texts]).astype(np.float64)
        np.testing.assert_allclose(row, unit(unit(vectors).mean(axis=0)), rtol=1e-4, atol=1e-5)
    assert encoder.describe()["prompts"]["templates"][0] == "a chest x-ray showing {}"


def test_paired_prompts_score_the_softmax_over_the_pair(hf_clip):
    model = load_image_text_model(f"hf-clip:{hf_clip}")
    prompts = load_prompt_set("chexzero")
    assert prompts.paired
    emb = encode_prompts(model.encode_texts, CLASSES, prompts)
    assert emb.shape == (3, 32)
    pos = unit(np.stack([model.encode_texts([t])[0] for t in ["pleural effusion", "pleural thickening", "lung mass"]]))
    neg = unit(np.stack([model.encode_texts([t])[0] for t in ["no pleural effusion", "no pleural thickening",
                                                             "no lung mass"]]))
    np.testing.assert_allclose(emb[:, :16], pos, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(emb[:, 16:], neg, rtol=1e-4, atol=1e-5)
    features = model.encode_images(torch.randint(0, 256, (4, 1, 32, 32), dtype=torch.uint8))
    method = ClipZeroShot(16, 32, ClipZeroShotConfig())
    scores = method(features, torch.from_numpy(emb)).numpy()
    f = unit(features.numpy().astype(np.float64))
    sp, sn = np.exp(f @ pos.T), np.exp(f @ neg.T)
    np.testing.assert_allclose(scores, sp / (sp + sn), rtol=1e-4, atol=1e-6)
    single = ClipZeroShot(16, 16, ClipZeroShotConfig())
    np.testing.assert_allclose(single(features, torch.from_numpy(emb[:, :16])).numpy(), f @ pos.T, atol=1e-5)


def test_the_method_refuses_training_and_mismatched_towers():
    method = METHODS.create("clip-zeroshot", feature_dim=8, feature_map_dim=None, text_dim=8, n_classes=2, options={})
    assert method.trained_on_labels is False and method.describe()["trained_on_labels"] is False
    with pytest.raises(TrainingError, match="training-free"):
        method.loss(torch.randn(2, 8), torch.randn(2, 8), torch.ones(2, 2))
    with pytest.raises(UsageError, match="same image-text model"):
        METHODS.create("clip-zeroshot", feature_dim=8, feature_map_dim=None, text_dim=12, n_classes=2, options={})
    with pytest.raises(UsageError, match="temperature"):
        METHODS.create("clip-zeroshot", feature_dim=8, feature_map_dim=None, text_dim=8, n_classes=2,
                       options={"temperature": 0})


def test_prompt_files_are_checked(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("templates: ['an x-ray with {}']\nclasses:\n  pleural thickening: ['thick pleura']\n"
                    "paired: true\n")
    prompts = load_prompt_set(str(good))
    assert prompts.name == "mine" and prompts.paired
    assert prompts.positives(ClassInfo("Pleural_Thickening")) == ["thick pleura"]
    assert prompts.positives(ClassInfo("Mass")) == ["an x-ray with mass"]
    assert prompts.negatives(ClassInfo("Mass")) == ["no mass"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("templatez: ['{}']\n")
    with pytest.raises(UsageError, match="templatez"):
        load_prompt_set(str(bad))
    bad.write_text("templates: ['no slot']\n")
    with pytest.raises(UsageError, match="exactly one"):
        load_prompt_set(str(bad))
    with pytest.raises(UsageError, match="nih"):
        load_prompt_set("nhi")


def test_missing_weights_are_one_line_naming_the_model_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for spec, words in (("hf-clip:nobody/absent-clip", "huggingface-cli download nobody/absent-clip"),
                        ("open_clip:hf-hub:nobody/absent-clip", "hub cache")):
        res = invoke(["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                      "--n-images", "60", "--image-size", "32", "--out", str(tmp_path / "runs")])
        assert res.exit_code == 2, res.output
        line = res.output.strip()
        assert "\n" not in line and "absent-clip" in line and words in line, line
    with pytest.raises(UsageError, match="nobody/absent"):
        BACKBONES.create("hf-clip:nobody/absent", pretrained=True)
    with pytest.raises(UsageError, match="nobody/absent"):
        TEXT_ENCODERS.create("hf-clip:nobody/absent")


@pytest.fixture(scope="module")
def clip_run(hf_clip, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clip-runs")
    spec = f"hf-clip:{hf_clip}"
    res = invoke(["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                  "--prompts", "chexzero", "--n-images", "200", "--image-size", "32", "--quiet",
                  "--out", str(out)])  # --prompts X is --text-option prompts=X
    assert res.exit_code == 0, res.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return run_dir


def test_a_training_free_run_records_it_and_trains_nothing(clip_run):
    result = json.loads((clip_run / "result.json").read_text())
    check_result(result)
    assert result["trained_on_labels"] is False and result["method"]["trained_on_labels"] is False
    assert result["method"]["paired"] is True
    assert result["training"]["history"] == [] and result["timings"]["train_s"] == 0.0
    assert result["text_encoder"]["prompts"]["name"] == "chexzero"
    assert set(result["feature_cache"]["parts"]) == {"test"}  # no train or val image was loaded
    assert not (clip_run / "last.pt").exists() and (clip_run / "best.pt").is_file()
    scores = np.load(clip_run / "scores.npz")["scores"]
    assert scores.shape[1] == 14 and ((scores > 0) & (scores < 1)).all()  # every class, paired probabilities


def test_predict_and_calibrate_accept_a_training_free_run(clip_run, tmp_path):
    image = tmp_path / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)).save(image)
    res = invoke(["predict", "--checkpoint", str(clip_run), str(image), "--classes", "Effusion,Lung nodule",
                  "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "Lung nodule" in res.output
    cal = tmp_path / "cal.json"
    res = invoke(["calibrate", "--checkpoint", str(clip_run), "--sensitivity", "0.9", "--out", str(cal)])
    assert res.exit_code == 0, res.output
    assert cal.is_file()
    report = tmp_path / "report.html"
    res = invoke(["report", str(clip_run), "--out", str(report)])
    assert res.exit_code == 0, res.output
    assert "clip-zeroshot" in report.read_text()


def test_an_open_clip_run_with_single_prompts(tmp_path):
    spec = "open_clip:ViT-S-32"  # no tag: random weights; a ViT sees its own 224 px input
    res = invoke(["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                  "--text-option", "prompts=nih", "--n-images", "60", "--image-size", "32", "--quiet",
                  "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (result_file,) = tmp_path.glob("*/result.json")
    result = json.loads(result_file.read_text())
    assert result["method"]["paired"] is False and result["trained_on_labels"] is False
    assert result["backbone"]["preprocess"]["input_size"] == 224
    assert result["text_encoder"]["prompts"]["phrases"]["Effusion"] == "pleural effusion"


def test_the_prompts_flag_is_the_prompts_text_option(tmp_path):
    from zsbench.cli.config_options import config_overrides

    flags = {"prompts": "nih", "text_options": ("pooling=mean",)}
    assert config_overrides(flags)["text_options"] == {"pooling": "mean", "prompts": "nih"}
    res = invoke(["sweep", "--methods", "clip-zeroshot", "--prompts", "nih", "--text-option", "prompts=cxr",
                  "--out", str(tmp_path), "--dry-run"])
    assert res.exit_code == 2 and "contradict" in res.output, res.output


def test_gzsl_selection_is_refused_for_a_training_free_method(hf_clip, tmp_path):
    spec = f"hf-clip:{hf_clip}"
    res = invoke(["run", "--method", "clip-zeroshot", "--backbone", spec, "--text-encoder", spec,
                  "--selection", "gzsl", "--n-images", "60", "--image-size", "32", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "training-free" in res.output, res.output


def test_the_leaderboard_marks_methods_not_trained_on_labels(tmp_path):
    make_run(tmp_path, "trained", n=120)
    make_run(tmp_path, "free", method="clip-zeroshot", n=120, trained_on_labels=False)
    board = make_leaderboard([tmp_path], BootstrapSettings(replicates=20))
    flags = {row.key.method: row.trained_on_labels for row in board.rows}
    assert flags == {"cxr-ml-gzsl": True, "clip-zeroshot": False}
    text = render_markdown(board)
    assert "clip-zeroshot (training-free)" in text and "cxr-ml-gzsl (training-free)" not in text
