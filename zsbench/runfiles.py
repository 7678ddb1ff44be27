"""A finished run as stored on disk: result.json and scores.npz, read with one-line errors.

Shared by ``rescore`` and ``leaderboard``: each error names the file and what is wrong with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import UsageError

RESULT_NAME = "result.json"
SCORES_NAME = "scores.npz"


@dataclass
class StoredRun:
    """One run's result.json plus its test scores; ``scores`` and ``labels`` are n x C."""

    run_dir: Path
    result: dict[str, Any]
    image_ids: np.ndarray
    class_names: list[str]
    scores: np.ndarray
    labels: np.ndarray

    @property
    def result_path(self) -> Path:
        return self.run_dir / RESULT_NAME

    def columns(self) -> tuple[list[int], list[int]]:
        """Column indices (in scores.npz) of the run's seen and unseen classes."""
        classes = self.result["classes"]
        cols = []
        for side in ("seen", "unseen"):
            missing = [n for n in classes[side] if n not in self.class_names]
            if missing:
                raise UsageError(f"{self.run_dir / SCORES_NAME}: has no column for {side} class {missing[0]!r} "
                                 f"named in {RESULT_NAME}; the run is inconsistent")
            cols.append([self.class_names.index(n) for n in classes[side]])
        return cols[0], cols[1]


def result_field(data: dict[str, Any], dotted: str, kind: type | tuple[type, ...], path: Path) -> Any:
    """``data["a"]["b"]`` for ``"a.b"``, or a one-line error naming the file and the field."""
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise UsageError(f"{path}: malformed result, '{dotted}' is missing")
        value = value[part]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"{path}: malformed result, '{dotted}' has the wrong type ({type(value).__name__})")
    return value


def read_result(path: Path) -> dict[str, Any]:
    """A result.json with the parts every reader needs (classes, metrics, config) checked."""
    try:
        result = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} is missing; {path.parent} is not a finished run") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as JSON ({exc.__class__.__name__})") from None
    if not isinstance(result, dict):
        raise UsageError(f"{path}: malformed result, not a JSON object")
    for name in ("all", "seen", "unseen"):
        names = result_field(result, f"classes.{name}", list, path)
        if not all(isinstance(n, str) for n in names):
            raise UsageError(f"{path}: malformed result, 'classes.{name}' must list class names")
    result_field(result, "metrics", dict, path)
    result_field(result, "config", dict, path)
    return result


SCORE_ARRAYS = ("image_ids", "class_names", "scores", "labels")


def read_scores(path: Path) -> tuple[np.ndarray, list[str], np.ndarray, np.ndarray]:
    """(image ids, class names, scores, labels) from a scores.npz, checked for shape and NaN."""
    if not path.is_file():
        raise UsageError(f"{path} is missing; {path.parent} is not a finished run")
    try:
        with np.load(path, allow_pickle=False) as npz:
            absent = [key for key in SCORE_ARRAYS if key not in npz.files]
            if absent:
                raise UsageError(f"{path}: malformed scores file, no {absent[0]!r} array "
                                 f"(it has {', '.join(npz.files) or 'none'}); run it again")
            ids, names = npz["image_ids"], [str(c) for c in npz["class_names"]]
            scores, labels = np.asarray(npz["scores"]), np.asarray(npz["labels"])
    except UsageError:
        raise
    except Exception as exc:  # zip, zlib, pickle and header errors all mean a damaged file
        raise UsageError(f"{path}: damaged scores file ({exc.__class__.__name__})") from None
    if scores.ndim != 2 or scores.shape != labels.shape or scores.shape != (len(ids), len(names)):
        raise UsageError(f"{path}: malformed scores file, scores {scores.shape}, labels {labels.shape}, "
                         f"{len(ids)} image ids and {len(names)} class names do not agree")
    if not np.isfinite(scores).all():
        raise UsageError(f"{path}: malformed scores file, scores contain NaN or inf")
    return ids, names, scores, labels


def read_stored_run(run_dir: str | Path, result_path: Path | None = None) -> StoredRun:
    """result.json and the scores.npz beside it; their class lists must agree."""
    d = Path(run_dir)
    if not d.is_dir():
        raise UsageError(f"no run directory at {d}")
    result = read_result(result_path or d / RESULT_NAME)
    ids, names, scores, labels = read_scores(d / SCORES_NAME)
    if names != result["classes"]["all"]:
        raise UsageError(f"{d / SCORES_NAME}: its class names differ from classes.all in {RESULT_NAME}; "
                         "the run is inconsistent")
    return StoredRun(d, result, ids, names, scores, labels)
