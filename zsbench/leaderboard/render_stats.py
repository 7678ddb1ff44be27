"""The leaderboard's statistics sections: uncertainty by source per group and paired differences
between groups (markdown, ``pairwise.csv``, and an HTML matrix coloured by the sign of each
difference whose CI excludes 0)."""

from __future__ import annotations

import csv
import html
import io
import math

from zsbench.leaderboard.aggregate import Leaderboard
from zsbench.leaderboard.cells import label, num
from zsbench.leaderboard.compare import Comparison, group_label
from zsbench.leaderboard.stats import Estimate

SPREAD_METRICS = ("auroc_unseen", "auroc_harmonic")  # the markdown spread table
PAIR_METRICS = ("auroc_unseen", "auroc_harmonic", "map_unseen")  # the markdown pairwise table
MATRIX_METRICS = ("auroc_harmonic", "auroc_unseen")  # one HTML matrix each


def _md(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])


def _ci(e: Estimate) -> str:
    return f"[{num(e.ci[0])}, {num(e.ci[1])}]" if all(math.isfinite(v) for v in e.ci) else "n/a"


def diff_cell(e: Estimate) -> str:
    """``+0.041 [0.012, 0.070] p 0.03`` (Holm-adjusted p), with * when the CI excludes 0."""
    if not math.isfinite(e.mean):
        return "n/a"
    return f"{e.mean:+.3f}{'*' if e.excludes_zero else ''} {_ci(e)} p {num(e.p_holm, 3)}"


def markdown_sections(board: Leaderboard) -> list[str]:
    if board.stats is None:
        return []
    spread_head = ["id", "group"]
    for m in SPREAD_METRICS:
        spread_head += [label(m), f"{label(m)} 95% CI", "sd split", "sd seed", "sd image"]
    spread_rows = []
    for row in board.rows:
        cells = [row.id, group_label(row.key)]
        for m in SPREAD_METRICS:
            e = row.hierarchical[m]
            cells += [num(e.mean), _ci(e), num(e.sd_split), num(e.sd_seed), num(e.sd_image)]
        spread_rows.append(cells)
    parts = ["## Uncertainty by source (hierarchical: class splits, seeds, test images)",
             "Mean over splits of the mean over seeds; the 95% CI draws splits, then seeds within them, then "
             "test images. sd split / sd seed / sd image: the spread between class splits (seed noise removed), "
             "between seeds within a split, and from test-image sampling.",
             _md(spread_head, spread_rows)]
    if board.pairwise:
        ids = {row.key: row.id for row in board.rows}
        rows = [[ids[c.a], ids[c.b], f"{len(c.pairs)} ({c.n_splits} splits)",
                 *(diff_cell(c.estimates[m]) for m in PAIR_METRICS)] for c in board.pairwise]
        parts += ["## Paired differences (a - b on their common class splits and seeds)",
                  "Run-by-run differences; paired hierarchical 95% CI; p: two-sided sign-flip permutation test "
                  "over splits, Holm-adjusted over every pair below; * the CI excludes 0. All metrics are in "
                  "pairwise.csv and leaderboard.json.",
                  _md(["a", "b", "pairs", *(f"Δ{label(m)}" for m in PAIR_METRICS)], rows)]
    return parts


def render_pairwise_csv(board: Leaderboard) -> str:
    """One row per comparison and metric (long format)."""
    ids = {row.key: row.id for row in board.rows}
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["a_id", "b_id", "a", "b", "dataset", "protocol", "n_pairs", "n_splits", "image_paired", "metric",
                  "difference", "ci_low", "ci_high", "p", "p_holm", "p_exact", "levels"])

    def value(v: float) -> str:
        return repr(float(v)) if math.isfinite(v) else ""

    for c in board.pairwise:
        for name, e in c.estimates.items():
            out.writerow([ids[c.a], ids[c.b], group_label(c.a), group_label(c.b), c.a.dataset, c.a.protocol,
                          len(c.pairs), c.n_splits, str(c.image_paired).lower(), name, value(e.mean),
                          value(e.ci[0]), value(e.ci[1]), value(e.p), value(e.p_holm), str(e.p_exact).lower(),
                          " ".join(e.levels)])
    return buf.getvalue()


def _matrix(board: Leaderboard, comparisons: list[Comparison], metric: str) -> str:
    """Rows a, columns b: the difference a - b; green when its CI is above 0, red below, grey else."""
    keys = list(dict.fromkeys([*(c.a for c in comparisons), *(c.b for c in comparisons)]))
    order = {row.key: n for n, row in enumerate(board.rows)}
    keys.sort(key=order.__getitem__)
    ids = {row.key: row.id for row in board.rows}
    found: dict[tuple, tuple[Estimate, int]] = {}
    for c in comparisons:
        found[(c.a, c.b)] = (c.estimates[metric], 1)
        found[(c.b, c.a)] = (c.estimates[metric], -1)
    head = "<th></th>" + "".join(f'<th title="{html.escape(group_label(k))}">{ids[k]}</th>' for k in keys)
    body = []
    for a in keys:
        cells = [f'<th title="{html.escape(group_label(a))}">{ids[a]}</th>']
        for b in keys:
            if (a, b) not in found:
                cells.append("<td class=na>" + ("" if a == b else "n/a") + "</td>")
                continue
            e, sign = found[(a, b)]
            lo, hi = sorted((sign * e.ci[0], sign * e.ci[1]))
            cls = "ns" if not e.excludes_zero else ("pos" if lo > 0 else "neg")
            title = f"{ids[a]} - {ids[b]}: {sign * e.mean:+.3f} [{num(lo)}, {num(hi)}], p(Holm) {num(e.p_holm, 3)}"
            cells.append(f'<td class="m {cls}" title="{html.escape(title)}">{sign * e.mean:+.3f}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class=pairwise id="pairwise-{metric}"><caption>Δ{html.escape(label(metric))}: row - column'
            f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


PAIRWISE_CSS = (".pairwise{margin:.5em 1.5em 1em 0;display:inline-table}.pairwise td.m{text-align:right;"
                "font-variant-numeric:tabular-nums}.pairwise td.pos{background:#b7e4c7}.pairwise td.neg{"
                "background:#f5c2c0}.pairwise td.ns{background:#eee;color:#666}.pairwise td.na{background:#fff}"
                ".pairwise caption{font-weight:600;text-align:left}span.legend{padding:0 .3em}"
                "span.pos{background:#b7e4c7}span.neg{background:#f5c2c0}")


def html_section(board: Leaderboard) -> str:
    if board.stats is None or not board.pairwise:
        return ""
    blocks = []
    families = list(dict.fromkeys((c.a.dataset, c.a.protocol) for c in board.pairwise))
    for dataset, protocol in families:
        comparisons = [c for c in board.pairwise if (c.a.dataset, c.a.protocol) == (dataset, protocol)]
        matrices = "".join(_matrix(board, comparisons, m) for m in MATRIX_METRICS)
        blocks.append(f"<h3>{html.escape(dataset)} {html.escape(protocol)}</h3>{matrices}")
    legend = ("<p class=meta>Each cell is the paired mean difference row - column over the class splits and seeds "
              "both groups ran (hover for the 95% CI and the Holm-adjusted sign-flip p). "
              "<span class='pos legend'>green</span>: the CI lies above 0; <span class='neg legend'>red</span>: "
              "below 0; grey: the CI includes 0. Group ids are those of the measured table.</p>")
    return f"<section id=pairwise-section><h2>Paired differences</h2>{legend}{''.join(blocks)}</section>"
