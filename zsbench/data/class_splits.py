"""Seen/unseen class splits, stored as YAML files in the project's ``splits/`` folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zsbench.errors import ClassSplitError, UnknownNameError, did_you_mean


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


def split_dirs() -> list[Path]:
    """Where named splits are looked up: $ZSBENCH_SPLITS_DIR, ./splits, the project's splits/."""
    dirs = []
    if os.environ.get("ZSBENCH_SPLITS_DIR"):
        dirs.append(Path(os.environ["ZSBENCH_SPLITS_DIR"]))
    dirs.append(Path.cwd() / "splits")
    dirs.append(Path(__file__).resolve().parents[2] / "splits")
    return dirs


def available_splits() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in split_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                found.setdefault(p.stem, p)
    return found


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
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" line {line + 1}" if line is not None else ""
        raise ClassSplitError(f"{path}{at}: not valid YAML; fix the file") from None
    if not isinstance(raw, dict) or "seen" not in raw or "unseen" not in raw:
        raise ClassSplitError(f"{path}: needs 'seen:' and 'unseen:' lists of class names")
    for key in ("seen", "unseen"):
        if not isinstance(raw[key], list) or not all(isinstance(x, str) for x in raw[key]):
            raise ClassSplitError(f"{path}: '{key}:' must be a list of class names")
    keep = raw.get("keep_no_finding") or []
    if not isinstance(keep, list) or not set(keep) <= {"train", "val", "test"}:
        raise ClassSplitError(f"{path}: 'keep_no_finding:' must list parts among train, val, test")
    return ClassSplit(
        keep_no_finding=tuple(keep),
        name=str(raw.get("name", path.stem)),
        seen=tuple(raw["seen"]),
        unseen=tuple(raw["unseen"]),
        dataset=raw.get("dataset"),
        generator=dict(raw.get("generator") or {}),
        path=str(path),
    )
