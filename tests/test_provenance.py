"""Where a result says it came from: the git hash only of a zsbench checkout, and log lines on
stderr without rich's source column."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

import zsbench
from zsbench.cli import output
from zsbench.progress import ProgressEvent

PACKAGE = Path(zsbench.__file__).resolve().parent


def _git(folder: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def _hash_seen_from(site: Path) -> str:
    code = "from zsbench.results import git_hash; print(git_hash())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=site,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    return out.stdout.strip()


def test_git_hash_is_taken_only_from_a_checkout_of_zsbench_itself(tmp_path):
    # an installed copy inside somebody else's repository (a venv in a user's project): no hash
    project = tmp_path / "project"
    site = project / "venv" / "site-packages"
    shutil.copytree(PACKAGE, site / "zsbench", ignore=shutil.ignore_patterns("__pycache__"))
    _git(project, "init", "-q")
    (project / "README").write_text("not zsbench\n")
    _git(project, "add", "README")
    _git(project, "commit", "-q", "-m", "user project")
    assert _hash_seen_from(site) == "None"
    # the same files as the top of their own checkout: that checkout's commit
    _git(site, "init", "-q")
    _git(site, "add", "zsbench")
    _git(site, "commit", "-q", "-m", "zsbench")
    assert _hash_seen_from(site) == _git(site, "rev-parse", "HEAD")


def test_epoch_log_lines_carry_no_source_column(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(output, "stderr", Console(file=stream, width=200, force_terminal=False))
    with output.progress_reporter() as report:
        report(ProgressEvent("epoch", 1, 3, {"epoch": 1, "train_loss": 0.5, "val_score": 0.75, "lr": 1e-3}))
    text = stream.getvalue()
    assert "epoch 1: loss 0.5000  val 0.7500  lr 0.001" in text
    assert "output.py" not in text
