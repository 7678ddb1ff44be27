from __future__ import annotations

import os

# Tests never reach a model hub; the offline MiniLM copy ships in a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import subprocess
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)

# Smallest settings that still exercise the whole pipeline.
TINY_RUN = [
    "--n-images", "300", "--image-size", "32", "--epochs", "1", "--batch-size", "16",
    "--text-encoder", "random", "--quiet",
]


@pytest.fixture
def tiny_run_args(tmp_path):
    return [*TINY_RUN, "--out", str(tmp_path / "runs")]


# A model good enough for zero-shot transfer to show (~1 min on 2 free CPU cores), trained once per
# session and shared by the predict, calibrate and report tests. Tests must not write into it.
# (With 1500 images, in 4 or 8 epochs, every unseen class of synthetic world version 2 stayed below
# 0.7 AUROC. With the clinical-clause descriptions 4 epochs were too few: the never-seen class of
# test_predict reached top 3 on none of its images, AUROC 0.65; 8 epochs: 0.70 of them, AUROC 0.94.)
MODEL_RUN = [
    "--n-images", "3000", "--image-size", "64", "--epochs", "8", "--text-encoder", "minilm", "--quiet",
]


def _train(out, args):
    from click.testing import CliRunner

    from zsbench.cli.main import cli

    res = CliRunner().invoke(cli, ["run", *args, "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """Run directory of a small minilm model (seen classes only in training, as always)."""
    return _train(tmp_path_factory.mktemp("trained"), MODEL_RUN)


@pytest.fixture(scope="session")
def tiny_trained_run(tmp_path_factory):
    """Run directory of the smallest possible run (random text encoder, 32 px, 1 epoch)."""
    return _train(tmp_path_factory.mktemp("tiny"), TINY_RUN)


EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "zsbench-example-backbone"


@pytest.fixture(scope="session")
def example_plugin_env(tmp_path_factory):
    """An environment whose PYTHONPATH holds the example plugin, installed for real (a wheel built
    by pip into its own folder) once per session, for the tests that run zsbench in a subprocess."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(EXAMPLE_PLUGIN)],
        check=True,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")])
    return env
