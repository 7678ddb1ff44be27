"""Per-class decision thresholds for a target sensitivity or specificity, stored beside a checkpoint.

The paper suggests letting clinicians choose operating points by sensitivity and specificity. For
each class we pick the *tightest* threshold that reaches the target on the labelled validation set:
the achieved value is at least the target and exceeds it by less than one positive (or negative)
image, barring tied scores. A threshold belongs to a (class name, class text) pair: a class scored
from a different description is a different classifier, so it is reported as not calibrated.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from zsbench import __version__
from zsbench.errors import UsageError
from zsbench.results import write_json

CALIBRATION_FORMAT = "zsbench-calibration"
CALIBRATION_FORMAT_VERSION = 1
TARGETS = ("sensitivity", "specificity")


@dataclass
class ClassThreshold:
    name: str
    text: str | None
    threshold: float | None  # None: could not be calibrated (see note)
    sensitivity: float | None  # achieved on the validation set
    specificity: float | None
    n_pos: int
    n_neg: int
    note: str = ""


@dataclass
class Calibration:
    target: str  # sensitivity | specificity
    value: float
    checkpoint: str
    checkpoint_sha256: str
    validation: dict[str, Any]
    classes: list[ClassThreshold]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    zsbench_version: str = __version__

    def threshold_for(self, name: str, text: str | None) -> float | None:
        for c in self.classes:
            if c.name == name and c.text == text:
                return c.threshold
        return None

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "value": self.value, "validation": self.validation,
                "created": self.created}

    def to_dict(self) -> dict[str, Any]:
        return {"format": CALIBRATION_FORMAT, "format_version": CALIBRATION_FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Calibration:
        if data.get("format") != CALIBRATION_FORMAT or data.get("format_version") != CALIBRATION_FORMAT_VERSION:
            raise UsageError(f"{where} is not a zsbench calibration file of format {CALIBRATION_FORMAT_VERSION}")
        try:
            classes = [ClassThreshold(**c) for c in data["classes"]]
            return cls(data["target"], float(data["value"]), data["checkpoint"], data["checkpoint_sha256"],
                       dict(data["validation"]), classes, data["created"], data["zsbench_version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{where} is damaged ({exc.__class__.__name__}: {exc})") from None


def calibration_path(checkpoint_path: Path) -> Path:
    """``runs/<id>/best.pt`` -> ``runs/<id>/best.calibration.json``."""
    return checkpoint_path.with_name(checkpoint_path.stem + ".calibration.json")


def _midpoint_below(all_scores: np.ndarray, edge: float) -> float:
    """A threshold just below ``edge``: halfway to the next lower score, so rescoring noise at the
    last float bit cannot flip a call."""
    lower = all_scores[all_scores < edge]
    return float((edge + lower.max()) / 2) if lower.size else float(np.nextafter(edge, -np.inf))


def _midpoint_above(all_scores: np.ndarray, edge: float) -> float:
    higher = all_scores[all_scores > edge]
    return float((edge + higher.min()) / 2) if higher.size else float(np.nextafter(edge, np.inf))


def choose_threshold(scores: np.ndarray, labels: np.ndarray, target: str, value: float) -> tuple[float | None, str]:
    """Tightest threshold with sensitivity (or specificity) >= value; ``score >= threshold`` = present."""
    known = ~np.isnan(labels)
    s = scores[known].astype(np.float64)
    y = labels[known] > 0.5
    pos, neg = np.sort(s[y])[::-1], np.sort(s[~y])
    if target == "sensitivity":
        if pos.size == 0:
            return None, "no positives to calibrate on"
        k = max(1, math.ceil(value * pos.size - 1e-9))  # positives that must score >= threshold
        return _midpoint_below(s, float(pos[k - 1])), ""
    if neg.size == 0:
        return None, "no negatives to calibrate on"
    k = max(1, math.ceil(value * neg.size - 1e-9))  # negatives that must score < threshold
    return _midpoint_above(s, float(neg[k - 1])), ""


def rates(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float | None, float | None]:
    """(sensitivity, specificity) of ``score >= threshold`` on the known labels."""
    known = ~np.isnan(labels)
    y, called = labels[known] > 0.5, scores[known] >= threshold
    sens = float(called[y].mean()) if y.any() else None
    spec = float((~called[~y]).mean()) if (~y).any() else None
    return sens, spec


def calibrate(ckpt: Any, data: Any, target: str, value: float, queries: list[Any] | None = None) -> Calibration:
    """Thresholds for every requested class (default: every checkpoint class) that ``data`` labels."""
    import torch

    from zsbench.engine.trainer import score_images
    from zsbench.predict import ClassQuery, resolve_classes

    if target not in TARGETS:
        raise UsageError(f"calibration target must be one of {', '.join(TARGETS)} (got {target!r})")
    if not 0.0 < value <= 1.0:
        raise UsageError(f"target {target} must be in (0, 1] (got {value}); e.g. 0.9 for 90%")
    if queries is None:  # every checkpoint class that the validation data has a label column for
        queries = [ClassQuery(n) for n in ckpt.meta.class_names if data.column(n) is not None]
    unlabelled = [q.name for q in queries if data.column(q.name) is None]
    if unlabelled or not queries:
        raise UsageError(
            f"no labels for {', '.join(unlabelled) or 'any class'} in {data.source}; "
            f"it labels: {', '.join(data.class_names)}"
        )
    classes, embeddings = resolve_classes(ckpt, queries)
    scores = score_images(ckpt.model, data.pixels, torch.from_numpy(embeddings).to(ckpt.device))
    out = []
    for c, cls in enumerate(classes):
        labels = data.column(cls.name)
        assert labels is not None
        known = labels[~np.isnan(labels)]
        n_pos, n_neg = int((known > 0.5).sum()), int((known <= 0.5).sum())
        threshold, note = choose_threshold(scores[:, c], labels, target, value)
        sens, spec = rates(scores[:, c], labels, threshold) if threshold is not None else (None, None)
        out.append(ClassThreshold(cls.name, cls.text, threshold, sens, spec, n_pos, n_neg, note))
    return Calibration(target, value, ckpt.path.name, ckpt.sha256,
                       {"source": data.source, "n_images": len(data.ids)}, out)


def save_calibration(calibration: Calibration, path: Path) -> None:
    write_json(path, calibration.to_dict())


def load_calibration(path: Path, checkpoint_sha256: str) -> Calibration:
    """Read a calibration and make sure it was made for this very checkpoint file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read calibration {path} ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a zsbench calibration file")
    cal = Calibration.from_dict(data, str(path))
    if cal.checkpoint_sha256 != checkpoint_sha256:
        raise UsageError(
            f"calibration {path} was made for another checkpoint (sha256 {cal.checkpoint_sha256[:12]}...); "
            "rerun `zsbench calibrate` for this one"
        )
    return cal

