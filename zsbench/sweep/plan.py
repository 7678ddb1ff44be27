"""A sweep's plan: every run's configuration and directory, recorded in ``<out>/sweep.json``."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zsbench import __version__
from zsbench.config import RunConfig
from zsbench.data.class_splits import ClassSplit
from zsbench.errors import UsageError
from zsbench.results import write_json
from zsbench.sweep.grid import SweepGrid, expand, random_splits, resolve_splits

PLAN_FILE = "sweep.json"
PLAN_FORMAT = 1
RUNS_FOLDER = "runs"
SPLITS_FOLDER = "splits"
HASH_CHARS = 8
#: the RunConfig fields that decide what runner.preflight checks (dataset metadata, split, k)
PREFLIGHT_FIELDS = ("dataset", "split", "n_images", "image_size", "data_seed", "root", "metadata",
                    "split_lists", "cache", "dataset_options", "ks")


@dataclass(frozen=True)
class PlannedRun:
    """One grid point: ``run_dir`` is relative to the sweep's folder (``runs/<key>-<hash>``)."""

    key: str
    run_dir: str
    config: RunConfig

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "run_dir": self.run_dir, "config": self.config.to_dict()}


@dataclass
class SweepPlan:
    out: Path
    grid: SweepGrid
    splits: list[dict[str, Any]]
    runs: list[PlannedRun]
    created: str
    zsbench_version: str = __version__

    def run_path(self, run: PlannedRun) -> Path:
        return self.out / run.run_dir

    def to_dict(self) -> dict[str, Any]:
        base = self.grid.base_config()
        return {
            "format": PLAN_FORMAT,
            "zsbench_version": self.zsbench_version,
            "created": self.created,
            "grid": self.grid.to_dict(),
            "seeds": {
                "run_seeds": sorted({r.config.seed for r in self.runs}),
                "data_seed": base.data_seed,
                "split_seed": self.grid.random.seed if self.grid.random else None,
            },
            "splits": self.splits,
            "runs": [r.to_dict() for r in self.runs],
        }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "_", text).strip("_")


def split_identity(split: ClassSplit) -> dict[str, Any]:
    """What of a split decides a run's result: its classes, not its name or where the file lies."""
    return {
        "dataset": split.dataset,
        "seen": sorted(split.seen),
        "unseen": sorted(split.unseen),
        "keep_no_finding": sorted(split.keep_no_finding),
    }


def run_hash(config: RunConfig, split: ClassSplit) -> str:
    """Short hash of a run's configuration; ``out`` and the split's file location leave it unchanged."""
    data = config.identity()
    data.pop("out")
    # runs planned before the input recipe had names and an auto default keep their hashes: the
    # recipes an older zsbench wrote as augment true/false, its defaults (shift, no tta) as auto,
    # and no channels field; a sweep's runs share these base fields, so auto never meets shift
    data["augment"] = {"shift": True, "none": False, "auto": True}.get(data["augment"], data["augment"])
    data["tta"] = "none" if data["tta"] == "auto" else data["tta"]
    if data["channels"] == "auto":
        del data["channels"]
    if not data["compile"]:
        del data["compile"]
    data["split"] = split_identity(split)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:HASH_CHARS]


def run_key(config: RunConfig, split: ClassSplit) -> str:
    parts = (config.method, config.backbone, config.text_encoder, config.class_text, split.name, f"s{config.seed}")
    return "-".join(_slug(str(p)) for p in parts)


def build_plan(grid: SweepGrid, out: Path, write_splits: bool = True) -> SweepPlan:
    """Expand the grid into runs under ``out``; random splits are drawn and (unless
    ``write_splits`` is False, as for a dry run) written to ``out/splits``. Every name is
    checked against the registries here, before anything runs."""
    from zsbench.runner import preflight, validate_names

    out = Path(out).resolve()
    base = grid.base_config()
    if grid.random is not None:
        if grid.splits:
            raise UsageError("give class splits either as a list or as random splits, not both")
        resolved = random_splits(grid.random, base, out / SPLITS_FOLDER, write=write_splits)
    else:
        resolved = resolve_splits(grid.splits or [base.split], base.dataset)
    by_spec = dict(resolved)
    runs: list[PlannedRun] = []
    checked: set[str] = set()
    for template in expand(grid, [spec for spec, _ in resolved], str(out / RUNS_FOLDER)):
        split = by_spec[template.split]
        config = template.bound_to(split)
        validate_names(config)
        metadata = {k: getattr(config, k) for k in PREFLIGHT_FIELDS}
        if (marker := json.dumps(metadata, sort_keys=True, default=str)) not in checked:
            preflight(config, split)  # bad dataset settings or k fail here, before any run, not in every run
            checked.add(marker)
        key = run_key(template, split)
        runs.append(PlannedRun(key, f"{RUNS_FOLDER}/{key}-{run_hash(config, split)}", config))
    dirs = [r.run_dir for r in runs]
    if len(set(dirs)) != len(dirs):  # only identical configurations collide, and axes refuse duplicates
        raise UsageError("two grid points describe the same run; remove the duplicate values")
    splits = [{"spec": spec, "name": s.name, "seen": list(s.seen), "unseen": list(s.unseen)} for spec, s in resolved]
    return SweepPlan(out, grid, splits, runs, datetime.now(UTC).isoformat(timespec="seconds"))


def write_plan(plan: SweepPlan) -> Path:
    path = plan.out / PLAN_FILE
    write_json(path, plan.to_dict())
    return path


def load_plan(out: str | Path) -> SweepPlan:
    """The plan in ``out/sweep.json``, for ``--resume``; run folders are taken relative to ``out``."""
    out = Path(out).resolve()
    path = out / PLAN_FILE
    if not path.is_file():
        raise UsageError(f"{out} has no {PLAN_FILE}; is it a zsbench sweep folder?")
    try:
        data = json.loads(path.read_text())
        if data.get("format") != PLAN_FORMAT:
            raise UsageError(f"{path} has plan format {data.get('format')!r}; this zsbench reads {PLAN_FORMAT}")
        grid = SweepGrid.from_dict(data["grid"], where=str(path))
        runs = [PlannedRun(r["key"], r["run_dir"], RunConfig.from_dict(r["config"])) for r in data["runs"]]
        return SweepPlan(out, grid, data["splits"], runs, data["created"], data["zsbench_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is damaged ({exc.__class__.__name__}); plan the sweep again") from None
