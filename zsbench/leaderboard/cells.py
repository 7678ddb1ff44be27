"""Column names and number formatting shared by the leaderboard's output formats."""

from __future__ import annotations

import math

from zsbench.leaderboard.aggregate import ClassStat, GroupRow, Stat
from zsbench.metrics import SUH

#: (attribute of GroupKey, column header)
KEY_COLUMNS = (("dataset", "dataset"), ("protocol", "protocol"), ("method", "method"),
               ("backbone", "backbone"), ("text_encoder", "text encoder"), ("class_text", "class text"),
               ("epochs", "epochs"))
NOT_ZERO_SHOT = "not zero-shot"
FLAG_NOTE = "not zero-shot: an upper bound trained on every class, unseen ones included"
TRAINING_FREE = "training-free"
TRAINING_FREE_NOTE = "training-free: no label was used, the classes are scored from prompts alone"
SHORT = {"auroc_seen": "S", "auroc_unseen": "U", "auroc_harmonic": "H",
         "map_seen": "mAP-S", "map_unseen": "mAP-U", "map_all": "mAP", "auroc_unseen_covered": "U-cov"}


def label(metric: str) -> str:
    """S, U, H for the AUROCs, mAP-S, mAP-U, mAP for the mean APs; the metric's own name otherwise (f1@3)."""
    return SHORT.get(metric, metric)


def num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def mean_std(stat: Stat, pm: str = " ± ") -> str:
    """``0.612 ± 0.012``; the mean alone when there is one run."""
    if not math.isfinite(stat.std):
        return num(stat.mean)
    return f"{num(stat.mean)}{pm}{num(stat.std)}"


def ci_text(ci: list[float]) -> str:
    if not all(math.isfinite(v) for v in ci):
        return "n/a"
    return f"[{num(ci[0])}, {num(ci[1])}]"


def class_cell(stat: ClassStat) -> str:
    """``U 0.712`` / ``S 0.690`` / both when random splits put the class on either side."""
    parts = [f"{side[0].upper()} {num(s.mean)}" for side, s in (("seen", stat.seen), ("unseen", stat.unseen))
             if s.n]
    if stat.coverage.n:  # the share of its attributes that seen classes showed, where it was unseen
        parts[-1] += f" (cov {num(stat.coverage.mean, 2)})"
    return " / ".join(parts) or "n/a"


def key_values(row: GroupRow, flag: str | None = f" ({NOT_ZERO_SHOT})") -> list[str]:
    """The group's key columns; ``flag`` is appended to the method of a row that is not zero-shot."""
    values = [getattr(row.key, attr) for attr, _ in KEY_COLUMNS]
    if flag is not None and not row.zero_shot:
        values[2] += flag
    if flag is not None and not row.trained_on_labels:
        values[2] += f" ({TRAINING_FREE})"
    return values


CI_METRICS = SUH
