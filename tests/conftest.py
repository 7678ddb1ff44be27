from __future__ import annotations

import os

# Tests never reach a model hub; the offline MiniLM copy ships in a package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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
