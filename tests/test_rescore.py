import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import average_precision_score, roc_auc_score

from tests.run_fixtures import CLASSES, make_run
from zsbench.cli.main import cli
from zsbench.errors import UsageError
from zsbench.leaderboard.bootstrap import BootstrapSettings
from zsbench.leaderboard.build import make_leaderboard
from zsbench.metrics import METRICS_VERSION, evaluate
from zsbench.rescore import rescore_runs


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_rescore_of_a_real_run_reproduces_its_metrics(tiny_trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_trained_run, run)
    original = json.loads((run / "result.json").read_text())
    assert original["metrics_version"] == METRICS_VERSION  # the runner records it

    (outcome,) = rescore_runs([run])
    result = json.loads((run / "result.json").read_text())
    assert result["metrics"] == original["metrics"]  # exactly, every float
    assert outcome.changed == [] and outcome.added == []
    assert result["metrics_history"] == [
        {"metrics_version": METRICS_VERSION, "replaced": result["rescored"]["at"], "metrics": original["metrics"]}
    ]
    assert result["metrics_version"] == METRICS_VERSION and result["metrics_ks"] == original["config"]["ks"]
    untouched = {k: v for k, v in result.items() if k not in ("metrics_history", "rescored", "metrics_ks")}
    assert untouched == original
    assert not list(run.glob(".*.tmp"))  # the atomic write left no temporary file
    # a leaderboard accepts the real run: its recorded S/U/H are what its scores.npz gives
    (row,) = make_leaderboard([run], BootstrapSettings(replicates=20)).rows
    assert row.stats["auroc_harmonic"].mean == original["metrics"]["auroc_harmonic"]
    assert row.key.method == f"{original['config']['method']}:paper" and row.key.protocol == "synthetic-paper"


def test_rescore_with_new_ks_adds_them_and_keeps_every_old_version(tmp_path):
    run = make_run(tmp_path, "r1", n=150)
    first = json.loads((run / "result.json").read_text())
    res = invoke(["rescore", str(run), "--k", "1", "--k", "5"])
    assert res.exit_code == 0, res.output
    assert "+f1@1" in res.stdout and "old metrics kept" in res.stderr
    second = json.loads((run / "result.json").read_text())
    metrics = second["metrics"]
    assert {"p@1", "r@1", "f1@1", "p@5", "r@5", "f1@5", "p@2", "f1@3"} <= set(metrics)
    assert second["metrics_ks"] == [1, 2, 3, 5]
    assert second["config"]["ks"] == [2, 3]  # the run's configuration is what it was
    with np.load(run / "scores.npz") as npz:
        scores, labels = npz["scores"], npz["labels"]
    seen = [CLASSES.index(c) for c in second["classes"]["seen"]]
    unseen = [CLASSES.index(c) for c in second["classes"]["unseen"]]
    expected = evaluate(scores, labels, seen, unseen, ks=[5])
    assert metrics["f1@5"] == pytest.approx(expected["f1@5"], abs=0) and metrics["p@5"] == expected["p@5"]
    c = unseen[0]  # and one AUROC against sklearn
    known = ~np.isnan(labels[:, c])
    assert metrics["auroc_per_class"][c] == pytest.approx(roc_auc_score(labels[known, c], scores[known, c]))
    for key in first["metrics"]:
        assert metrics[key] == pytest.approx(first["metrics"][key])

    assert invoke(["rescore", str(run)]).exit_code == 0  # a second rescore keeps both older versions
    third = json.loads((run / "result.json").read_text())
    assert [h["metrics"] for h in third["metrics_history"]] == [first["metrics"], second["metrics"]]
    assert "f1@5" in third["metrics"]  # ks once added are kept


def _one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zsbench: error:"), res.stderr
    for needle in needles:
        assert needle in lines[0]


def test_missing_or_damaged_files_are_one_line_errors_and_nothing_is_written(tmp_path):
    good = make_run(tmp_path, "good", n=60)
    bad = make_run(tmp_path, "bad", n=60)
    before = (good / "result.json").read_bytes()
    (bad / "scores.npz").unlink()
    _one_line_error(invoke(["rescore", str(good), str(bad)]), "scores.npz is missing")
    assert (good / "result.json").read_bytes() == before  # the batch stops before any write

    (bad / "scores.npz").write_bytes(b"PK\x03\x04 not really a zip")
    _one_line_error(invoke(["rescore", str(bad)]), "scores.npz", "damaged")
    (bad / "result.json").write_text("{ half a file")
    _one_line_error(invoke(["rescore", str(bad)]), "result.json", "JSON")
    _one_line_error(invoke(["rescore", str(tmp_path / "nowhere")]), "no run directory")


def test_scores_that_do_not_match_the_class_lists_are_refused(tmp_path):
    run = make_run(tmp_path, "r", n=40)
    result = json.loads((run / "result.json").read_text())
    result["classes"]["unseen"] = ["Edema", "Pneumonia", "Emphysema", "Tuberculosis"]
    (run / "result.json").write_text(json.dumps(result))
    with pytest.raises(UsageError, match="no column for unseen class 'Tuberculosis'"):
        rescore_runs([run])
    with pytest.raises(UsageError, match="positive integer"):
        rescore_runs([make_run(tmp_path, "r2", n=40)], ks=[0])


def test_rescore_adds_map_to_a_run_scored_before_metrics_version_2(tmp_path):
    run = make_run(tmp_path, "old", n=150)
    result = json.loads((run / "result.json").read_text())
    old = {k: v for k, v in result["metrics"].items() if not k.startswith(("map_", "ap_"))}
    (run / "result.json").write_text(json.dumps({**result, "metrics": old, "metrics_version": 1}))
    assert invoke(["rescore", str(run)]).exit_code == 0
    new = json.loads((run / "result.json").read_text())
    assert new["metrics_version"] == METRICS_VERSION == 2
    assert new["metrics_history"][-1]["metrics_version"] == 1 and "map_all" not in new["metrics_history"][-1]["metrics"]
    with np.load(run / "scores.npz") as npz:
        scores, labels = npz["scores"], npz["labels"]
    c = CLASSES.index(new["classes"]["unseen"][0])
    known = ~np.isnan(labels[:, c])
    expected = average_precision_score(labels[known, c], scores[known, c])
    assert new["metrics"]["ap_per_class"][c] == pytest.approx(expected)
    assert {"map_seen", "map_unseen", "map_all"} <= set(new["metrics"])
