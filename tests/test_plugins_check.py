"""``zsbench plugins check``: every registered part built on a tiny input, one line each."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zsbench.errors import UnknownNameError, UsageError
from zsbench.plugin_check import FAIL, PASS, SKIP, check_targets, select_targets
from zsbench.registry import REGISTRIES


def _zsbench(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zsbench", *args], capture_output=True, text=True, env=env)


def _env_with(path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return env


def test_builtin_parts_pass_on_tiny_inputs():
    results = check_targets(select_targets(["tiny-cnn", "linear", "lesa", "random", "attributes", "synthetic"]))
    assert [(r.status, r.detail) for r in results] == [(PASS, "")] * 6, results
    assert results[0].origin == "built-in zsbench.backbones.tiny_cnn:create_tiny_cnn"


def test_names_pick_parts_by_kind_name_and_argument():
    specs = [(t.registry, t.spec) for t in select_targets(["backbone:tiny-cnn", "methods:linear", "timm:resnet34"])]
    assert specs == [("backbones", "tiny-cnn"), ("methods", "linear"), ("backbones", "timm:resnet34")]
    # one name, two registries: both are checked
    assert {t.registry for t in select_targets(["open_clip"])} == {"backbones", "text-encoders"}
    with pytest.raises(UnknownNameError, match="unknown part 'tiny-cn'; did you mean 'tiny-cnn'"):
        select_targets(["tiny-cn"])
    with pytest.raises(UnknownNameError, match="unknown method 'tiny-cnn'"):
        select_targets(["method:tiny-cnn"])
    with pytest.raises(UsageError, match="takes no ':' argument"):
        select_targets(["linear:x"])


def test_a_parametric_part_without_a_known_argument_is_skipped_with_the_way_to_check_it():
    (result,) = check_targets(select_targets(["precomputed"]))
    assert result.status == SKIP and "zsbench plugins check precomputed:<arg>" in result.detail


def test_a_part_that_needs_files_it_was_not_given_is_skipped_not_failed():
    (result,) = check_targets(select_targets(["csv"]))
    assert result.status == SKIP and "--metadata" in result.detail


BROKEN = """
    import numpy as np
    import torch
    from torch import nn

    from zsbench.backbones import Backbone, Preprocess
    from zsbench.methods import Method


    class NoDim(Backbone):
        def __init__(self):
            super().__init__()
            self.preprocess = Preprocess(input_size=32)

        def forward(self, x):
            return x.mean(dim=(2, 3))


    class NanBackbone(NoDim):
        def __init__(self):
            super().__init__()
            self.feature_dim = 1

        def forward(self, x):
            return torch.full((len(x), 1), float("nan"))


    class NoLoss(Method):
        name = "no-loss"

        def forward(self, features, class_embeddings):
            return features @ class_embeddings.T


    def no_dim(**kwargs):
        return NoDim()

    def nan_backbone(**kwargs):
        return NanBackbone()

    def no_loss(**kwargs):
        return NoLoss()

    def not_an_encoder(**kwargs):
        return np.zeros(3)
"""


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory):
    """An installed distribution ``broken-parts 0.1`` with one broken part of each kind."""
    site = tmp_path_factory.mktemp("broken-site")
    (site / "broken_parts.py").write_text(textwrap.dedent(BROKEN))
    info = site / "broken_parts-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-parts\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""
        [zsbench.backbones]
        no-dim = broken_parts:no_dim
        nan-out = broken_parts:nan_backbone
        [zsbench.methods]
        no-loss = broken_parts:no_loss
        [zsbench.text_encoders]
        not-an-encoder = broken_parts:not_an_encoder
        [zsbench.datasets]
        unimportable = broken_parts_missing_module:create
    """))
    return _env_with(site)


def test_broken_plugins_fail_with_one_line_each_and_exit_1(broken_env):
    names = ["no-dim", "nan-out", "no-loss", "not-an-encoder", "unimportable", "tiny-cnn"]
    proc = _zsbench(["plugins", "check", *names], broken_env)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.strip().splitlines()
    fails = [line for line in lines if line.startswith(FAIL)]
    assert len(lines) == 6 and len(fails) == 5, proc.stdout
    expected = {
        "no-dim": "it has no feature_dim (required by zsbench.backbones.base.Backbone)",
        "nan-out": "forward(x) has non-finite values",
        "no-loss": "NoLoss does not implement loss",
        "not-an-encoder": "its factory returned ndarray, not a zsbench.text.encoders.TextEncoder",
        "unimportable": "cannot import its factory (ModuleNotFoundError: No module named "
                        "'broken_parts_missing_module')",
    }
    for name, problem in expected.items():
        (line,) = [f for f in fails if f" {name} " in f]
        assert f"(entry point '{name} = broken_parts" in line and "of broken-parts 0.1): " in line, line
        assert line.endswith(problem), line
    assert any(line.startswith(PASS) and "tiny-cnn" in line for line in lines)
    assert "1 passed, 5 failed, 0 skipped" in proc.stderr


def test_a_broken_plugin_is_still_listed_and_a_run_refuses_it_in_one_line(broken_env, tmp_path):
    listed = _zsbench(["list", "backbones"], broken_env)
    assert listed.returncode == 0 and "no-dim" in listed.stdout
    proc = _zsbench(["run", "--method", "no-loss", "--n-images", "60", "--image-size", "32",
                     "--text-encoder", "random", "--out", str(tmp_path), "--quiet"], broken_env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "zsbench: error: method 'no-loss' from entry point 'no-loss = broken_parts:no_loss' of broken-parts 0.1: "
        "NoLoss does not implement loss"
    ]


def test_unknown_name_is_a_usage_error(broken_env):
    proc = _zsbench(["plugins", "check", "no-dimm"], broken_env)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("zsbench: error: unknown part 'no-dimm'; did you mean 'no-dim'")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def plugin_env(example_plugin_env):
    """The example plugin installed for real (tests/conftest.py), as tests/test_plugin.py uses it."""
    return example_plugin_env


def test_every_part_passes_with_the_example_plugin_installed(plugin_env):
    proc = _zsbench(["plugins", "check"], plugin_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert not [line for line in lines if line.startswith(FAIL)]
    (plugin,) = [line for line in lines if " mini-resnet " in line]
    assert plugin.startswith(PASS) and plugin.endswith(
        "(entry point 'mini-resnet = zsbench_example_backbone:create_mini_resnet' of zsbench-example-backbone 0.1.0)")
    # every registered part has its line: the built-ins and the plugin
    assert len(lines) == sum(len(r.names()) for r in REGISTRIES.values()) + 1
