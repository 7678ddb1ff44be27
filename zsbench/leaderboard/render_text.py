"""The leaderboard as Markdown, CSV and a LaTeX (booktabs) fragment.

Reported numbers are never in the measured table: Markdown and LaTeX give them their own section,
CSV marks each row's ``section``.
"""

from __future__ import annotations

import csv
import io
import math

from zsbench.leaderboard.aggregate import Leaderboard
from zsbench.leaderboard.cells import (
    CI_METRICS,
    FLAG_NOTE,
    KEY_COLUMNS,
    TRAINING_FREE_NOTE,
    ci_text,
    class_cell,
    key_values,
    label,
    mean_std,
)
from zsbench.leaderboard.render_stats import markdown_sections
from zsbench.leaderboard.reported import HEADING, OPTIONAL, ReportedEntry

MEASURED = "measured"


def _reported_metrics(board: Leaderboard) -> list[str]:
    """Metric columns of the reported table: the measured ones that any entry has, then the rest."""
    names = [m for m in board.metric_names if any(m in e.metrics for e in board.reported)]
    return names + sorted({m for e in board.reported for m in e.metrics} - set(names))


def _reported_rows(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    metrics = _reported_metrics(board)
    header = ["source", "method", "dataset", *OPTIONAL[:3], *map(label, metrics), "note"]

    def row(e: ReportedEntry) -> list[str]:
        extra = [e.extra.get(k, "") for k in OPTIONAL[:3]]
        values = [f"{e.metrics[m]:g}" if m in e.metrics else "" for m in metrics]  # as the source prints them
        return [e.source, e.method, e.dataset, *extra, *values, e.extra.get("note", "")]

    return header, [row(e) for e in board.reported]


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def render_markdown(board: Leaderboard) -> str:
    header = ["id", *(h for _, h in KEY_COLUMNS), "runs", "splits", "seeds",
              *(label(m) for m in board.metric_names), *(f"{label(m)} 95% CI" for m in CI_METRICS)]
    rows = [[row.id, *key_values(row), str(len(row.run_ids)), str(len(row.splits)), str(len(row.seeds)),
             *(mean_std(row.stats[m]) for m in board.metric_names), *(ci_text(row.ci[m]) for m in CI_METRICS)]
            for row in board.rows]
    per_class = [[name, *(class_cell(row.per_class[i]) for row in board.rows)] for i, name in enumerate(board.classes)]
    parts = [
        f"# {board.title}",
        f"Measured by zsbench {board.zsbench_version} on {board.created} from "
        f"{sum(len(r.run_ids) for r in board.rows)} runs; mean ± std over runs, then 95% bootstrap CIs.",
        _md_table(header, rows),
    ]
    if not all(r.zero_shot for r in board.rows):
        parts.append(f"({FLAG_NOTE}.)")
    if not all(r.trained_on_labels for r in board.rows):
        parts.append(f"({TRAINING_FREE_NOTE}.)")
    parts += markdown_sections(board)
    parts += ["## Per-class AUROC (mean over runs; S = seen, U = unseen in those runs)",
              _md_table(["class", *(r.id for r in board.rows)], per_class),
              "## How these numbers were made", "\n".join(f"- {n}" for n in board.notes())]
    if board.warnings:
        parts += ["## Warnings", "\n".join(f"- {w}" for w in board.warnings)]
    if board.reported:
        parts += [f"## {HEADING}",
                  "Copied from the sources named; zsbench did not run these and they are not comparable "
                  "to the measured table by default (other data splits, preprocessing and code).",
                  _md_table(*_reported_rows(board))]
    return "\n\n".join(parts) + "\n"


def render_csv(board: Leaderboard) -> str:
    """One row per group (section ``measured``) and per reported entry (section = the heading);
    a metric's column holds the mean for measured rows and the reported value for reported rows."""
    metric_cols = []
    for m in board.metric_names:
        metric_cols += [m, f"{m}_std", f"{m}_n"] + ([f"{m}_ci_low", f"{m}_ci_high"] if m in CI_METRICS else [])
    extra = sorted({m for e in board.reported for m in e.metrics} - set(board.metric_names))
    header = ["section", "id", *(a for a, _ in KEY_COLUMNS), "zero_shot", "n_runs", "n_splits", "n_seeds",
              *metric_cols, *extra, "source", "note", "run_ids"]
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    out.writeheader()

    def value(v: float) -> str:
        return repr(float(v)) if math.isfinite(v) else ""

    for row in board.rows:
        line = {"section": MEASURED, "id": row.id, **row.key.to_dict(), "zero_shot": str(row.zero_shot).lower(),
                "n_runs": len(row.run_ids), "n_splits": len(row.splits), "n_seeds": len(row.seeds),
                "run_ids": " ".join(row.run_ids)}
        for m, stat in row.stats.items():
            line.update({m: value(stat.mean), f"{m}_std": value(stat.std), f"{m}_n": stat.n})
            if m in CI_METRICS:
                line.update({f"{m}_ci_low": value(row.ci[m][0]), f"{m}_ci_high": value(row.ci[m][1])})
        out.writerow(line)
    for e in board.reported:
        out.writerow({"section": HEADING, "method": e.method, "dataset": e.dataset, "source": e.source,
                      "protocol": e.extra.get("protocol", ""), "backbone": e.extra.get("backbone", ""),
                      "text_encoder": e.extra.get("text_encoder", ""), "note": e.extra.get("note", ""),
                      **{m: value(v) for m, v in e.metrics.items()}})
    return buf.getvalue()


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in str(text))


def _tabular(header: list[str], rows: list[list[str]], n_left: int) -> list[str]:
    spec = "l" * n_left + "r" * (len(header) - n_left)
    return [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule",
            *(" & ".join(r) + r" \\" for r in rows), r"\bottomrule", r"\end{tabular}"]


def render_latex(board: Leaderboard) -> str:
    """A fragment to ``\\input``: needs ``\\usepackage{booktabs}``."""
    dag = r"\textsuperscript{\dag}"
    header = ["", *(tex(h.capitalize()) for _, h in KEY_COLUMNS), "$n$",
              *(tex(label(m)) for m in board.metric_names)]
    rows = [[row.id, *(tex(v) for v in key_values(row, flag=None)[:2]),
             tex(row.key.method) + ("" if row.zero_shot else dag),
             *(tex(v) for v in key_values(row)[3:]), str(len(row.run_ids)),
             *(mean_std(row.stats[m], pm=r"$\pm$") for m in board.metric_names)] for row in board.rows]
    ci_rows = [[row.id, *(ci_text(row.ci[m]) for m in CI_METRICS)] for row in board.rows]
    lines = [f"% {tex(board.title)}: generated by zsbench {board.zsbench_version} on {board.created}",
             r"% needs \usepackage{booktabs}", *(f"% {n}" for n in board.notes()),
             *_tabular(header, rows, 1 + len(KEY_COLUMNS))]
    if not all(r.zero_shot for r in board.rows):
        lines += ["", rf"{dag}\,{tex(FLAG_NOTE)}."]
    lines += ["", r"\medskip", "", f"% {board.bootstrap.level:.0%} bootstrap CIs over test images",
              *_tabular(["", *(f"{label(m)} {tex('95% CI')}" for m in CI_METRICS)], ci_rows, 1)]
    if board.reported:
        header, rep = _reported_rows(board)
        lines += ["", rf"\paragraph{{{tex(HEADING)}}}", "",
                  *_tabular([tex(h) for h in header], [[tex(c) for c in r] for r in rep], 6)]
    return "\n".join(lines) + "\n"
