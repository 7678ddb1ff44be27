"""--compile: the model compiles in place (same parameter names, same scores up to rounding), and
where the toolchain is missing the run trains uncompiled and says why in one line."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from tests.conftest import TINY_RUN
from zsbench.cli.main import cli
from zsbench.engine import compile as compile_module
from zsbench.engine.compile import compile_model, missing_toolchain
from zsbench.engine.trainer import create_model


def tiny_model():
    torch.manual_seed(0)
    return create_model("tiny-cnn", "linear", {}, image_size=32, text_dim=8, n_classes=3, pretrained=False)


def test_without_a_cpp_compiler_the_model_stays_eager_with_a_reason(monkeypatch):
    monkeypatch.setattr(compile_module.shutil, "which", lambda name: None)
    monkeypatch.delenv("CXX", raising=False)
    model = tiny_model()
    outcome = compile_model(model, torch.device("cpu"))
    assert not outcome.used
    assert outcome.message == ("--compile: cannot compile for cpu: no C++ compiler (c++) on PATH; install g++ or "
                               "set CXX; running uncompiled")
    assert missing_toolchain(torch.device("cpu")) is not None


def test_a_run_with_compile_records_the_fallback(monkeypatch, tmp_path):
    monkeypatch.setattr(compile_module.shutil, "which", lambda name: None)
    out = tmp_path / "runs"
    res = CliRunner().invoke(cli, ["run", *TINY_RUN, "--epochs", "1", "--compile", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "note: --compile: cannot compile for cpu" in res.stderr
    (result,) = out.glob("*/result.json")
    assert json.loads(result.read_text())["compile"] == {
        "used": False, "message": compile_model(tiny_model(), torch.device("cpu")).message}


@pytest.mark.skipif(missing_toolchain(torch.device("cpu")) is not None, reason="no C++ compiler for inductor")
def test_compiled_in_place_keeps_names_and_scores():
    eager, compiled = tiny_model(), tiny_model()
    outcome = compile_model(compiled, torch.device("cpu"))
    assert outcome.used
    assert list(compiled.state_dict()) == list(eager.state_dict())  # checkpoints stay loadable
    pixels = torch.randint(0, 256, (4, 1, 32, 32), dtype=torch.uint8)
    embeddings = torch.randn(3, 8)
    assert torch.allclose(compiled(pixels, embeddings), eager(pixels, embeddings), atol=1e-5)
