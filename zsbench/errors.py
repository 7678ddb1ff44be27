"""Typed errors. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZsbenchError(Exception):
    """Base class of every error zsbench raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(ZsbenchError):
    """The user asked for something that cannot work (bad name, bad option, bad file): exit code 2."""

    exit_code = 2


def close_matches(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for close matches of ``name`` among ``known``, else ``""``."""
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for close matches, else the list of known names."""
    known = sorted(known)
    hint = close_matches(name, known)
    if hint:
        return hint.removeprefix("; ")
    return "known: " + ", ".join(known) if known else "none are registered"


def one_line(exc: BaseException) -> str:
    """The error as one line: zsbench's own messages as they are, others prefixed by their type."""
    text = str(exc) if isinstance(exc, ZsbenchError) else f"{exc.__class__.__name__}: {exc}"
    return text.strip().splitlines()[0] if text.strip() else exc.__class__.__name__


class UnknownNameError(UsageError):
    """A registry or catalogue lookup failed; the message carries a did-you-mean suggestion."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; {did_you_mean(name, known)}")
        self.kind, self.name = kind, name


class RegistryConflictError(ZsbenchError):
    """Two registrations claim the same name."""


class PluginContractError(UsageError):
    """A registered part breaks its contract: its factory cannot be imported, or what it returns is not
    an instance of the part's base class or lacks a declared member. The one-line message names the
    part (kind and name), where it comes from (entry point or built-in target) and what is wrong."""

    def __init__(self, kind: str, name: str, source: str, problem: str) -> None:
        super().__init__(f"{kind} {name!r} from {source}: {problem}")
        self.kind, self.name, self.source, self.problem = kind, name, source, problem

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        # rebuilt from its fields when it crosses a process boundary (sweep workers)
        return type(self), (self.kind, self.name, self.source, self.problem)


class ClassSplitError(UsageError):
    """A seen/unseen class split is malformed (overlap, unknown class, empty side)."""


class DataError(ZsbenchError):
    """Input data is missing, corrupt or inconsistent."""


class LeakageError(ZsbenchError):
    """A guard found information from unseen classes or test patients where training could see it."""


class TrainingError(ZsbenchError):
    """Training cannot continue (for example the loss became NaN)."""


class CheckpointError(UsageError):
    """A checkpoint file is damaged, not zsbench's, from an incompatible version, or cannot be rebuilt."""


class ImageReadError(UsageError):
    """An input image cannot be read or converted (unknown format, compressed DICOM without a codec)."""
