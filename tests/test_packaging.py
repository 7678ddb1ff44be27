"""A plain (non-editable) install runs its defaults: the wheel carries the class splits, and an
installed zsbench finds them from any folder, with no source tree around."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """zsbench built as a wheel and installed into a fresh virtualenv that reuses this
    environment's packages (torch and the rest) but not its editable zsbench."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheels = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    (wheel,) = wheels.glob("zsbench-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # a .pth line adds this environment's site-packages; .pth files found there (the editable
    # install's finder among them) are not run, so `import zsbench` finds the wheel's copy only
    Path(purelib, "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True, capture_output=True)
    return wheel, venv


def test_the_wheel_ships_the_class_splits_from_splits(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(Path(n).name for n in names if n.startswith("zsbench/split_files/"))
    assert shipped == sorted(p.name for p in (ROOT / "splits").glob("*.yaml"))


def test_the_wheel_ships_the_result_json_schema(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        shipped = json.loads(archive.read("zsbench/schemas/result.schema.json"))
    assert shipped == json.loads((ROOT / "zsbench" / "schemas" / "result.schema.json").read_text())


def test_an_installed_zsbench_runs_its_defaults_from_any_folder(installed, tmp_path):
    _, venv = installed
    zsbench = venv / "bin" / "zsbench"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZSBENCH_SPLITS_DIR")}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import zsbench; print(zsbench.__file__)"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv))  # the wheel's copy, not the source tree
    run = subprocess.run([str(zsbench), "run", "--n-images", "300", "--image-size", "32", "--epochs", "1",
                          "--text-encoder", "random", "--quiet", "--json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["class_split"]["name"] == "synthetic-paper"
    dry = subprocess.run([str(zsbench), "sweep", "--splits", "synthetic-*", "--dry-run", "--json", "--out", "sw"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    runs = json.loads(dry.stdout)["runs"]
    assert [r["config"]["split"] for r in runs] == ["synthetic-paper"]
