"""What a sweep's folder already holds: a run is complete iff its result.json exists (and it must
have been measured on the current synthetic world, and have embedded its current descriptions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from zsbench.data.synthetic.world import GENERATOR, WORLD_VERSION, world_classes
from zsbench.errors import UsageError
from zsbench.metrics import SUH
from zsbench.text.class_texts import embedded_texts

RunState = Literal["complete", "partial", "fresh"]
RESULT_FILE = "result.json"
RESUME_FILE = "last.pt"
SUMMARY_METRICS = SUH


def run_state(run_dir: Path) -> RunState:
    """``complete`` (result.json), ``partial`` (an epoch finished: last.pt) or ``fresh``."""
    if (run_dir / RESULT_FILE).is_file():
        return "complete"
    if (run_dir / RESUME_FILE).is_file():
        return "partial"
    return "fresh"


def completed_runs(out: Path) -> list[Path]:
    """Run folders under ``out/runs`` that hold a result.json."""
    return sorted(p.parent for p in Path(out).glob(f"runs/*/{RESULT_FILE}"))


def refuse_completed(out: Path) -> None:
    """A new sweep must not silently mix with finished runs of an earlier one."""
    done = completed_runs(out)
    if done:
        raise UsageError(
            f"{out} already holds {len(done)} completed run(s); pass --skip-existing to keep them "
            "and run the rest, or choose another --out"
        )


def read_result_or_empty(run_dir: Path) -> dict[str, Any]:
    """A completed run's result.json, read once for all that a sweep checks in it; ``{}`` when it
    cannot be read (the run then shows no metrics)."""
    try:
        result = json.loads((run_dir / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return result if isinstance(result, dict) else {}


def stale_world_version(result: dict[str, Any]) -> int | None:
    """The synthetic world version a completed run was measured on, when it is not the current one
    (results written before versions were recorded count as version 1)."""
    dataset = result.get("dataset")
    if not isinstance(dataset, dict) or dataset.get("generator") != GENERATOR:
        return None
    version = dataset.get("world_version", 1)
    return None if version == WORLD_VERSION else version


def stale_class_texts(result: dict[str, Any]) -> bool:
    """Whether a completed run of the synthetic world embedded class texts that the world no longer
    writes (its descriptions changed since): the run measured other descriptions. Runs whose text
    encoder ignores text (attributes, random vectors) record none and never go stale this way."""
    dataset, classes = result.get("dataset"), result.get("classes")
    if not isinstance(dataset, dict) or dataset.get("generator") != GENERATOR or not isinstance(classes, dict):
        return False
    recorded = classes.get("texts")
    if recorded is None:
        return False
    by_name = {c.name: c for c in world_classes()}
    names = classes.get("all") or []
    if not all(isinstance(n, str) and n in by_name for n in names):
        return True
    mode = (result.get("config") or {}).get("class_text", "description")
    try:
        return recorded != embedded_texts([by_name[n] for n in names], mode)
    except UsageError:  # a class-text mode this zsbench does not know
        return True


def refuse_stale_runs(completed: dict[Path, dict[str, Any]]) -> None:
    """Keeping runs of an older synthetic world, or of its older descriptions, would mix two
    different benchmarks in one sweep. ``completed`` maps each completed run's folder to its
    result.json."""
    stale = [(path, version) for path, result in completed.items()
             if (version := stale_world_version(result)) is not None]
    if stale:
        path, version = stale[0]
        raise UsageError(
            f"{len(stale)} completed run(s), e.g. {path}, were measured on synthetic world version {version}, "
            f"but this zsbench draws version {WORLD_VERSION}; move them away or choose another --out"
        )
    old_texts = [path for path, result in completed.items() if stale_class_texts(result)]
    if old_texts:
        raise UsageError(
            f"{len(old_texts)} completed run(s), e.g. {old_texts[0]}, embedded synthetic class descriptions that "
            "this zsbench no longer writes (their result.json's classes.texts); move them away or choose another --out"
        )


def summary_metrics(result: dict[str, Any]) -> dict[str, float | None]:
    metrics = result.get("metrics") or {}
    return {name: metrics.get(name) for name in SUMMARY_METRICS}
