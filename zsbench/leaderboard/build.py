"""Building a leaderboard folder: collect runs, aggregate, render every format, write atomically."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zsbench.errors import UsageError
from zsbench.leaderboard.aggregate import Leaderboard, build_leaderboard
from zsbench.leaderboard.bootstrap import BootstrapSettings
from zsbench.leaderboard.collect import collect_runs
from zsbench.leaderboard.plots import per_class_png, suh_png
from zsbench.leaderboard.render_html import render_html
from zsbench.leaderboard.render_stats import render_pairwise_csv
from zsbench.leaderboard.render_text import render_csv, render_latex, render_markdown
from zsbench.leaderboard.reported import load_reported
from zsbench.leaderboard.stats import StatsSettings
from zsbench.results import atomic_write_bytes, git_hash, to_json

FILES = ("leaderboard.md", "leaderboard.csv", "leaderboard.tex", "leaderboard.json", "index.html", "pairwise.csv",
         "plots/suh.png", "plots/per_class_auroc.png")


@dataclass
class BuildOutcome:
    board: Leaderboard
    out: Path
    files: list[Path]
    seconds: float


def make_leaderboard(runs: Sequence[str | Path], settings: BootstrapSettings, title: str = "zsbench leaderboard",
                     reported: str | Path | None = None, stats: StatsSettings | None = None) -> Leaderboard:
    """Read the runs (and the reported-numbers file, first: its errors are cheap) and aggregate."""
    entries = load_reported(reported) if reported is not None else []
    return build_leaderboard(collect_runs(runs), settings, title=title, reported=entries, stats=stats)


def render_files(board: Leaderboard) -> dict[str, bytes]:
    """Every output file's bytes, keyed by its path inside the leaderboard folder."""
    suh, per_class = suh_png(board), per_class_png(board)
    doc = {**board.to_dict(), "git_hash": git_hash(), "files": list(FILES)}
    return {
        "leaderboard.md": render_markdown(board).encode(),
        "leaderboard.csv": render_csv(board).encode(),
        "leaderboard.tex": render_latex(board).encode(),
        "leaderboard.json": to_json(doc).encode(),
        "index.html": render_html(board, suh, per_class).encode(),
        "pairwise.csv": render_pairwise_csv(board).encode(),
        "plots/suh.png": suh,
        "plots/per_class_auroc.png": per_class,
    }


def write_leaderboard(board: Leaderboard, out: str | Path) -> list[Path]:
    """Write every file under ``out`` (each atomically); returns their paths."""
    paths = []
    for name, data in render_files(board).items():
        path = Path(out) / name
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise UsageError(f"cannot write {path} ({exc.strerror or exc.__class__.__name__}); "
                             "choose another --out") from None
        paths.append(path)
    return paths


def build(runs: Sequence[str | Path], out: str | Path, settings: BootstrapSettings,
          title: str = "zsbench leaderboard", reported: str | Path | None = None,
          stats: StatsSettings | None = None) -> BuildOutcome:
    """``zsbench leaderboard build``: everything from run folders to the written leaderboard folder."""
    t0 = time.perf_counter()
    board = make_leaderboard(runs, settings, title=title, reported=reported, stats=stats)
    files = write_leaderboard(board, out)
    return BuildOutcome(board, Path(out), files, time.perf_counter() - t0)
