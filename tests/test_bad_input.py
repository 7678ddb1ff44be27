"""Bad input, as a careless user gives it: every case exits with the right code and exactly one
line on stderr (no traceback, no progress lines: it is refused before any data is loaded), and
nothing already on disk is changed or removed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.imaging import write_png
from zsbench.cli.main import cli
from zsbench.locks import LOCK_NAME, FolderLock

TINY = ["--n-images", "300", "--image-size", "32", "--epochs", "1", "--batch-size", "16",
        "--text-encoder", "random"]  # no --quiet: a progress bar would add lines to stderr
SWEEP_TINY = [*TINY[:-2], "--text-encoders", "random"]
SPLIT = "name: s\nseen: [Atelectasis, Effusion]\nunseen: [Edema]\n"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(folder: Path, pid: int) -> None:
    import socket

    folder.mkdir(parents=True, exist_ok=True)
    (folder / LOCK_NAME).write_text(json.dumps(
        {"host": socket.gethostname(), "pid": pid, "started": "2026-01-01T00:00:00+00:00", "command": "zsbench sweep"}))


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_trained_run):
    """Every bad file the cases name, in one folder (the cases must leave it as it is)."""
    root = tmp_path_factory.mktemp("bad-input")
    (root / "a-file").write_text("not a folder\n")
    (root / "latin1.yaml").write_bytes("name: s\nseen: [Atelectasis]\nunseen: [Edema]\n# caf\xe9\n".encode("latin-1"))
    (root / "split.yaml").write_text(SPLIT)
    (root / "extra-key.yaml").write_text(SPLIT + "unsen: [Mass]\n")
    (root / "empty.csv").write_bytes(b"")
    write_png(root / "x.png", np.zeros((32, 32), np.uint8))
    (root / "blank-path.csv").write_text("path,labels\nx.png,Edema\n,Mass\n")
    (root / "latin1-classes.yaml").write_bytes("- Caf\xe9 lung\n".encode("latin-1"))
    (root / "config-latin1.yaml").write_bytes("epochs: 2 # caf\xe9\n".encode("latin-1"))
    (root / "noise.pt").write_bytes(os.urandom(4096))
    finished = root / "finished-run"
    shutil.copytree(tiny_trained_run, finished)
    no_labels = root / "no-labels-run"
    shutil.copytree(tiny_trained_run, no_labels)
    with np.load(no_labels / "scores.npz") as npz:
        kept = {k: npz[k] for k in npz.files if k != "labels"}
    np.savez(no_labels / "scores.npz", **kept)
    _write_lock(root / "busy-sweep", os.getpid())  # held by a live process: this one
    _write_lock(root / "stale-sweep", _dead_pid())
    busy_run = root / "busy-run"
    shutil.copytree(tiny_trained_run, busy_run)
    (busy_run / "result.json").unlink()
    _write_lock(busy_run, os.getpid())
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# (case id, arguments with {f} for the files folder and {out} for a fresh output folder, exit code,
# text the one stderr line must hold)
CASES = [
    # the defects found by the issue
    ("clip-grad-negative", ["run", *TINY, "--clip-grad", "-1"], 2, "--clip-grad must be a finite number above 0"),
    ("lr-nan", ["run", *TINY, "--lr", "nan"], 2, "--lr must be a finite number above 0 (got nan)"),
    ("lr-inf", ["run", *TINY, "--lr", "inf"], 2, "--lr must be a finite number above 0 (got inf)"),
    ("seed-negative", ["run", *TINY, "--seed", "-1"], 2, "--seed must be between 0 and 4294967295"),
    ("data-seed-negative", ["run", *TINY, "--data-seed", "-1"], 2, "--data-seed must be between 0"),
    ("run-out-is-a-file", ["run", *TINY, "--out", "{f}/a-file"], 2, "is a file, not a folder"),
    ("sweep-out-is-a-file", ["sweep", "--methods", "linear", "--out", "{f}/a-file", *SWEEP_TINY], 2,
     "is a file, not a folder"),
    ("split-not-utf8", ["run", *TINY, "--split", "{f}/latin1.yaml"], 2, "not UTF-8 text"),
    ("csv-zero-bytes", ["run", "--dataset", "csv", "--metadata", "{f}/empty.csv", "--root", "{f}",
                        "--split", "{f}/split.yaml", "--text-encoder", "random"], 1,
     "empty.csv is empty; it needs a header row"),
    ("max-steps-0", ["run", *TINY, "--max-steps", "0"], 2, "--max-steps must be at least 1 (got 0)"),
    ("early-stop-0", ["run", *TINY, "--early-stop", "0"], 2, "--early-stop must be at least 1 (got 0)"),
    ("k-above-classes", ["run", *TINY, "--k", "15"], 2, "--k 15 is more than the 14 classes of synthetic"),
    ("predict-empty-classes", ["predict", "--checkpoint", "{f}/finished-run", "{f}/x.png", "--classes", ""], 2,
     "--classes expects comma-separated class names"),
    ("split-unknown-key", ["run", *TINY, "--split", "{f}/extra-key.yaml"], 2,
     "unknown key 'unsen'; did you mean 'unseen'"),
    ("n-images-huge", ["run", "--n-images", "100000000000", "--text-encoder", "random"], 2,
     "the synthetic world has 50 to 300,000 images (got --n-images 100,000,000,000)"),
    ("gzsl-val-unseen-0", ["run", *TINY, "--selection", "gzsl", "--val-unseen", "0"], 2,
     "--val-unseen must be at least 1 (got 0)"),
    ("gzsl-val-unseen-too-many", ["run", *TINY, "--selection", "gzsl", "--val-unseen", "12"], 2,
     "--val-unseen must be between 1 and 9"),
    ("click-unknown-option", ["run", "--epoch", "3"], 2, "No such option '--epoch'. Did you mean '--epochs'?"),
    ("click-bad-integer", ["run", "--epochs", "abc"], 2, "Invalid value for '--epochs': 'abc' is not a valid integer"),
    ("npz-missing-key", ["rescore", "{f}/no-labels-run"], 2, "malformed scores file, no 'labels' array"),
    ("checkpoint-random-bytes", ["predict", "--checkpoint", "{f}/noise.pt", "{f}/x.png"], 2,
     "damaged or not a torch file"),
    ("csv-blank-path", ["run", "--dataset", "csv", "--metadata", "{f}/blank-path.csv", "--root", "{f}",
                        "--split", "{f}/split.yaml", "--text-encoder", "random"], 1,
     "1 row(s) have no image path in column 'path' (first: data row 2)"),
    ("resume-finished-run", ["run", "--resume", "{f}/finished-run"], 2, "is a finished run (it has result.json)"),
    ("sweep-locked", ["sweep", "--methods", "linear", "--out", "{f}/busy-sweep", *SWEEP_TINY], 2,
     f"is in use by process {os.getpid()} on"),
    ("sweep-stale-lock", ["sweep", "--methods", "linear", "--out", "{f}/stale-sweep", *SWEEP_TINY], 2,
     "has a stale lock from process"),
    ("run-resume-locked", ["run", "--resume", "{f}/busy-run"], 2, "is in use by process"),
    # more in the same spirit
    ("seed-too-large", ["run", *TINY, "--seed", "4294967296"], 2, "--seed must be between 0 and 4294967295"),
    ("batch-size-1", ["run", *TINY, "--batch-size", "1"], 2, "--batch-size must be at least 2"),
    ("image-size-tiny", ["run", *TINY, "--image-size", "4"], 2, "--image-size must be at least 8"),
    ("config-not-utf8", ["run", "--config", "{f}/config-latin1.yaml"], 2, "is not UTF-8 text"),
    ("classes-file-not-utf8", ["predict", "--checkpoint", "{f}/finished-run", "{f}/x.png",
                               "--classes-file", "{f}/latin1-classes.yaml"], 2, "is not UTF-8 text"),
    ("sweep-lr-factor-above-1", ["sweep", "--methods", "linear", "--out", "{out}", "--set", "lr_factor=2", *SWEEP_TINY],
     2, "lr_factor must be below 1"),
    ("sweep-workers-0", ["sweep", "--methods", "linear", "--out", "{out}", "--workers", "0", *SWEEP_TINY], 2,
     "--workers must be at least 1"),
    ("sweep-seeds-not-numbers", ["sweep", "--methods", "linear", "--out", "{out}", "--seeds", "a,b"], 2,
     "--seeds takes integers"),
    ("sweep-k-above-classes", ["sweep", "--methods", "linear", "--out", "{out}", "--k", "15", *SWEEP_TINY], 2,
     "--k 15 is more than the 14 classes"),
    ("sweep-bad-dataset-option", ["sweep", "--methods", "linear", "--out", "{out}", "--dataset-option",
                                  "stats=bogus", *SWEEP_TINY], 2, "synthetic stats='bogus': choose flat or nih"),
    ("click-missing-argument", ["predict", "--checkpoint", "{f}/finished-run"], 2, "Missing argument 'IMAGES...'"),
    ("click-unknown-command", ["rnu"], 2, "No such command 'rnu'. Did you mean 'run'?"),
    ("device-unknown", ["run", *TINY, "--device", "tpu"], 2, "unknown --device 'tpu'"),
]


@pytest.mark.parametrize(("args", "code", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_loses_nothing(args, code, needle, files, tmp_path):
    out = tmp_path / "out"
    before = _snapshot(files)
    argv = [a.format(f=files, out=out) for a in args]
    if argv[0] in ("run", "sweep") and "--out" not in argv and "--resume" not in argv:
        argv += ["--out", str(out)]
    res = CliRunner().invoke(cli, argv, prog_name="zsbench", catch_exceptions=False)
    lines = res.stderr.splitlines()
    assert res.exit_code == code, res.output
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("zsbench: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in res.output and res.stdout == ""
    assert _snapshot(files) == before  # nothing changed or removed, no lock left behind
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert written == []  # refused before anything was written (no plan, no run folder)


def test_a_run_that_fails_in_its_folder_says_so(tmp_path):
    """A run that fails after its folder exists leaves error.txt there, as a sweep's runs do."""
    res = CliRunner().invoke(cli, ["run", *TINY, "--quiet", "--lr", "1e30", "--out", str(tmp_path)])
    assert res.exit_code == 1 and "loss became nan" in res.stderr
    (run_dir,) = tmp_path.iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "error.txt"]
    error = (run_dir / "error.txt").read_text()
    assert error.startswith("loss became nan") and "Traceback" in error


def test_a_held_lock_refuses_a_sweep_before_it_writes_its_plan(tmp_path):
    out = tmp_path / "sweep"
    with FolderLock(out):
        res = CliRunner().invoke(cli, ["sweep", "--methods", "linear", "--out", str(out), *SWEEP_TINY])
        assert res.exit_code == 2 and f"in use by process {os.getpid()}" in res.stderr
        assert not (out / "sweep.json").exists()
    assert not (out / LOCK_NAME).exists()  # released on leaving


def test_a_sweep_clears_its_own_runs_stale_locks(tmp_path):
    """A run killed with SIGKILL leaves its lock; the sweep that owns the folder (and holds the
    sweep's lock) may clear it, since that process is gone."""
    out = tmp_path / "sweep"
    args = ["sweep", "--methods", "linear", "--out", str(out), *SWEEP_TINY, "--quiet"]
    plan = json.loads(CliRunner().invoke(cli, [*args, "--dry-run", "--json"]).stdout)
    run_dir = Path(plan["runs"][0]["run_dir"])
    _write_lock(run_dir, _dead_pid())
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (run_dir / "result.json").is_file() and not (run_dir / LOCK_NAME).exists()
