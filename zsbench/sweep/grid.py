"""A sweep's grid: methods x backbones x text encoders x class texts x class splits x seeds."""

from __future__ import annotations

import fnmatch
import glob
import itertools
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from zsbench.config import RunConfig
from zsbench.data.class_splits import ClassSplit, available_splits, load_class_split
from zsbench.errors import UsageError, close_matches
from zsbench.options import first_problem, unknown_keys

#: grid axis -> the RunConfig field it varies, in the order the grid is expanded
AXES = {
    "methods": "method",
    "backbones": "backbone",
    "text_encoders": "text_encoder",
    "class_texts": "class_text",
    "splits": "split",
    "seeds": "seed",
}
GLOB_CHARS = "*?["


def _refusal(exc: pydantic.ValidationError, model: type[BaseModel], where: str, unknown_where: str) -> UsageError:
    """The one-line error of a sweep file's section: its unknown keys with the known ones and a
    did-you-mean, else the first bad value."""
    known = list(model.model_fields)
    unknown = unknown_keys(exc)
    if unknown:
        return UsageError(f"{unknown_where} {', '.join(unknown)}; known: {', '.join(known)}"
                          f"{close_matches(unknown[0], known)}")
    problem = first_problem(exc)
    return UsageError(f"{where}{problem.key}: {problem.message} (got {problem.input!r})")


class RandomSplits(BaseModel):
    """``count`` random class splits of ``n_unseen`` unseen classes, drawn with ``seed``
    (``zsbench.data.random_splits.make_random_splits``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int
    n_unseen: int = 4
    seed: int = 0
    min_coverage: float | None = None  # every unseen class's attributes at least this share shown by seen ones

    @classmethod
    def from_dict(cls, data: Any) -> RandomSplits:
        if not isinstance(data, dict):
            raise UsageError("sweep config 'random:' must be a mapping with count, n_unseen and seed")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            if not unknown_keys(exc) and first_problem(exc).kind == "missing":
                raise UsageError("sweep config 'random:' needs count") from None
            raise _refusal(exc, cls, "sweep config 'random:' ", "unknown keys under 'random:':") from None


class SweepGrid(BaseModel):
    """The axes of a sweep (an empty axis takes its single value from ``base``, else RunConfig's
    default) and ``base``, the RunConfig fields every run shares. A sweep file holds these keys."""

    model_config = ConfigDict(extra="forbid")

    methods: list[str] = Field(default_factory=list)
    backbones: list[str] = Field(default_factory=list)
    text_encoders: list[str] = Field(default_factory=list)
    class_texts: list[str] = Field(default_factory=list)
    splits: list[str] = Field(default_factory=list)  # names, YAML paths or glob patterns
    seeds: list[int] = Field(default_factory=list)
    random: RandomSplits | None = None
    base: dict[str, Any] = Field(default_factory=dict)

    @field_validator("methods", "backbones", "text_encoders", "class_texts", "splits", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        return [] if value is None else value if isinstance(value, list) else [value]

    @field_validator("random", mode="before")
    @classmethod
    def _random(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, RandomSplits) else RandomSplits.from_dict(value)

    @field_validator("base", mode="before")
    @classmethod
    def _base(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise UsageError("'base:' must be a mapping of RunConfig fields")
        return value

    @classmethod
    def from_dict(cls, data: Any, where: str = "sweep config") -> SweepGrid:
        if not isinstance(data, dict):
            raise UsageError(f"{where} must be a mapping (methods:, splits:, seeds:, base: ...)")
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise _refusal(exc, cls, f"{where}: ", f"{where}: unknown keys") from None
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> SweepGrid:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise UsageError(f"sweep config {path} is not UTF-8 text; save it as UTF-8") from None
        except (OSError, yaml.YAMLError) as exc:
            raise UsageError(f"cannot read sweep config {path}: {exc.__class__.__name__}") from None
        return cls.from_dict(raw or {}, where=f"sweep config {path}")

    def base_config(self) -> RunConfig:
        """``base`` as a RunConfig (unknown fields and bad values are refused here)."""
        for axis, name in AXES.items():
            if name in self.base and (getattr(self, axis) or (axis == "splits" and self.random)):
                raise UsageError(f"{name!r} is given both in base and as the grid axis {axis!r}; keep one")
        if "out" in self.base:
            raise UsageError("'out' cannot be set in base: a sweep places its runs under --out")
        return RunConfig.from_dict(self.base)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{axis: list(getattr(self, axis)) for axis in AXES},
            "random": None if self.random is None else self.random.model_dump(),
            "base": dict(self.base),
        }


def _no_duplicates(axis: str, values: list[Any]) -> None:
    dupes = sorted({str(v) for v in values if values.count(v) > 1})
    if dupes:
        raise UsageError(f"the sweep lists {', '.join(dupes)} more than once under {axis}")


def _split_for_dataset(split: ClassSplit, dataset: str) -> bool:
    return not split.dataset or split.dataset == dataset


def resolve_splits(patterns: list[str], dataset: str) -> list[tuple[str, ClassSplit]]:
    """(spec, split) for the runs: names stay names, files become absolute paths, and a glob
    (``synthetic-*`` over the split folders, ``splits/*.yaml`` over files) expands to the splits
    it matches that are made for ``dataset``. Unknown names and bad files fail here, before any run."""
    specs: list[str] = []
    for pattern in patterns:
        is_path = "/" in pattern or pattern.endswith((".yaml", ".yml"))
        if any(c in pattern for c in GLOB_CHARS):
            if is_path:
                matches = [str(Path(p).resolve()) for p in sorted(glob.glob(pattern))]
            else:
                matches = [n for n in sorted(available_splits()) if fnmatch.fnmatchcase(n, pattern)]
            matches = [m for m in matches if _split_for_dataset(load_class_split(m), dataset)]
            if not matches:
                raise UsageError(f"--splits {pattern!r} matches no class split for dataset {dataset!r}")
            specs.extend(matches)
        else:
            specs.append(str(Path(pattern).resolve()) if is_path or Path(pattern).is_file() else pattern)
    _no_duplicates("splits", specs)
    resolved = [(spec, load_class_split(spec)) for spec in specs]
    for _spec, split in resolved:
        if not _split_for_dataset(split, dataset):
            raise UsageError(f"class split {split.name!r} is for dataset {split.dataset!r}, not {dataset!r}")
    return resolved


def random_splits(random: RandomSplits, base: RunConfig, folder: Path,
                  write: bool = True) -> list[tuple[str, ClassSplit]]:
    """Draw the random splits on the dataset's table; (absolute YAML path in ``folder``, split)
    for each, written there unless ``write`` is False. The same seed draws the same splits."""
    from zsbench.data.random_splits import make_random_splits, write_split_file
    from zsbench.runner import create_dataset

    table = create_dataset(base).table()
    resolved = []
    classes = create_dataset(base).classes() if random.min_coverage is not None else None
    for split in make_random_splits(table, base.dataset, random.n_unseen, random.count, random.seed,
                                    classes, random.min_coverage):
        path = (folder / f"{split.name}.yaml").resolve()
        if write:
            write_split_file(split, path)
        resolved.append((str(path), split))
    return resolved


def expand(grid: SweepGrid, splits: list[str], out: str) -> list[RunConfig]:
    """Every combination of the axes, in AXES order, as RunConfigs built on ``grid.base``,
    with ``splits`` as the split axis and ``out`` as every run's output folder."""
    base = {**grid.base_config().to_dict(), "out": out}
    axes: list[list[Any]] = []
    for axis, name in AXES.items():
        values = splits if axis == "splits" else getattr(grid, axis)
        values = list(values) or [base[name]]
        _no_duplicates(axis, values)
        axes.append(values)
    names = list(AXES.values())
    return [RunConfig.from_dict({**base, **dict(zip(names, combo, strict=True))})
            for combo in itertools.product(*axes)]
