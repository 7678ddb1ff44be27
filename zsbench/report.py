"""``report``: one self-contained HTML page for a run (metrics, ROC curves, predictions, heatmaps).

Everything is inline: CSS, ROC curves as SVG, images as base64 PNG data URIs. The page works
offline, can be mailed as one file, and loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from zsbench.errors import UsageError
from zsbench.results import atomic_write_bytes
from zsbench.runfiles import StoredRun, read_stored_run

TOP_K = 3
COLOURS = {"tp": "#1a7f37", "fp": "#cf222e", "fn": "#bf8700"}  # also asserted by the screenshot test

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#59636e;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:4px 16px 4px 0;display:inline-table;vertical-align:top}
th,td{border:1px solid #d1d9e0;padding:4px 8px;text-align:left}td.num{text-align:right}
th{background:#f6f8fa}.unseen{font-weight:bold;color:#8250df}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:12px}
.card{border:1px solid #d1d9e0;border-radius:6px;padding:8px}
.card .id{font-size:12px;color:#59636e;margin-bottom:4px}
.pics{display:flex;gap:4px}.pics figure{margin:0;text-align:center;font-size:11px}
.pics img{width:100px;height:100px;display:block}
.chip{display:inline-block;color:#fff;border-radius:10px;padding:1px 8px;margin:2px 2px 0 0;font-size:12px}
.tp{background:#1a7f37}.fp{background:#cf222e}.fn{background:#bf8700}
.rocs{display:flex;flex-wrap:wrap;gap:8px}.rocs svg{border:1px solid #d1d9e0;background:#fff}
"""


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(false positive rate, true positive rate) at every distinct threshold; None without both classes."""
    known = ~np.isnan(labels)
    s, y = scores[known], labels[known] > 0.5
    if y.all() or not y.any():
        return None
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.diff(s) != 0, True]  # one point per distinct score: ties move diagonally
    tp, fp = np.cumsum(y)[last_of_tie], np.cumsum(~y)[last_of_tie]
    return np.r_[0.0, fp / (~y).sum()], np.r_[0.0, tp / y.sum()]


def _roc_svg(name: str, split: str, auc: float | None, curve: tuple[np.ndarray, np.ndarray] | None) -> str:
    size, pad = 170, 22
    inner = size - 2 * pad
    colour = "#8250df" if split == "unseen" else "#0969da"
    detail = f"{split}, AUROC {'n/a' if auc is None else f'{auc:.3f}'}"
    title = f"{name} ({detail})"
    parts = [f'<svg width="{size}" height="{size + 26}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="4" y="12" font-size="11" font-weight="bold">{html.escape(name)}</text>',
             f'<text x="4" y="24" font-size="10">{html.escape(detail)}</text>',
             f'<g transform="translate(0,26)"><rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" '
             'fill="none" stroke="#d1d9e0"/>',
             f'<line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" stroke="#afb8c1" '
             'stroke-dasharray="3,3"/>',
             f'<text x="{pad}" y="{size - 6}" font-size="9">FPR</text>',
             f'<text x="2" y="{pad + 8}" font-size="9">TPR</text>']
    if curve is not None:
        pts = " ".join(f"{pad + x * inner:.1f},{pad + (1 - y) * inner:.1f}" for x, y in zip(*curve, strict=True))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
    parts.append("</g></svg>")
    return "".join(parts)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))


def _metrics_html(run: StoredRun) -> str:
    res, metrics = run.result, run.result.get("metrics", {})
    rows = [("AUROC S (seen)", metrics.get("auroc_seen")), ("AUROC U (unseen)", metrics.get("auroc_unseen")),
            ("AUROC H (harmonic)", metrics.get("auroc_harmonic"))]
    for k in res.get("config", {}).get("ks", []):
        rows += [(f"{m}@{k}", metrics.get(f"{m}@{k}")) for m in ("p", "r", "f1")]
    summary = "".join(f"<tr><td>{html.escape(n)}</td><td class=num>{_fmt(v)}</td></tr>" for n, v in rows)
    unseen = set(res.get("classes", {}).get("unseen", []))
    per_class = []
    for c, name in enumerate(run.class_names):
        auc = (metrics.get("auroc_per_class") or [None] * len(run.class_names))[c]
        split = "unseen" if name in unseen else "seen"
        n_pos = int(np.nansum(run.labels[:, c] > 0.5))
        per_class.append(f"<tr><td class={split}>{html.escape(name)}</td><td>{split}</td>"
                         f"<td class=num>{n_pos}</td><td class=num>{_fmt(auc)}</td></tr>")
    return (f"<table id=summary><tr><th>metric (test)</th><th>value</th></tr>{summary}</table>"
            "<table id=per-class><tr><th>class</th><th>split</th><th>test positives</th><th>AUROC</th></tr>"
            + "".join(per_class) + "</table>")


def _data_uri(pixels: np.ndarray) -> str:
    from zsbench.saliency import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode()


def choose_images(labels: np.ndarray, unseen_cols: list[int], n: int) -> list[int]:
    """Up to ``n`` test rows, evenly spread, half of them with an unseen class when possible."""
    has_unseen = (np.nan_to_num(labels[:, unseen_cols]) > 0.5).any(axis=1) if unseen_cols \
        else np.zeros(len(labels), dtype=bool)
    groups = [np.flatnonzero(has_unseen), np.flatnonzero(~has_unseen)]
    want = [min(len(groups[0]), math.ceil(n / 2)), 0]
    want[1] = min(len(groups[1]), n - want[0])
    want[0] = min(len(groups[0]), n - want[1])  # refill from the first group if the second is short
    picked: list[int] = []
    for group, k in zip(groups, want, strict=True):
        if k:
            picked += [int(group[i]) for i in np.linspace(0, len(group) - 1, k).round().astype(int)]
    return sorted(set(picked))


def _cards_html(run: StoredRun, rows: list[int], pixels: np.ndarray, cams: np.ndarray | None) -> str:
    from zsbench.saliency import overlay

    unseen = set(run.result.get("classes", {}).get("unseen", []))
    cards = []
    for j, r in enumerate(rows):
        order = np.argsort(-run.scores[r], kind="stable")[:TOP_K]
        positives = [c for c in range(len(run.class_names)) if run.labels[r, c] > 0.5]
        chips = []
        for c in order:
            kind = "tp" if c in positives else "fp"
            chips.append((kind, int(c), float(run.scores[r, c])))
        chips += [("fn", c, float(run.scores[r, c])) for c in positives if c not in order]
        chip_html = "".join(
            f'<span class="chip {kind}" title="{kind.upper()} score {score:.3f}">'
            f'{html.escape(run.class_names[c])}{" *" if run.class_names[c] in unseen else ""} {score:.2f}</span>'
            for kind, c, score in chips)
        gray = pixels[j, 0]
        figs = [f'<figure><img alt="test image" src="{_data_uri(gray)}">image</figure>']
        if cams is not None:
            for k, c in enumerate(order):
                name = html.escape(run.class_names[c])
                figs.append(f'<figure><img alt="heatmap {name}" src="{_data_uri(overlay(gray, cams[j, k]))}">'
                            f"#{k + 1} {name}</figure>")
        cards.append(f'<div class=card><div class=id>{html.escape(str(run.image_ids[r]))}</div>'
                     f'<div class=pics>{"".join(figs)}</div><div>{chip_html}</div></div>')
    return '<div class=grid id=image-grid>' + "".join(cards) + "</div>"


def build_report(run_dir: str | Path, n_images: int = 12, heatmaps: bool = True) -> str:
    """The HTML text of a run's report."""
    from zsbench.rundata import run_part_table

    run = read_stored_run(run_dir)
    res = run.result
    unseen = res.get("classes", {}).get("unseen", [])
    unseen_cols = [run.class_names.index(n) for n in unseen if n in run.class_names]
    rows = choose_images(run.labels, unseen_cols, n_images) if n_images > 0 else []
    pixels = np.zeros((0, 1, 1, 1), dtype=np.uint8)
    cams = None
    if rows:
        dataset, _ = run_part_table(res["config"], "test")
        pixels = np.asarray(dataset.load_images(run.image_ids[rows]))  # a few images: in RAM, for Grad-CAM
        if heatmaps:
            cams = _heatmaps(run, rows, pixels)
    rocs = []
    per_class = res.get("metrics", {}).get("auroc_per_class") or [None] * len(run.class_names)
    for c, name in enumerate(run.class_names):
        split = "unseen" if name in unseen else "seen"
        rocs.append(_roc_svg(name, split, per_class[c], roc_curve(run.scores[:, c], run.labels[:, c])))
    cfg = res.get("config", {})
    subtitle = ", ".join(f"{k} {html.escape(str(cfg.get(k)))}" for k in
                         ("method", "backbone", "text_encoder", "class_text", "dataset", "epochs", "seed"))
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>zsbench report {html.escape(str(res.get('run_id', run.run_dir.name)))}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Run {html.escape(str(res.get('run_id', run.run_dir.name)))}</h1>"
        f"<div class=meta>{subtitle}; zsbench {html.escape(str(res.get('zsbench_version')))}, "
        f"created {html.escape(str(res.get('created')))}</div>"
        f"<h2>Metrics</h2>{_metrics_html(run)}"
        f"<h2>Test images: top-{TOP_K} predictions</h2>"
        f'<div class=meta><span class="chip tp">true positive</span><span class="chip fp">false positive</span>'
        f'<span class="chip fn">false negative</span> (score after each name; * unseen class)'
        + ("; heatmaps: Grad-CAM of each top class" if cams is not None else "") + "</div>"
        + _cards_html(run, rows, pixels, cams)
        + f"<h2>ROC curves (test)</h2><div class=rocs id=roc-curves>{''.join(rocs)}</div>"
        "</body></html>\n"
    )


def _heatmaps(run: StoredRun, rows: list[int], pixels: np.ndarray) -> np.ndarray:
    import torch

    from zsbench.checkpoint import load_checkpoint
    from zsbench.saliency import gradcam

    ckpt = load_checkpoint(run.run_dir / "best.pt")
    if ckpt.meta.class_names != run.class_names:
        raise UsageError(f"{run.run_dir}/best.pt scores other classes than scores.npz; the run is inconsistent")
    order = np.stack([np.argsort(-run.scores[r], kind="stable")[:TOP_K] for r in rows])
    emb = torch.from_numpy(ckpt.class_embeddings)
    return gradcam(ckpt.model, pixels, emb, order)


def write_report(run_dir: str | Path, out: str | Path | None = None, n_images: int = 12,
                 heatmaps: bool = True) -> Path:
    """Build and write the report (default ``RUN_DIR/report.html``) atomically."""
    path = Path(out) if out else Path(run_dir) / "report.html"
    atomic_write_bytes(path, build_report(run_dir, n_images, heatmaps).encode())
    return path
