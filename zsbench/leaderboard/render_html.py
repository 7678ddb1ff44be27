"""The leaderboard as one self-contained HTML page: sortable tables (inline JS), plots as data URIs.

``index.html#sort=auroc_unseen`` (or ``#sort=auroc_unseen:asc``) opens it sorted by that column.
"""

from __future__ import annotations

import base64
import html
import math

from zsbench.leaderboard.aggregate import Leaderboard
from zsbench.leaderboard.cells import (
    CI_METRICS,
    FLAG_NOTE,
    KEY_COLUMNS,
    NOT_ZERO_SHOT,
    TRAINING_FREE,
    TRAINING_FREE_NOTE,
    ci_text,
    class_cell,
    label,
)
from zsbench.leaderboard.cells import mean_std as _mean_std
from zsbench.leaderboard.render_stats import PAIRWISE_CSS, html_section
from zsbench.leaderboard.reported import HEADING, OPTIONAL

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#59636e;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #d1d9e0;padding:4px 8px;text-align:left}td.num{text-align:right;white-space:nowrap}
th{background:#f6f8fa}table.sortable th{cursor:pointer}th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.flag{display:inline-block;background:#cf222e;color:#fff;border-radius:10px;padding:0 7px;font-size:11px}
tr.upper td{background:#fff8f8}.unseen{color:#8250df;font-weight:bold}
section.reported{border:2px dashed #bf8700;padding:4px 12px;margin-top:28px;background:#fffdf5}
.wide{overflow-x:auto}img.plot{max-width:100%;border:1px solid #d1d9e0;margin:6px 0}
"""

# Sort by a column on click (numbers by data-v, else text; n/a always last); #sort=key[:asc] on load.
_JS = """
(function(){
function val(td){var v=td.getAttribute('data-v');if(v!==null){return v===''?null:parseFloat(v);}
  return td.textContent.trim().toLowerCase();}
function sortBy(table,th,asc){var i=Array.prototype.indexOf.call(th.parentNode.children,th);
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);
    if(x===null||y===null){return (x===null)-(y===null);}
    return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});
  Array.prototype.forEach.call(th.parentNode.children,function(h){h.classList.remove('asc','desc');});
  th.classList.add(asc?'asc':'desc');}
var tables=document.querySelectorAll('table.sortable');
Array.prototype.forEach.call(tables,function(t){
  Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th){
    th.addEventListener('click',function(){sortBy(t,th,th.classList.contains('desc'));});});
  t.setAttribute('data-sortable','ready');});
var m=/^#sort=([^:]+)(:asc)?$/.exec(decodeURIComponent(location.hash));
if(m&&tables.length){var th=tables[0].querySelector('th[data-key="'+m[1]+'"]');
  if(th){sortBy(tables[0],th,!!m[2]);}}
})();
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _num_td(value: float, text: str) -> str:
    return f'<td class=num data-v="{value!r}">{_e(text)}</td>' if math.isfinite(value) \
        else f'<td class=num data-v="">{_e(text)}</td>'


def _measured(board: Leaderboard) -> str:
    keys = [("id", "id"), *KEY_COLUMNS, ("n_runs", "runs"), ("n_splits", "splits"), ("n_seeds", "seeds"),
            *((m, label(m)) for m in board.metric_names), *((f"{m}_ci", f"{label(m)} 95% CI") for m in CI_METRICS)]
    head = "".join(f'<th data-key="{_e(k)}">{_e(h)}</th>' for k, h in keys)
    rows = []
    for row in board.rows:
        cells = [f"<td>{_e(row.id)}</td>"]
        for attr, _ in KEY_COLUMNS:
            text = _e(getattr(row.key, attr))
            if attr == "method" and not row.zero_shot:
                text += f' <span class=flag title="{_e(FLAG_NOTE)}">{NOT_ZERO_SHOT}</span>'
            if attr == "method" and not row.trained_on_labels:
                text += f' <span class=flag title="{_e(TRAINING_FREE_NOTE)}">{TRAINING_FREE}</span>'
            cells.append(f"<td>{text}</td>")
        cells += [_num_td(float(n), str(n)) for n in (len(row.run_ids), len(row.splits), len(row.seeds))]
        cells += [_num_td(row.stats[m].mean, _mean_std(row.stats[m])) for m in board.metric_names]
        cells += [_num_td(row.ci[m][0], ci_text(row.ci[m])) for m in CI_METRICS]
        cls = "" if row.zero_shot else " class=upper"
        runs = _e(", ".join(row.run_ids))
        rows.append(f'<tr{cls} title="runs: {runs}">{"".join(cells)}</tr>')
    return (f"<div class=wide><table id=leaderboard class=sortable><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _per_class(board: Leaderboard) -> str:
    head = "<th>class</th>" + "".join(f"<th>{_e(r.id)}</th>" for r in board.rows)
    body = []
    for i, name in enumerate(board.classes):
        cells = []
        for row in board.rows:
            stat = row.per_class[i]
            unseen = stat.unseen.n and not stat.seen.n
            cells.append(f"<td class=\"num{' unseen' if unseen else ''}\">{_e(class_cell(stat))}</td>")
        body.append(f"<tr><td>{_e(name)}</td>{''.join(cells)}</tr>")
    return f"<table id=per-class><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _reported(board: Leaderboard) -> str:
    if not board.reported:
        return ""
    metrics = list(dict.fromkeys(m for e in board.reported for m in e.metrics))
    head = "".join(f"<th>{_e(h)}</th>" for h in ["source", "method", "dataset", *OPTIONAL[:3],
                                                  *map(label, metrics), "note"])
    rows = []
    for e in board.reported:
        cells = [e.source, e.method, e.dataset, *(e.extra.get(k, "") for k in OPTIONAL[:3])]
        tds = "".join(f"<td>{_e(c)}</td>" for c in cells)
        tds += "".join(_num_td(e.metrics.get(m, math.nan), f"{e.metrics[m]:g}" if m in e.metrics else "")
                       for m in metrics)
        rows.append(f"<tr>{tds}<td>{_e(e.extra.get('note', ''))}</td></tr>")
    return (f"<section class=reported id=reported-section><h2>{_e(HEADING)}</h2>"
            "<p class=meta>Copied from the sources named; zsbench did not run these. Other data splits, "
            "preprocessing and code: not comparable with the measured table by default.</p>"
            f"<table id=reported><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _img(png: bytes, alt: str) -> str:
    return f'<img class=plot alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def render_html(board: Leaderboard, suh_png: bytes, per_class_png: bytes) -> str:
    n_runs = sum(len(r.run_ids) for r in board.rows)
    notes = "".join(f"<li>{_e(n)}</li>" for n in board.notes())
    warnings = ("<h2>Warnings</h2><ul id=warnings>" + "".join(f"<li>{_e(w)}</li>" for w in board.warnings)
                + "</ul>") if board.warnings else ""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_e(board.title)}</title><style>{_CSS}{PAIRWISE_CSS}</style></head><body>"
        f"<h1>{_e(board.title)}</h1>"
        f"<div class=meta>Measured by zsbench {_e(board.zsbench_version)} on {_e(board.created)} from {n_runs} "
        f"runs in {len(board.rows)} groups. Click a column header to sort.</div>"
        f"<h2>Measured</h2>{_measured(board)}"
        f"{_img(suh_png, 'S, U and H AUROC per group with bootstrap CIs')}"
        "<h2>Per-class AUROC</h2><div class=meta>Mean over runs; S = seen, U = unseen in those runs.</div>"
        f"{_per_class(board)}{_img(per_class_png, 'per-class AUROC per group')}"
        f"{html_section(board)}"
        f"<h2>How these numbers were made</h2><ul id=notes>{notes}</ul>{warnings}"
        f"{_reported(board)}<script>{_JS}</script></body></html>\n"
    )
