"""Metrics of the ML-GZSL literature, as pure numpy functions (REFERENCE.md section 6).

``labels`` are 0/1 with NaN meaning unknown: an unknown entry is left out of that class's AUROC and
cannot be marked in that image's top-k.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: bumped whenever a metric's definition changes; result.json records it, `zsbench rescore` moves
#: metrics of an older version into the result's history
#: 2: per-class average precision and mAP over seen, unseen and all classes; auroc_unseen_covered
METRICS_VERSION = 2
#: The summary AUROC keys of :func:`evaluate`: seen, unseen and harmonic (S, U, H).
SUH = ("auroc_seen", "auroc_unseen", "auroc_harmonic")
#: The mean average precision keys of :func:`evaluate`: over seen, unseen and all scored classes.
MAP_KEYS = ("map_seen", "map_unseen", "map_all")
#: Mean unseen AUROC over the unseen classes whose attributes seen classes fully show (synthetic world).
COVERED_KEY = "auroc_unseen_covered"


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as in the Mann-Whitney U statistic)."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    # boundaries of runs of equal values
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_vals)) + 1]
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return ranks


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve for one class; NaN labels are ignored.

    NaN when the class has no positive or no negative: the area is undefined then.
    Computed as the Mann-Whitney statistic, so a tie between a positive and a negative counts 1/2.
    """
    known = ~np.isnan(labels)
    y, s = labels[known] > 0, scores[known].astype(np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision for one class, NaN labels ignored: the sum over score thresholds of
    (recall gained) x (precision there), a threshold per distinct score, so tied images enter
    together (scikit-learn's ``average_precision_score``). NaN when the class has no positive."""
    known = ~np.isnan(labels)
    y, s = labels[known] > 0, scores[known].astype(np.float64)
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # where each threshold's images end
    tp = np.cumsum(y)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if len(arr) else float("nan")


def harmonic_mean(a: float, b: float) -> float:
    if np.isnan(a) or np.isnan(b) or a + b == 0:
        return float("nan")
    return 2.0 * a * b / (a + b)


def top_k_counts(scores: np.ndarray, labels: np.ndarray, k: int) -> tuple[int, int, int]:
    """(true positives, marked, positives) summed over images, marking each image's k best classes.

    Unknown labels are excluded from ranking. Ties are broken by column order (lower index first),
    which makes the result deterministic.
    """
    known = ~np.isnan(labels)
    masked = np.where(known, scores.astype(np.float64), -np.inf)
    # stable sort on the negated scores keeps the lower column first among equal scores
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(scores))[:, None]
    marked = known[rows, order]
    positive = np.nan_to_num(labels, nan=0.0) > 0
    tp = int((positive[rows, order] & marked).sum())
    return tp, int(marked.sum()), int(positive.sum())


def evaluate(
    scores: np.ndarray,
    labels: np.ndarray,
    seen: Sequence[int],
    unseen: Sequence[int],
    ks: Sequence[int] = (2, 3),
    covered: Sequence[int] | None = None,
) -> dict[str, object]:
    """S / U / H AUROC, per-class AUROC and average precision, mAP over seen, unseen and all
    classes, and overall p/r/f1@k over all (seen + unseen) classes.

    ``scores`` and ``labels`` are n x C; ``seen`` and ``unseen`` are column indices. Per-class AUROC
    and AP have length C with NaN where a class has no positive (AUROC: or no negative), or is in
    neither list; NaN classes are left out of the means. ``covered``: the unseen columns whose
    attributes seen classes fully show (zsbench.data.coverage); their mean AUROC is
    ``auroc_unseen_covered`` (left out when ``covered`` is None, NaN when it is empty).
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be the same n x C")
    seen, unseen = list(seen), list(unseen)
    if set(seen) & set(unseen):
        raise ValueError("seen and unseen column indices overlap")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    per_class = [
        auroc(scores[:, c], labels[:, c]) if c in seen or c in unseen else float("nan")
        for c in range(scores.shape[1])
    ]
    ap = [
        average_precision(scores[:, c], labels[:, c]) if c in seen or c in unseen else float("nan")
        for c in range(scores.shape[1])
    ]
    s = _nanmean([per_class[c] for c in seen])
    u = _nanmean([per_class[c] for c in unseen])
    result: dict[str, object] = {
        "auroc_seen": s,
        "auroc_unseen": u,
        "auroc_harmonic": harmonic_mean(s, u),
        "auroc_per_class": per_class,
        "map_seen": _nanmean([ap[c] for c in seen]),
        "map_unseen": _nanmean([ap[c] for c in unseen]),
        "map_all": _nanmean([ap[c] for c in seen + unseen]),
        "ap_per_class": ap,
    }
    if covered is not None:
        if not set(covered) <= set(unseen):
            raise ValueError("covered columns must be unseen columns")
        result["auroc_unseen_covered"] = _nanmean([per_class[c] for c in covered])
    columns = sorted(seen + unseen)
    for k in ks:
        tp, marked, pos = top_k_counts(scores[:, columns], labels[:, columns], k)
        p = tp / marked if marked else float("nan")
        r = tp / pos if pos else float("nan")
        result[f"p@{k}"] = p
        result[f"r@{k}"] = r
        if np.isnan(p) or np.isnan(r):
            result[f"f1@{k}"] = float("nan")
        else:
            result[f"f1@{k}"] = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return result
