"""The leaderboard's two figures as PNG bytes (matplotlib's Agg canvas; no pyplot, no global state)."""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from zsbench.leaderboard.aggregate import GroupRow, Leaderboard
from zsbench.leaderboard.cells import NOT_ZERO_SHOT, label
from zsbench.metrics import SUH

COLOURS = {"auroc_seen": "#0969da", "auroc_unseen": "#8250df", "auroc_harmonic": "#1a7f37"}
DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def group_label(row: GroupRow) -> str:
    text = f"{row.id} {row.key.method}\n{row.key.backbone} / {row.key.text_encoder}\n{row.key.protocol}"
    return text + ("" if row.zero_shot else f"\n({NOT_ZERO_SHOT})")


def _nan0(v: float) -> float:
    return v if math.isfinite(v) else 0.0


def suh_png(board: Leaderboard) -> bytes:
    """S, U and H of each group: bars at the mean over runs, error bars the bootstrap CI."""
    n = len(board.rows)
    fig = Figure(figsize=(max(6.0, 1.6 * n + 2), 4.8), layout="constrained")
    ax = fig.add_subplot()
    x, width = np.arange(n), 0.26
    for j, metric in enumerate(SUH):
        means = np.array([r.stats[metric].mean for r in board.rows])
        los = np.array([r.ci[metric][0] for r in board.rows])
        his = np.array([r.ci[metric][1] for r in board.rows])
        err = np.vstack([np.clip(means - los, 0, None), np.clip(his - means, 0, None)])
        err = np.where(np.isfinite(err), err, 0.0)
        bars = ax.bar(x + (j - 1) * width, [_nan0(m) for m in means], width, yerr=err, capsize=3,
                      color=COLOURS[metric], label=f"{label(metric)} ({metric.split('_')[1]})")
        for bar, row in zip(bars, board.rows, strict=True):
            if not row.zero_shot:
                bar.set_hatch("//")
                bar.set_edgecolor("white")
    ax.set_xticks(x, [group_label(r) for r in board.rows], fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="#afb8c1", linestyle="--", linewidth=1)
    ax.set_ylabel("AUROC (test)")
    ax.set_title(f"{board.title}: mean over runs, {board.bootstrap.level:.0%} bootstrap CI", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def per_class_png(board: Leaderboard) -> bytes:
    """Mean AUROC per class and group: filled markers where the class was unseen, hollow where seen."""
    n_cls, n_rows = len(board.classes), len(board.rows)
    fig = Figure(figsize=(max(7.0, 0.6 * n_cls + 3), 4.8), layout="constrained")
    ax = fig.add_subplot()
    cmap = [f"C{i % 10}" for i in range(n_rows)]
    offsets = np.linspace(-0.3, 0.3, n_rows) if n_rows > 1 else np.zeros(1)
    for k, row in enumerate(board.rows):
        for side, filled in (("seen", False), ("unseen", True)):
            xs = [i + offsets[k] for i, c in enumerate(row.per_class) if getattr(c, side).n]
            ys = [getattr(c, side).mean for c in row.per_class if getattr(c, side).n]
            name = f"{row.id} {row.key.method} / {row.key.backbone} / {row.key.text_encoder}"
            ax.scatter(xs, ys, s=36, marker="o", edgecolors=cmap[k], linewidths=1.4,
                       facecolors=cmap[k] if filled else "none", label=name if side == "seen" else None)
    ax.set_xticks(np.arange(n_cls), board.classes, rotation=45, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.axhline(0.5, color="#afb8c1", linestyle="--", linewidth=1)
    ax.set_ylabel("AUROC (test), mean over runs")
    ax.set_title("Per-class AUROC: filled = unseen, hollow = seen", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    return _png(fig)
