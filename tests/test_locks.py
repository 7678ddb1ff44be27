"""Folder locks: taken atomically by exactly one process, refused with the holder's name, stale
ones reported, and two real sweeps into one folder never both train."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from zsbench.locks import LOCK_NAME, FolderLock, FolderLockedError, clear_stale_lock, read_holder

SWEEP = [sys.executable, "-m", "zsbench", "sweep", "--methods", "linear,cxr-ml-gzsl", "--text-encoders", "random",
         "--n-images", "300", "--image-size", "32", "--epochs", "2", "--batch-size", "16", "--quiet"]


def _try_lock(folder: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue) -> None:
    barrier.wait()
    try:
        FolderLock(folder).acquire()  # never released: the winner's file stays for the check below
        results.put(("won", os.getpid()))
    except FolderLockedError:
        results.put(("refused", os.getpid()))


def test_exactly_one_of_many_processes_gets_the_lock(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_try_lock, args=(str(tmp_path), barrier, results)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = [results.get(timeout=5) for _ in procs]
    winners = [pid for what, pid in outcomes if what == "won"]
    assert len(winners) == 1
    holder = read_holder(tmp_path / LOCK_NAME)
    assert holder is not None and holder.pid == winners[0] and holder.host == socket.gethostname()
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]  # no temporary files left


def test_lock_is_released_and_can_be_taken_again(tmp_path):
    with FolderLock(tmp_path), pytest.raises(FolderLockedError, match=f"in use by process {os.getpid()} on"):
        FolderLock(tmp_path).acquire()
    with FolderLock(tmp_path):
        assert (tmp_path / LOCK_NAME).is_file()
    assert not (tmp_path / LOCK_NAME).exists()


def test_stale_and_unreadable_locks_are_reported_not_removed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    lock = tmp_path / LOCK_NAME
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": proc.pid, "started": "t", "command": "c"}))
    with pytest.raises(FolderLockedError, match=rf"stale lock from process {proc.pid}.*delete {lock}"):
        FolderLock(tmp_path).acquire()
    assert lock.is_file()
    lock.write_text("{half")
    with pytest.raises(FolderLockedError, match="unreadable lock file"):
        FolderLock(tmp_path).acquire()
    assert not clear_stale_lock(tmp_path) and lock.is_file()  # unreadable: not provably stale
    lock.write_text(json.dumps({"host": "another-host", "pid": proc.pid, "started": "t", "command": "c"}))
    with pytest.raises(FolderLockedError, match=r"in use by process .* on another-host"):
        FolderLock(tmp_path).acquire()
    assert not clear_stale_lock(tmp_path)  # another host's process cannot be checked
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": proc.pid, "started": "t", "command": "c"}))
    assert clear_stale_lock(tmp_path) and not lock.exists()


def test_two_sweeps_started_together_one_runs_one_is_refused(tmp_path):
    out = tmp_path / "sweep"
    procs = [subprocess.Popen([*SWEEP, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    done = [(p.wait(300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in done)
    assert codes == [0, 2], done
    refused = next(err for code, _, err in done if code == 2)
    lines = refused.splitlines()
    assert len(lines) == 1 and "in use by process" in lines[0], refused
    plan = json.loads((out / "sweep.json").read_text())
    assert len(plan["runs"]) == 2
    for run in plan["runs"]:  # each run trained once, by the sweep that ran
        result = json.loads((out / run["run_dir"] / "result.json").read_text())
        assert result["training"]["resumed_from_epoch"] is None
        assert len(result["training"]["history"]) == 2
    assert not list(Path(out).rglob(LOCK_NAME))
