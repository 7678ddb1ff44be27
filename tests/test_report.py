import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from zsbench.cli.main import cli
from zsbench.metrics import auroc
from zsbench.report import COLOURS, TOP_K, choose_images, roc_curve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_roc_curve_area_is_the_auroc():
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.3).astype(float)
    scores = np.round(labels * 0.8 + rng.normal(size=300), 1)  # rounding makes ties
    labels[::17] = np.nan
    fpr, tpr = roc_curve(scores, labels)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1 and np.all(np.diff(fpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auroc(scores, labels), abs=1e-12)
    assert roc_curve(scores, np.ones(300)) is None


def test_choose_images_mixes_unseen_and_seen_cases():
    labels = np.zeros((40, 3))
    labels[::4, 2] = 1  # 10 rows with the unseen class 2
    rows = choose_images(labels, [2], 6)
    assert len(rows) == 6 and sum(labels[r, 2] == 1 for r in rows) == 3
    assert len(choose_images(labels, [2], 100)) == 40


def _cards(page):
    return page.split("<div class=card>")[1:]


def test_report_is_one_self_contained_page(tiny_trained_run, tmp_path):
    out = tmp_path / "report.html"
    res = invoke(["report", str(tiny_trained_run), "--out", str(out), "--images", "6"])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    # nothing is fetched from anywhere: every image is inline, no scripts, no links out
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//|file:)", page, re.I)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert "<table id=summary>" in page and page.count("<tr>") >= 1 + 9 + 1 + 14
    cards = _cards(page)
    assert len(cards) == 6
    assert page.count('src="data:image/png;base64,') == 6 * (1 + TOP_K)  # image + top-3 heatmaps
    assert page.count("<svg") == 14  # one ROC curve per class
    # chips follow the paper's Figure 2: top-3 as TP or FP, missed positives as FN
    stored = np.load(tiny_trained_run / "scores.npz")
    names = list(stored["class_names"])
    for card in cards:
        image_id = re.search(r"<div class=id>([^<]+)</div>", card).group(1)
        r = list(stored["image_ids"]).index(image_id)
        top = np.argsort(-stored["scores"][r], kind="stable")[:TOP_K]
        positives = set(np.flatnonzero(stored["labels"][r] > 0.5))
        expected = [("tp" if c in positives else "fp", names[c]) for c in top]
        expected += [("fn", names[c]) for c in sorted(positives) if c not in top]
        chips = re.findall(r'<span class="chip (tp|fp|fn)"[^>]*>([^<]*?)(?: \*)? -?\d\.\d\d</span>', card)
        assert chips == expected


def test_report_without_heatmaps_needs_no_checkpoint(tiny_trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_trained_run, run)
    (run / "best.pt").unlink()
    res = invoke(["report", str(run), "--images", "4", "--no-heatmaps"])
    assert res.exit_code == 0, res.output
    page = (run / "report.html").read_text()  # the default place
    assert page.count('src="data:image/png;base64,') == 4 and "heatmap" not in page.split("<h2>Test")[1][:300]
    res = invoke(["report", str(run)])
    assert res.exit_code == 2 and "no checkpoint" in res.stderr
    (run / "scores.npz").unlink()
    res = invoke(["report", str(run), "--no-heatmaps"])
    assert res.exit_code == 2 and "scores.npz is missing" in res.stderr


def _colour_share(rgb, hex_colour, tol=8):
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(rgb.astype(int) - target).max(axis=2) <= tol).mean())


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium); "
                    ".ci/run installs it")
def test_report_renders_in_headless_chromium(trained_run, tmp_path):
    out = tmp_path / "report.html"
    assert invoke(["report", str(trained_run), "--out", str(out), "--images", "8"]).exit_code == 0
    page = out.read_text()
    with tempfile.TemporaryDirectory() as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([str(CHROMIUM), *flags, "--dump-dom", out.as_uri()],
                             capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<table id="summary">' in dom.stdout and '<table id="per-class">' in dom.stdout
    assert dom.stdout.count('<div class="card">') == 8 and 'id="image-grid"' in dom.stdout
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        proc = subprocess.run([str(CHROMIUM), *flags, "--window-size=1280,1600", f"--screenshot={shot}",
                               out.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB"))
    assert rgb.shape[:2] == (1600, 1280) and rgb.std() > 20  # not a blank page
    # the tables: header cells and borders in their colours
    assert _colour_share(rgb, "#f6f8fa", tol=2) > 0.001 and _colour_share(rgb, "#d1d9e0", tol=2) > 0.001
    # the image grid: X-ray pixels (grey, R = G = B, neither white nor black) and coloured chips
    grey = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2]) & (rgb[..., 0] > 40) & (rgb[..., 0] < 200)
    assert grey.mean() > 0.01
    # chips of the grid, not of the legend above it: look only from the first row of X-ray pixels down
    grid_top = int(np.argmax(grey.sum(axis=1) > 50))
    assert grid_top > 0
    grid_html = page.split("<div class=grid")[1]
    for kind in ("tp", "fp", "fn"):
        if f'class="chip {kind}"' in grid_html:
            assert _colour_share(rgb[grid_top:], COLOURS[kind]) > 0.0005, kind
