"""Seen/unseen class splits, stored as YAML files in the project's ``splits/`` folder."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, StrictStr

from zsbench.errors import ClassSplitError, UnknownNameError, did_you_mean
from zsbench.options import first_problem


class SplitFile(BaseModel):
    """What a split file may hold (``ClassSplit.to_dict`` writes it)."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = None
    dataset: StrictStr | None = None
    seen: list[StrictStr]
    unseen: list[StrictStr]
    generator: dict[str, Any] | None = None  # how the split was made, e.g. kind: manual
    keep_no_finding: list[Literal["train", "val", "test"]] | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any], path: Path) -> SplitFile:
        """``raw`` checked; the first problem is a one-line ClassSplitError naming the file."""
        try:
            return cls.model_validate(raw)
        except pydantic.ValidationError as exc:
            problem = first_problem(exc)
            key = problem.top
            if problem.kind == "extra_forbidden":
                hint = did_you_mean(key, SPLIT_KEYS)
                message = f"{path}: unknown key {key!r}; {hint} (a split has {', '.join(SPLIT_KEYS)})"
                raise ClassSplitError(message) from None
            raise ClassSplitError(f"{path}: '{key}:' must be {SPLIT_KEY_SHAPES.get(key, 'valid')}") from None


#: the keys a split file may hold
SPLIT_KEYS = tuple(SplitFile.model_fields)
SPLIT_KEY_SHAPES = {
    "name": "text", "dataset": "text", "seen": "a list of class names", "unseen": "a list of class names",
    "generator": "a mapping (e.g. kind: manual)", "keep_no_finding": "a list of parts among train, val, test",
}


@dataclass(frozen=True)
class ClassSplit:
    """Which classes a model may learn from (seen) and which it meets only at test time (unseen)."""

    name: str
    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    dataset: str | None = None
    generator: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    #: parts that keep "No Finding" images (the paper drops them everywhere; a clinical protocol
    #: keeps them in val and test for real prevalence)
    keep_no_finding: tuple[str, ...] = ()

    def validate(self, class_names: list[str]) -> None:
        """Raise :class:`ClassSplitError` unless the split is usable with these dataset classes."""
        where = f"class split {self.name!r}"
        if not self.seen:
            raise ClassSplitError(f"{where} has no seen classes; list at least one under 'seen:'")
        if not self.unseen:
            raise ClassSplitError(f"{where} has no unseen classes; list at least one under 'unseen:'")
        overlap = sorted(set(self.seen) & set(self.unseen))
        if overlap:
            raise ClassSplitError(
                f"{where}: {', '.join(overlap)} both seen and unseen; put each class on one side only"
            )
        for side, names in (("seen", self.seen), ("unseen", self.unseen)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ClassSplitError(f"{where}: {', '.join(dupes)} listed twice under {side!r}")
            for n in names:
                if n not in class_names:
                    hint = did_you_mean(n, class_names)
                    raise ClassSplitError(f"{where}: unknown {side} class {n!r}; {hint}")

    def indices(self, class_names: list[str]) -> tuple[list[int], list[int]]:
        """Column indices of the seen and unseen classes in ``class_names``."""
        self.validate(class_names)
        return [class_names.index(n) for n in self.seen], [class_names.index(n) for n in self.unseen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "seen": list(self.seen),
            "unseen": list(self.unseen),
            "generator": dict(self.generator),
            "keep_no_finding": list(self.keep_no_finding),
        }


def shipped_splits_dir() -> Path | None:
    """The class splits that ship with zsbench: the package ``zsbench.split_files`` (the source
    tree's ``splits/`` folder, mapped into the wheel by setup.py), else that folder itself in a
    checkout that was never installed."""
    spec = importlib.util.find_spec("zsbench.split_files")  # a data-only (namespace) package
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    source = Path(__file__).resolve().parents[2] / "splits"
    return source if source.is_dir() else None


def split_dirs() -> list[Path]:
    """Where named splits are looked up: $ZSBENCH_SPLITS_DIR, ./splits, the splits zsbench ships."""
    dirs = []
    if os.environ.get("ZSBENCH_SPLITS_DIR"):
        dirs.append(Path(os.environ["ZSBENCH_SPLITS_DIR"]))
    dirs.append(Path.cwd() / "splits")
    shipped = shipped_splits_dir()
    if shipped is not None and shipped not in dirs:
        dirs.append(shipped)
    return dirs


def available_splits() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in split_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                found.setdefault(p.stem, p)
    return found


def unseen_folder_name(split: ClassSplit) -> str:
    """A folder name for what depends on the split's unseen classes (one strict pretraining per split):
    the classes sorted and joined by ``+``; a sweep spec's ``{unseen}`` stands for it."""
    return "+".join(sorted(split.unseen))


def load_class_split(spec: str) -> ClassSplit:
    """Load a split by name (``synthetic-paper``) or by path to a YAML file."""
    path = Path(spec)
    if not (spec.endswith((".yaml", ".yml")) or path.is_file()):
        known = available_splits()
        if spec not in known:
            raise UnknownNameError("class split", spec, known)
        path = known[spec]
    if not path.is_file():
        raise ClassSplitError(f"class split file {spec} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ClassSplitError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as exc:
        raise ClassSplitError(f"cannot read class split {path}: {exc.strerror or exc.__class__.__name__}") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" line {line + 1}" if line is not None else ""
        raise ClassSplitError(f"{path}{at}: not valid YAML; fix the file") from None
    if not isinstance(raw, dict) or "seen" not in raw or "unseen" not in raw:
        raise ClassSplitError(f"{path}: needs 'seen:' and 'unseen:' lists of class names")
    data = SplitFile.parse(raw, path)
    return ClassSplit(
        keep_no_finding=tuple(data.keep_no_finding or ()),
        name=data.name if data.name is not None else path.stem,
        seen=tuple(data.seen),
        unseen=tuple(data.unseen),
        dataset=data.dataset,
        generator=dict(data.generator or {}),
        path=str(path),
    )
