"""Transferability ground truth: each unseen class's share of attributes shown by seen classes,
recorded by runs, used by U_covered, by rescore and by `splits make --min-coverage`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from tests.run_fixtures import CLASSES, make_run
from zsbench.cli.main import cli
from zsbench.data.base import ClassInfo
from zsbench.data.coverage import attribute_coverage, fully_covered
from zsbench.data.random_splits import make_random_splits
from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME
from zsbench.data.synthetic.world import WORLD_VERSION, SyntheticWorld
from zsbench.errors import UsageError
from zsbench.metrics import evaluate


def _shares(seen, unseen):
    """Independent computation from the recipes' attribute names (not the vectors)."""
    shown = set().union(*(RECIPES_BY_NAME[s].attributes for s in seen))
    return {u: len(set(RECIPES_BY_NAME[u].attributes) & shown) / len(RECIPES_BY_NAME[u].attributes) for u in unseen}


def test_coverage_hand_computed_and_none_without_attributes():
    classes = [ClassInfo("A", attributes=(1, 1, 0, 0)), ClassInfo("B", attributes=(0, 1, 1, 0)),
               ClassInfo("C", attributes=(0, 0, 1, 1)), ClassInfo("D", attributes=(1, 0, 0, 0))]
    coverage = attribute_coverage(classes, ["A"], ["B", "C", "D"])
    assert coverage == {"B": 0.5, "C": 0.0, "D": 1.0} and fully_covered(coverage) == ["D"]
    assert attribute_coverage([ClassInfo("A"), ClassInfo("B")], ["A"], ["B"]) is None
    assert fully_covered(None) is None


def test_u_covered_is_the_mean_unseen_auroc_over_covered_classes():
    rng = np.random.default_rng(0)
    labels = (rng.random((80, 4)) < 0.3).astype(float)
    scores = labels * 0.8 + rng.random((80, 4))
    out = evaluate(scores, labels, seen=[0], unseen=[1, 2, 3], ks=(1,), covered=[1, 3])
    assert out["auroc_unseen_covered"] == pytest.approx((out["auroc_per_class"][1] + out["auroc_per_class"][3]) / 2)
    assert math.isnan(evaluate(scores, labels, [0], [1, 2, 3], ks=(1,), covered=[])["auroc_unseen_covered"])
    assert "auroc_unseen_covered" not in evaluate(scores, labels, [0], [1, 2, 3], ks=(1,))


def test_a_run_records_coverage_and_u_covered(tiny_trained_run):
    result = json.loads((tiny_trained_run / "result.json").read_text())
    seen, unseen = result["classes"]["seen"], result["classes"]["unseen"]
    assert result["class_split"]["coverage"] == pytest.approx(_shares(seen, unseen))
    covered = [u for u, share in _shares(seen, unseen).items() if share == 1]
    per_class = dict(zip(result["classes"]["all"], result["metrics"]["auroc_per_class"], strict=True))
    assert result["metrics"]["auroc_unseen_covered"] == pytest.approx(np.mean([per_class[u] for u in covered]))


def test_splits_make_min_coverage_draws_only_covered_splits(tmp_path):
    res = CliRunner().invoke(cli, ["splits", "make", "--dataset", "synthetic", "--n-images", "300", "--n-unseen", "4",
                                   "--count", "4", "--min-coverage", "1", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    files = sorted(tmp_path.glob("*.yaml"))
    assert [f.name for f in files] == [f"synthetic-random-u4-c100-s0-{i:03d}.yaml" for i in range(4)]
    for f in files:
        split = yaml.safe_load(f.read_text())
        assert set(_shares(split["seen"], split["unseen"]).values()) == {1.0}
        assert split["generator"]["min_coverage"] == 1.0
    refused = CliRunner().invoke(cli, ["splits", "make", "--dataset", "synthetic", "--n-images", "300",
                                       "--n-unseen", "4", "--count", "1", "--min-coverage", "1.5"])
    assert refused.exit_code == 2 and "from 0 to 1" in refused.stderr


def test_random_splits_never_repeat_and_say_when_no_new_one_is_left():
    world = SyntheticWorld(n_images=300, image_size=32)
    names = world.table().class_names
    # one unseen class: the covered splits are exactly the classes whose attributes others show
    coverable = sorted(u for u in names if _shares([n for n in names if n != u], [u])[u] == 1)
    splits = make_random_splits(world.table(), "synthetic", 1, len(coverable), 0, world.classes(), 1.0)
    assert sorted(s.unseen[0] for s in splits) == coverable  # each once, none twice
    with pytest.raises(UsageError, match=f"differed from the {len(coverable)} splits before it"):
        make_random_splits(world.table(), "synthetic", 1, len(coverable) + 1, 0, world.classes(), 1.0)


def test_rescore_adds_coverage_to_a_run_of_the_current_world(tmp_path):
    run = make_run(tmp_path, "old", n=150)
    result = json.loads((run / "result.json").read_text())
    result["dataset"] = {**result["dataset"], "generator": "zsbench.data.synthetic", "world_version": WORLD_VERSION}
    (run / "result.json").write_text(json.dumps(result))
    assert CliRunner().invoke(cli, ["rescore", str(run)]).exit_code == 0
    new = json.loads((run / "result.json").read_text())
    unseen = new["classes"]["unseen"]
    assert new["class_split"]["coverage"] == pytest.approx(_shares(new["classes"]["seen"], unseen))
    covered = [u for u, share in new["class_split"]["coverage"].items() if share == 1]
    per_class = dict(zip(CLASSES, new["metrics"]["auroc_per_class"], strict=True))
    assert new["metrics"]["auroc_unseen_covered"] == pytest.approx(np.mean([per_class[u] for u in covered]))


def test_leaderboard_shows_u_covered_and_per_class_coverage(tmp_path):
    for seed in range(2):
        run = make_run(tmp_path / "runs", f"r{seed}", seed=seed, n=150)
        result = json.loads((run / "result.json").read_text())
        result["dataset"] = {**result["dataset"], "generator": "zsbench.data.synthetic", "world_version": WORLD_VERSION}
        (run / "result.json").write_text(json.dumps(result))
        assert CliRunner().invoke(cli, ["rescore", str(run)]).exit_code == 0
    out = tmp_path / "lb"
    res = CliRunner().invoke(cli, ["leaderboard", "build", str(tmp_path / "runs"), "--out", str(out),
                                   "--bootstrap", "10", "--stats-replicates", "50"])
    assert res.exit_code == 0, res.output
    md = (out / "leaderboard.md").read_text()
    assert "| U-cov |" in md and "(cov 1.00)" in md
    doc = json.loads((out / "leaderboard.json").read_text())
    (group,) = doc["groups"]
    assert group["metrics"]["auroc_unseen_covered"]["n"] == 2
    assert group["per_class_auroc"]["Edema"]["unseen_coverage"]["mean"] == pytest.approx(1.0)
