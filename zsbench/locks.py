"""Folder locks: one writer at a time in a run or sweep folder.

A lock is the file ``<folder>/.zsbench.lock`` holding the holder's host, PID, start time and
command. It is taken atomically: the holder's record is written to a temporary file that is then
hard-linked to the lock's name, which fails when the name exists, so a second writer never sees a
half-written lock and two writers can never both succeed. A lock whose process is gone (same host,
PID no longer running) is *reported* as stale, with how to clear it, never removed silently: the
folder may hold half-finished work that the user should look at first.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from zsbench.errors import UsageError
from zsbench.results import ensure_folder, write_temp_file

LOCK_NAME = ".zsbench.lock"


class FolderLockedError(UsageError):
    """Another zsbench process holds the folder's lock (or left a stale one behind)."""


@dataclass(frozen=True)
class LockHolder:
    host: str
    pid: int
    started: str
    command: str

    @classmethod
    def this_process(cls) -> LockHolder:
        return cls(socket.gethostname(), os.getpid(), datetime.now(UTC).isoformat(timespec="seconds"),
                   " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300])


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def read_holder(path: Path) -> LockHolder | None:
    """The lock's holder, or None when the file cannot be read as one."""
    try:
        raw = json.loads(path.read_text())
        return LockHolder(str(raw["host"]), int(raw["pid"]), str(raw["started"]), str(raw["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refusal(folder: Path, path: Path, holder: LockHolder | None) -> FolderLockedError:
    if holder is None:
        return FolderLockedError(f"{folder} holds an unreadable lock file {path}; if no zsbench is using "
                                 "this folder, delete that file and run again")
    who = f"process {holder.pid} on {holder.host} (since {holder.started}: {holder.command})"
    if holder.host == socket.gethostname() and not _pid_running(holder.pid):
        return FolderLockedError(f"{folder} has a stale lock from {who}, which is no longer running; "
                                 f"check the folder, then delete {path} and run again")
    return FolderLockedError(f"{folder} is in use by {who}; wait for it to finish or choose another folder")


def clear_stale_lock(folder: str | Path) -> bool:
    """Remove ``folder``'s lock if its holder ran on this host and is gone; True if one was removed.
    For callers that hold a lock above ``folder`` (a sweep over its run folders), where nobody else
    can have been working there."""
    path = Path(folder) / LOCK_NAME
    holder = read_holder(path) if path.is_file() else None
    if holder is None or holder.host != socket.gethostname() or _pid_running(holder.pid):
        return False
    path.unlink(missing_ok=True)
    return True


class FolderLock:
    """``with FolderLock(folder):`` holds ``folder``'s lock (creating the folder), or raises
    :class:`FolderLockedError` naming the holder. Not re-entrant: a process that already holds a
    folder's lock is refused like any other."""

    def __init__(self, folder: str | Path, flag: str = "output") -> None:
        self.folder, self.flag = Path(folder), flag
        self.path = self.folder / LOCK_NAME
        self._held = False

    def acquire(self) -> FolderLock:
        ensure_folder(self.folder, self.flag)
        record = json.dumps(asdict(LockHolder.this_process())).encode()
        tmp = write_temp_file(self.folder, f"{LOCK_NAME}.", record)
        try:
            try:
                os.link(tmp, self.path)  # atomic, and fails if the lock exists
            except FileExistsError:
                raise _refusal(self.folder, self.path, read_holder(self.path)) from None
        finally:
            tmp.unlink(missing_ok=True)
        self._held = True
        return self

    def release(self) -> None:
        if self._held:
            self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
