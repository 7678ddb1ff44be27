import csv
import io
import json
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from sklearn.metrics import average_precision_score, roc_auc_score

from tests.run_fixtures import CLASSES, make_run
from tests.test_report import CHROMIUM, CHROMIUM_FLAGS
from zsbench.cli.main import cli
from zsbench.errors import UsageError
from zsbench.leaderboard.bootstrap import (
    BootstrapSettings,
    RunScores,
    counts_from_indices,
    group_intervals,
    resample_indices,
    weighted_auroc,
)
from zsbench.leaderboard.build import FILES, make_leaderboard
from zsbench.leaderboard.reported import HEADING, load_reported

SUH = ("auroc_seen", "auroc_unseen", "auroc_harmonic")


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_vectorized_auroc_equals_sklearn_on_every_resample_with_ties():
    rng = np.random.default_rng(3)
    n = 200
    labels = (rng.random(n) < 0.2).astype(float)
    scores = np.round(labels * 0.7 + rng.normal(size=n), 1)  # few distinct values: many ties
    labels[::11] = np.nan
    idx = resample_indices(np.random.default_rng(4), n, 60)
    counts = counts_from_indices(idx, n)
    assert counts.shape == (n, 60) and (counts.sum(axis=0) == n).all()
    assert (counts[:, 7] == np.bincount(idx[7], minlength=n)).all()
    got = weighted_auroc(scores, labels, counts)
    for b in range(60):
        y, s = labels[idx[b]], scores[idx[b]]
        known = ~np.isnan(y)
        assert got[b] == pytest.approx(roc_auc_score(y[known], s[known]), abs=1e-12)
    # all-equal scores, no positive, and the unresampled data
    assert weighted_auroc(np.zeros(n), labels, counts) == pytest.approx(np.full(60, 0.5))
    assert np.isnan(weighted_auroc(scores, np.zeros(n), counts)).all()
    known = ~np.isnan(labels)
    ones = np.ones((n, 1), dtype=np.int32)
    assert weighted_auroc(scores, labels, ones)[0] == pytest.approx(roc_auc_score(labels[known], scores[known]))


def _sklearn_suh(run_dir):
    """S, U, H of a run recomputed with sklearn from its scores.npz."""
    result = json.loads((run_dir / "result.json").read_text())
    with np.load(run_dir / "scores.npz") as npz:
        scores, labels = npz["scores"], npz["labels"]

    def mean_over(names, metric):
        values = []
        for name in names:
            c = CLASSES.index(name)
            known = ~np.isnan(labels[:, c])
            values.append(metric(labels[known, c], scores[known, c]))
        return statistics.mean(values)

    def mean_auc(names):
        return mean_over(names, roc_auc_score)

    def mean_ap(names):
        return mean_over(names, average_precision_score)

    s, u = mean_auc(result["classes"]["seen"]), mean_auc(result["classes"]["unseen"])
    seen, unseen = result["classes"]["seen"], result["classes"]["unseen"]
    return {"auroc_seen": s, "auroc_unseen": u, "auroc_harmonic": 2 * s * u / (s + u),
            "map_seen": mean_ap(seen), "map_unseen": mean_ap(unseen), "map_all": mean_ap(seen + unseen)}, result


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for seed in range(3):  # one group: the paper split, three seeds
        make_run(root / "paper", f"paper-s{seed}", seed=seed, n=150)
    for i, unseen in enumerate([["Edema", "Mass", "Nodule", "Hernia"], ["Edema", "Effusion", "Fibrosis", "Mass"]]):
        make_run(root / "random", f"rand-{i}", seed=0, n=150, rng_seed=50 + i, unseen=unseen,
                 split_name=f"synthetic-random-u4-s0-{i:03d}", random_split=True, signal=0.6)
    make_run(root, "upper", method="supervised", n=150, zero_shot=False, signal=2.0)
    return root


def test_groups_and_their_numbers_match_an_independent_computation(runs):
    board = make_leaderboard([runs], BootstrapSettings(replicates=50))
    by_method = {(r.key.method, r.key.protocol): r for r in board.rows}
    assert set(by_method) == {("cxr-ml-gzsl", "synthetic-paper"), ("cxr-ml-gzsl", "random-u4"),
                              ("supervised", "synthetic-paper")}
    paper, rand, upper = (by_method[k] for k in [("cxr-ml-gzsl", "synthetic-paper"), ("cxr-ml-gzsl", "random-u4"),
                                                  ("supervised", "synthetic-paper")])
    assert (len(paper.run_ids), len(paper.splits), len(paper.seeds)) == (3, 1, 3)
    assert (len(rand.run_ids), len(rand.splits), len(rand.seeds)) == (2, 2, 1)
    assert paper.zero_shot and not upper.zero_shot
    assert [r.id for r in board.rows] == ["G1", "G2", "G3"]
    for row, names in ((paper, ["paper-s0", "paper-s1", "paper-s2"]), (rand, ["rand-0", "rand-1"])):
        independent = [_sklearn_suh(runs / ("paper" if row is paper else "random") / n) for n in names]
        for metric in (*SUH, "map_seen", "map_unseen", "map_all"):
            values = [suh[metric] for suh, _ in independent]
            assert row.stats[metric].mean == pytest.approx(statistics.mean(values), abs=1e-12)
            assert row.stats[metric].std == pytest.approx(statistics.stdev(values), abs=1e-12)
        f1 = [res["metrics"]["f1@3"] for _, res in independent]
        assert row.stats["f1@3"].mean == pytest.approx(statistics.mean(f1))
        assert row.stats["r@2"].n == len(names)
    # per class: Edema is unseen in both random runs; Mass unseen in both; Effusion seen in one, unseen in other
    per = {c.name: c for c in rand.per_class}
    (_, r0), (_, r1) = (_sklearn_suh(runs / "random" / n) for n in ("rand-0", "rand-1"))
    eff = CLASSES.index("Effusion")
    assert per["Effusion"].seen.n == 1 and per["Effusion"].unseen.n == 1
    assert per["Effusion"].seen.mean == pytest.approx(r0["metrics"]["auroc_per_class"][eff])
    assert per["Effusion"].unseen.mean == pytest.approx(r1["metrics"]["auroc_per_class"][eff])
    assert per["Edema"].seen.n == 0 and per["Edema"].unseen.n == 2
    assert upper.stats["auroc_harmonic"].n == 1 and np.isnan(upper.stats["auroc_harmonic"].std)


def test_bootstrap_ci_contains_the_mean_narrows_with_more_images_and_is_seeded(tmp_path):
    widths = {}
    for n in (100, 1600):
        for seed in range(3):
            make_run(tmp_path / f"n{n}", f"n{n}-s{seed}", seed=seed, n=n)
        board = make_leaderboard([tmp_path / f"n{n}"], BootstrapSettings(replicates=300, seed=1))
        (row,) = board.rows
        for metric in SUH:
            lo, hi = row.ci[metric]
            assert lo < row.stats[metric].mean < hi, (n, metric)
        widths[n] = {m: row.ci[m][1] - row.ci[m][0] for m in SUH}
    for metric in SUH:  # 16x the images: about a quarter of the width
        assert widths[1600][metric] < 0.5 * widths[100][metric], metric
    again = make_leaderboard([tmp_path / "n100"], BootstrapSettings(replicates=300, seed=1)).rows[0].ci
    other = make_leaderboard([tmp_path / "n100"], BootstrapSettings(replicates=300, seed=2)).rows[0].ci
    assert again["auroc_harmonic"][0] + widths[100]["auroc_harmonic"] == pytest.approx(again["auroc_harmonic"][1])
    assert other != again


def test_bootstrap_of_many_replicates_takes_seconds():
    rng = np.random.default_rng(0)
    group = []
    for _ in range(3):
        labels = (rng.random((1500, 14)) < 0.1).astype(np.float32)
        scores = (labels + rng.normal(size=labels.shape)).astype(np.float32)
        group.append(RunScores(scores, labels, list(range(10)), list(range(10, 14))))
    t = time.perf_counter()
    ci = group_intervals(group, BootstrapSettings(replicates=1000))
    assert time.perf_counter() - t < 20  # one sort per class, not per replicate: about 0.5 s here
    assert all(lo < hi for lo, hi in ci.values())


REPORTED = """\
reported:
  - source: "Hayat et al., MLHC 2021, Table 2"
    method: cxr-ml-gzsl
    dataset: nih
    protocol: nih-paper
    metrics: {auroc_seen: 0.793, auroc_unseen: 0.661, auroc_harmonic: 0.7211, f1@3: 0.2417}
  - source: "Some Paper 2023"
    method: lesa
    dataset: nih
    note: their own image split
    metrics: {auroc_unseen: 0.6555}
"""


def _after(text, heading):
    head, _, tail = text.partition(heading)
    assert tail, heading
    return head, tail


def test_build_writes_every_format_with_reported_numbers_only_in_their_section(runs, tmp_path):
    reported = tmp_path / "reported.yaml"
    reported.write_text(REPORTED)
    out = tmp_path / "lb"
    res = invoke(["leaderboard", "build", str(runs), "--out", str(out), "--bootstrap", "100", "--seed", "7",
                  "--title", "Test board", "--reported", str(reported)])
    assert res.exit_code == 0, res.output
    assert "G1" in res.stdout and "3 groups from 6 runs" in res.stderr
    for name in FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for png in ("plots/suh.png", "plots/per_class_auroc.png"):
        with Image.open(out / png) as img:
            assert img.format == "PNG" and np.asarray(img.convert("L")).std() > 10
    doc = json.loads((out / "leaderboard.json").read_text())
    assert doc["title"] == "Test board" and doc["bootstrap"]["replicates"] == 100 and doc["bootstrap"]["seed"] == 7
    assert sorted(doc["run_ids"]) == ["paper-s0", "paper-s1", "paper-s2", "rand-0", "rand-1", "upper"]
    assert doc["zsbench_version"] and [g["zero_shot"] for g in doc["groups"]].count(False) == 1
    assert doc["reported_not_measured"][0]["source"].startswith("Hayat")
    assert "0.793" not in json.dumps(doc["groups"]) and "Hayat" not in json.dumps(doc["groups"])

    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    measured = [r for r in rows if r["section"] == "measured"]
    assert len(measured) == 3 and [r["section"] for r in rows[3:]] == [HEADING, HEADING]
    by_id = {g["id"]: g for g in doc["groups"]}
    for r in measured:
        g = by_id[r["id"]]
        assert float(r["auroc_harmonic"]) == g["metrics"]["auroc_harmonic"]["mean"]
        assert float(r["map_unseen"]) == g["metrics"]["map_unseen"]["mean"]
        assert float(r["auroc_unseen_ci_low"]) == g["ci95"]["auroc_unseen"][0]
        assert r["zero_shot"] == ("false" if r["method"] == "supervised" else "true")
    assert rows[3]["auroc_seen"] == "0.793" and rows[3]["source"].startswith("Hayat")

    md = (out / "leaderboard.md").read_text()
    before, after = _after(md, f"## {HEADING}")
    assert "Hayat" not in before and "0.793" not in before and "0.6555" not in before
    assert "Hayat" in after and "0.6555" in after and "their own image split" in after  # as written
    assert "supervised (not zero-shot)" in before and "## How these numbers were made" in before
    assert "| mAP-S | mAP-U | mAP |" in before
    tex = (out / "leaderboard.tex").read_text()
    before, after = _after(tex, r"\paragraph{Reported (not measured by zsbench)}")
    assert r"\toprule" in before and r"\bottomrule" in before and "Hayat" not in before and "Hayat" in after
    assert r"supervised\textsuperscript{\dag}" in before and r"synthetic-paper" in before
    page = (out / "index.html").read_text()
    before, after = _after(page, "<section class=reported")
    assert "Hayat" not in before and "0.793" not in before and f"<h2>{HEADING}</h2>" in after
    # measured, per-class and reported tables, and two pairwise matrices of the two synthetic-paper groups
    assert page.count("<tr") == 1 + 3 + 1 + len(CLASSES) + 1 + 2 + 2 * (1 + 2)
    assert 'id="pairwise-auroc_harmonic"' in page and 'id="pairwise-auroc_unseen"' in page
    assert "not zero-shot</span>" in before
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//|file:)", page, re.I)
    assert page.count('src="data:image/png;base64,') == 2


@pytest.mark.parametrize("text, message", [
    ("- source: x", "must be one mapping 'reported:'"),
    ("reported:\n  - {source: s, method: m, metrics: {auroc_seen: 0.7}}", "'dataset' is required"),
    ("reported:\n  - {source: s, method: m, dataset: d, metrics: {auroc_seen: 79}}", "in [0, 1]"),
    ("reported:\n  - {source: s, method: m, dataset: d, metrics: {auc: 0.7}}", "unknown metric 'auc'"),
    ("reported:\n  - {source: s, method: m, dataset: d, year: 2021, metrics: {f1@3: 0.2}}", "unknown key 'year'"),
    ("reported:\n  - {source: s, method: m, dataset: d, metrics: {}}", "'metrics' must map"),
    ("reported: [\n", "line"),
])
def test_reported_file_errors_name_the_file_and_entry(tmp_path, text, message):
    path = tmp_path / "rep.yaml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_reported(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_missing_or_malformed_runs_are_one_line_errors(runs, tmp_path):
    def error(*args):
        res = invoke(["leaderboard", "build", *map(str, args), "--out", str(tmp_path / "lb"), "--bootstrap", "10"])
        assert res.exit_code == 2, res.output
        assert len(res.stderr.strip().splitlines()) == 1
        return res.stderr

    (tmp_path / "empty").mkdir()
    assert "no result.json found" in error(tmp_path / "empty")
    bad = make_run(tmp_path / "bad", "bad", n=40)
    result = json.loads((bad / "result.json").read_text())
    del result["config"]["method"]
    (bad / "result.json").write_text(json.dumps(result))
    assert f"{bad / 'result.json'}: malformed result, 'config.method' is missing" in error(bad)
    (bad / "result.json").write_text("[1, 2")
    assert "result.json" in error(tmp_path / "bad")
    copy = make_run(tmp_path / "copy", "paper-s0", n=40)
    assert "appears twice" in error(runs, copy)
    stale = make_run(tmp_path / "stale", "stale", n=40)
    result = json.loads((stale / "result.json").read_text())
    result["metrics"]["auroc_seen"] += 0.01
    (stale / "result.json").write_text(json.dumps(result))
    assert "zsbench rescore" in error(stale)
    assert not (tmp_path / "lb").exists()  # nothing is written when any run is bad


def _chromium(*args):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium); "
                    ".ci/run installs it")
def test_pairwise_section_pairs_groups_on_common_splits_and_seeds(runs, tmp_path):
    out = tmp_path / "lb"
    assert invoke(["leaderboard", "build", str(runs), "--out", str(out), "--bootstrap", "20",
                   "--stats-replicates", "300"]).exit_code == 0
    doc = json.loads((out / "leaderboard.json").read_text())
    ids = {g["method"] + "/" + g["protocol"]: g["id"] for g in doc["groups"]}
    (pair,) = doc["pairwise"]  # cxr-ml-gzsl (3 seeds) and supervised (seed 0) share (synthetic-paper, 0)
    assert {pair["a_id"], pair["b_id"]} == {ids["cxr-ml-gzsl/synthetic-paper"], ids["supervised/synthetic-paper"]}
    assert pair["n_pairs"] == 1 and pair["image_paired"]
    by_id = {g["id"]: g for g in doc["groups"]}
    a, b = by_id[pair["a_id"]], by_id[pair["b_id"]]
    run_a = json.loads((runs / ("paper/paper-s0" if a["method"] != "supervised" else "upper") / "result.json")
                       .read_text())
    run_b = json.loads((runs / ("paper/paper-s0" if b["method"] != "supervised" else "upper") / "result.json")
                       .read_text())
    h = pair["differences"]["auroc_harmonic"]
    assert h["mean"] == pytest.approx(run_a["metrics"]["auroc_harmonic"] - run_b["metrics"]["auroc_harmonic"])
    assert h["levels"] == ["splits", "seeds", "test images"] and h["ci95"][0] <= h["mean"] <= h["ci95"][1]
    hier = a["hierarchical"]["auroc_unseen"]
    assert hier["n_runs"] == len(a["run_ids"]) and hier["ci95"][0] <= hier["mean"] <= hier["ci95"][1]
    rows = list(csv.DictReader(io.StringIO((out / "pairwise.csv").read_text())))
    assert {r["metric"] for r in rows} >= {"auroc_seen", "auroc_unseen", "auroc_harmonic", "map_all", "f1@3"}
    md = (out / "leaderboard.md").read_text()
    assert "## Paired differences" in md and "## Uncertainty by source" in md
    assert doc["stats"]["replicates"] == 300 and "sign-flip" in doc["stats"]["p_value"]


def test_leaderboard_page_renders_and_sorts_in_headless_chromium(runs, tmp_path):
    out = tmp_path / "lb"
    assert invoke(["leaderboard", "build", str(runs), "--out", str(out), "--bootstrap", "20"]).exit_code == 0
    doc = json.loads((out / "leaderboard.json").read_text())
    dom = _chromium("--dump-dom", (out / "index.html").as_uri() + "#sort=auroc_unseen:asc")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-sortable="ready"' in dom.stdout  # the inline script ran
    table = dom.stdout.split('id="leaderboard"')[1].split("</table>")[0]
    ids = re.findall(r"<tr[^>]*><td>(G\d)</td>", table)
    assert sorted(ids) == ["G1", "G2", "G3"]
    u = {g["id"]: g["metrics"]["auroc_unseen"]["mean"] for g in doc["groups"]}
    assert ids == sorted(u, key=u.get)  # ascending unseen AUROC, as the URL asked
    shot = tmp_path / "shot.png"
    proc = _chromium("--window-size=1280,1400", f"--screenshot={shot}", (out / "index.html").as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert rgb.shape[:2] == (1400, 1280) and rgb.std() > 20  # not a blank page
    header = (np.abs(rgb - [0xF6, 0xF8, 0xFA]).max(axis=2) <= 2).mean()  # table header cells
    bars = (np.abs(rgb - [0x82, 0x50, 0xDF]).max(axis=2) <= 8).mean()  # the U bars of the plot
    assert header > 0.001 and bars > 0.001
    # the pairwise matrices, lower on the page, are drawn with their colours
    shot = tmp_path / "pairwise.png"
    proc = _chromium("--window-size=1280,5000", f"--screenshot={shot}", (out / "index.html").as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    coloured = sum((np.abs(rgb - c).max(axis=2) <= 2).sum() for c in ([0xB7, 0xE4, 0xC7], [0xF5, 0xC2, 0xC0],
                                                                      [0xEE, 0xEE, 0xEE]))
    assert coloured > 500  # pixels of pairwise cells (green, red or grey)


def test_method_label_tells_presets_and_a_fine_tuned_lesa_apart():
    from pathlib import Path

    from zsbench.leaderboard.collect import method_label

    def label(method: str, described: dict) -> str:
        return method_label({"config": {"method": method}, "method": described}, Path("result.json"))

    assert label("cxr-ml-gzsl", {"preset": "reference"}) == "cxr-ml-gzsl:reference"
    assert label("lesa", {"frozen": True, "frozen_backbone": True}) == "lesa"
    assert label("lesa", {"frozen": False, "frozen_backbone": False}) == "lesa:fine-tuned"
    assert label("linear", {}) == "linear"


def test_runs_trained_for_other_epochs_form_their_own_group_and_compare_pairs_them(tmp_path):
    root = tmp_path / "runs"
    for epochs in (15, 30):  # the same method on the same splits, trained for longer
        for i in range(3):
            make_run(root / f"e{epochs}", f"e{epochs}-{i}", epochs=epochs, rng_seed=10 * epochs + i,
                     split_name=f"synthetic-random-u4-s0-{i:03d}", random_split=True)
    make_run(root, "free", method="clip-zeroshot", epochs=15, trained_on_labels=False)
    board = make_leaderboard([root], BootstrapSettings(replicates=0))
    assert sorted((r.key.method, r.key.epochs, len(r.run_ids)) for r in board.rows) == [
        ("clip-zeroshot", "-", 1), ("cxr-ml-gzsl", "15", 3), ("cxr-ml-gzsl", "30", 3)]
    out = tmp_path / "lb"
    assert invoke(["leaderboard", "build", str(root), "--out", str(out), "--bootstrap", "0",
                   "--stats-replicates", "0"]).exit_code == 0
    md = (out / "leaderboard.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| id |")).split(" | ")
    table = md.split("| id |")[1].split("\n\n")[0].splitlines()[2:]  # the measured table's rows
    cells = sorted((c[header.index("method")], c[header.index("epochs")]) for c in (r.split(" | ") for r in table))
    assert cells == [("clip-zeroshot (training-free)", "-"), ("cxr-ml-gzsl", "15"), ("cxr-ml-gzsl", "30")]
    assert sorted(r["epochs"] for r in csv.DictReader((out / "leaderboard.csv").open())) == ["-", "15", "30"]
    assert '<th data-key="epochs">epochs</th>' in (out / "index.html").read_text()
    res = invoke(["compare", str(root / "e15"), str(root / "e30"), "--json", "--replicates", "50"])
    (pair,) = json.loads(res.stdout)["comparisons"]
    assert {pair["a"]["epochs"], pair["b"]["epochs"]} == {"15", "30"} and len(pair["pairs"]) == 3
