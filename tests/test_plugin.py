"""Installs the example plugin package for real and runs zsbench with its backbone."""

import json
import subprocess
import sys

import pytest

from tests.conftest import TINY_RUN


@pytest.fixture(scope="module")
def plugin_env(example_plugin_env):
    return example_plugin_env


def test_plugin_is_listed_with_its_distribution(plugin_env):
    out = subprocess.run([sys.executable, "-m", "zsbench", "list", "backbones", "--json"],
                         capture_output=True, text=True, env=plugin_env, check=True).stdout
    entries = {e["name"]: e for e in json.loads(out)["backbones"]}
    assert entries["mini-resnet"]["origin"] == "zsbench-example-backbone 0.1.0"
    assert entries["tiny-cnn"]["origin"] == "built-in"


def test_run_with_plugin_backbone(plugin_env, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "zsbench", "run", *TINY_RUN, "--backbone", "mini-resnet",
         "--out", str(tmp_path), "--json"],
        capture_output=True, text=True, env=plugin_env,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["config"]["backbone"] == "mini-resnet"
    assert 0.0 <= result["metrics"]["auroc_seen"] <= 1.0
