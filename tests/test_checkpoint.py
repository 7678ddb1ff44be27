import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from zsbench import __version__
from zsbench.checkpoint import CHECKPOINT_FORMAT_VERSION, load_checkpoint, read_checkpoint
from zsbench.cli.main import cli
from zsbench.engine.trainer import score_images
from zsbench.errors import CheckpointError
from zsbench.rundata import run_part_table


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def one_line_error(res):
    lines = res.stderr.strip().splitlines()
    assert res.exit_code == 2, res.output
    assert len(lines) == 1 and lines[0].startswith("zsbench: error:") and "Traceback" not in res.stderr
    return lines[0]


@pytest.fixture
def image(tmp_path):
    from tests.imaging import write_png
    from zsbench.data.synthetic.world import SyntheticWorld

    return write_png(tmp_path / "x.png", SyntheticWorld(60, 32, 0).render(0))


def rewrite(src, dst, change):
    payload = torch.load(src, weights_only=True)
    change(payload)
    torch.save(payload, dst)
    return dst


def test_checkpoint_describes_itself(tiny_trained_run):
    result = json.loads((tiny_trained_run / "result.json").read_text())
    raw = read_checkpoint(tiny_trained_run / "best.pt")
    meta = raw.meta
    assert meta.format_version == CHECKPOINT_FORMAT_VERSION and meta.zsbench_version == __version__
    assert meta.config == result["config"]
    assert meta.class_names == result["classes"]["all"]
    assert meta.seen == result["classes"]["seen"] and meta.unseen == result["classes"]["unseen"]
    assert meta.text_encoder["id"] == "random" and meta.text_encoder["uses_text"] is False
    assert meta.class_texts == [None] * 14  # the random encoder embeds no text
    assert meta.backbone["spec"] == "tiny-cnn" and meta.backbone["preprocess"]["input_size"] == 32
    assert meta.method["name"] == "cxr-ml-gzsl" and meta.dataset["name"] == "synthetic"
    assert meta.epoch == result["training"]["best_epoch"]
    assert raw.class_embeddings.shape == (14, meta.text_encoder["dim"])


def test_text_encoder_texts_are_recorded(trained_run):
    meta = read_checkpoint(trained_run / "best.pt").meta
    from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME

    assert meta.raw["class_text_mode"] == "description"
    assert meta.class_texts == [RECIPES_BY_NAME[n].descriptions[0] for n in meta.class_names]
    assert meta.text_encoder["id"] == "minilm" and meta.text_encoder["dim"] == 384


def test_rebuilt_model_reproduces_the_runs_test_scores(tiny_trained_run):
    ckpt = load_checkpoint(tiny_trained_run)  # a run directory works as well as best.pt
    stored = np.load(tiny_trained_run / "scores.npz")
    dataset, table = run_part_table(ckpt.meta.config, "test")
    assert list(table.ids) == list(stored["image_ids"])
    scores = score_images(ckpt.model, dataset.load_images(table.ids), torch.from_numpy(ckpt.class_embeddings))
    np.testing.assert_allclose(scores, stored["scores"], atol=1e-5)


def test_damaged_file_gives_one_line_error(tiny_trained_run, tmp_path, image):
    data = (tiny_trained_run / "best.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    assert "damaged or not a torch file" in one_line_error(invoke(["predict", "--checkpoint", str(cut), str(image)]))
    noise = tmp_path / "noise.pt"
    noise.write_bytes(os.urandom(4096))
    assert "cannot load checkpoint" in one_line_error(invoke(["predict", "--checkpoint", str(noise), str(image)]))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_nothing_arbitrary_is_unpickled(tmp_path, image):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "meta_json": "{}", "payload": _Evil(marker)}, evil)
    line = one_line_error(invoke(["predict", "--checkpoint", str(evil), str(image)]))
    assert "refuses to unpickle" in line
    assert not marker.exists()


def test_incompatible_versions_are_refused(tiny_trained_run, tmp_path, image):
    src = tiny_trained_run / "best.pt"

    def future(p):
        meta = json.loads(p["meta_json"])
        meta.update(format_version=99, zsbench_version="9.0.0")
        p["meta_json"] = json.dumps(meta)

    def legacy(p):  # what zsbench wrote before checkpoints described themselves
        meta = json.loads(p["meta_json"])
        p["meta_json"] = json.dumps({k: meta[k] for k in ("zsbench_version", "config", "class_names")})

    newer = rewrite(src, tmp_path / "newer.pt", future)
    line = one_line_error(invoke(["predict", "--checkpoint", str(newer), str(image)]))
    assert "format 99" in line and "upgrade zsbench" in line
    older = rewrite(src, tmp_path / "older.pt", legacy)
    assert "predates self-describing" in one_line_error(invoke(["predict", "--checkpoint", str(older), str(image)]))


def test_inconsistent_contents_are_refused(tiny_trained_run, tmp_path):
    src = tiny_trained_run / "best.pt"
    no_emb = rewrite(src, tmp_path / "a.pt", lambda p: p.pop("class_embeddings"))
    with pytest.raises(CheckpointError, match="class embeddings missing"):
        read_checkpoint(no_emb)
    key = next(iter(torch.load(src, weights_only=True)["state_dict"]))
    short = rewrite(src, tmp_path / "b.pt", lambda p: p["state_dict"].pop(key))
    with pytest.raises(CheckpointError, match="do not fit") as err:
        load_checkpoint(short)
    assert key in str(err.value) and "\n" not in str(err.value)
    bad_json = rewrite(src, tmp_path / "c.pt", lambda p: p.update(meta_json="{not json"))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_checkpoint(bad_json)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
