"""Paired hierarchical statistics: checked against scipy on small cases and on constructed cases
whose answer is known."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats
from sklearn.metrics import roc_auc_score

from tests.run_fixtures import CLASSES, make_run
from zsbench.cli.main import cli
from zsbench.leaderboard.stats import (
    StatsSettings,
    Unit,
    estimate,
    hierarchical_replicates,
    holm,
    sign_flip_p,
    spread,
)


def _units(values: dict[str, list[float]], metric: str = "m") -> list[Unit]:
    return [Unit(split, seed, {metric: v}) for split, vs in values.items() for seed, v in enumerate(vs)]


@pytest.mark.parametrize("m", [3, 6, 9])
def test_exact_sign_flip_p_equals_scipy_permutation_test(m):
    rng = np.random.default_rng(m)
    for _ in range(5):
        d = rng.normal(0.02, 0.05, size=m)
        ours, exact = sign_flip_p(d, 0, rng)
        theirs = scipy_stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf,
                                              alternative="two-sided").pvalue
        assert exact and ours == pytest.approx(theirs, abs=1e-12)


def test_monte_carlo_sign_flip_p_is_close_to_scipy_above_the_exact_limit():
    rng = np.random.default_rng(1)
    d = rng.normal(0.01, 0.05, size=20)  # 20 splits: Monte-Carlo
    ours, exact = sign_flip_p(d, 40000, np.random.default_rng(2))
    theirs = scipy_stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=40000,
                                          alternative="two-sided", random_state=3).pvalue
    assert not exact and abs(ours - theirs) < 0.015 and 0 < ours <= 1


def test_a_constant_difference_has_a_degenerate_ci_and_the_smallest_exact_p():
    units = _units({f"s{i}": [0.1, 0.1] for i in range(5)})
    e = estimate(units, "m", StatsSettings(replicates=500), np.random.default_rng(0), paired=True)
    assert e.mean == pytest.approx(0.1) and e.ci == pytest.approx((0.1, 0.1))
    assert e.p == pytest.approx(2 / 2**5) and e.p_exact  # only "all kept" and "all flipped" reach |0.1|
    assert e.sd_seed == 0 and e.sd_split == 0 and e.excludes_zero
    assert (e.n_splits, e.n_runs, e.levels) == (5, 10, ("splits", "seeds"))


def test_holm_hand_computed_and_nan_passed_through():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([0.2, math.nan, 0.9])
    assert out[0] == pytest.approx(0.4) and math.isnan(out[1]) and out[2] == pytest.approx(0.9)


def test_one_seed_per_split_is_the_ordinary_percentile_bootstrap_of_the_mean():
    rng = np.random.default_rng(5)
    values = rng.normal(0.6, 0.08, size=12)
    tree = [[i] for i in range(12)]
    reps = hierarchical_replicates(values, tree, None, 40000, np.random.default_rng(6))
    ours = np.percentile(reps, [2.5, 97.5])
    theirs = scipy_stats.bootstrap((values,), np.mean, n_resamples=40000, method="percentile",
                                   random_state=7).confidence_interval
    assert ours == pytest.approx([theirs.low, theirs.high], abs=0.004)
    assert reps.mean() == pytest.approx(values.mean(), abs=0.002)


def test_spread_recovers_known_split_and_seed_variances():
    rng = np.random.default_rng(11)
    values, tree, k = [], [], 0
    for _ in range(400):  # 400 splits x 4 seeds: split sd 0.05, seed sd 0.02
        effect = rng.normal(0, 0.05)
        tree.append(list(range(k, k + 4)))
        values += list(0.6 + effect + rng.normal(0, 0.02, size=4))
        k += 4
    sd_split, sd_seed = spread(np.array(values), tree)
    assert sd_split == pytest.approx(0.05, rel=0.1) and sd_seed == pytest.approx(0.02, rel=0.1)


def test_hierarchical_ci_is_wider_than_an_image_only_ci_when_splits_vary():
    """The image-only bootstrap the leaderboard used to show ignores the split spread."""
    rng = np.random.default_rng(2)
    units = []
    for s in range(6):
        effect = rng.normal(0, 0.06)
        for seed in range(2):
            pool = 0.6 + effect + rng.normal(0, 0.01, size=(200, 3))
            units.append(Unit(f"s{s}", seed, {"auroc_unseen": float(pool[:, 1].mean())}, pool))
    e = estimate(units, "auroc_unseen", StatsSettings(replicates=4000), np.random.default_rng(0))
    assert e.levels == ("splits", "seeds", "test images")
    assert e.sd_image == pytest.approx(0.01, rel=0.15) and e.sd_split > 0.02
    image_only_half_width = 1.96 * 0.01 / math.sqrt(len(units))
    assert (e.ci[1] - e.ci[0]) / 2 > 3 * image_only_half_width


def _pair_runs(root):
    """Two methods on 3 random splits x 2 seeds; a pair shares its test images and labels
    (same generator), the better method carries more signal."""
    for split in range(3):
        unseen = [CLASSES[(split * 3 + j) % 14] for j in range(4)]
        for seed in range(2):
            for method, signal in (("cxr-ml-gzsl", 1.2), ("linear", 0.6)):
                make_run(root / method, f"{method}-{split}-{seed}", method=method, seed=seed, n=160,
                         rng_seed=100 * split + seed, unseen=unseen, split_name=f"synthetic-random-u4-s0-{split:03d}",
                         random_split=True, signal=signal)


def _sklearn_u(run_dir):
    result = json.loads((run_dir / "result.json").read_text())
    with np.load(run_dir / "scores.npz") as npz:
        scores, labels = npz["scores"], npz["labels"]
    values = []
    for name in result["classes"]["unseen"]:
        c = CLASSES.index(name)
        known = ~np.isnan(labels[:, c])
        values.append(roc_auc_score(labels[known, c], scores[known, c]))
    return statistics.mean(values)


def test_compare_command_pairs_runs_and_matches_an_independent_computation(tmp_path):
    _pair_runs(tmp_path)
    res = CliRunner().invoke(cli, ["compare", str(tmp_path / "cxr-ml-gzsl"), str(tmp_path / "linear"),
                                   "--replicates", "500", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    (comp,) = doc["comparisons"]
    assert (comp["n_pairs"], comp["n_splits"], comp["image_paired"]) == (6, 3, True)
    sign = 1 if comp["a"]["method"] == "cxr-ml-gzsl" else -1
    diffs = {}
    for split in range(3):
        diffs[split] = [_sklearn_u(tmp_path / "cxr-ml-gzsl" / f"cxr-ml-gzsl-{split}-{seed}")
                        - _sklearn_u(tmp_path / "linear" / f"linear-{split}-{seed}") for seed in range(2)]
    expected = statistics.mean(statistics.mean(v) for v in diffs.values())
    u = comp["differences"]["auroc_unseen"]
    assert u["mean"] == pytest.approx(sign * expected, abs=1e-12)
    assert u["levels"] == ["splits", "seeds", "test images"] and u["ci95"][0] <= u["mean"] <= u["ci95"][1]
    split_means = [sign * statistics.mean(v) for v in diffs.values()]
    p = scipy_stats.permutation_test((np.array(split_means),), np.mean, permutation_type="samples",
                                     n_resamples=np.inf).pvalue
    assert u["p"] == pytest.approx(p) and u["p_holm"] == pytest.approx(p)  # one comparison: Holm changes nothing
    assert {"map_unseen", "f1@3"} <= set(comp["differences"])
    assert doc["settings"]["replicates"] == 500 and "hierarchical" in doc["settings"]["method"]
    table = CliRunner().invoke(cli, ["compare", str(tmp_path), "--replicates", "200"])
    assert table.exit_code == 0 and "ΔU" in table.stdout and "linear" in table.stdout
    assert "p=0.250" in table.stdout  # 3 splits: the smallest two-sided sign-flip p is 2/2^3


def test_compare_refuses_a_single_group_in_one_line(tmp_path):
    make_run(tmp_path, "only", n=60)
    res = CliRunner().invoke(cli, ["compare", str(tmp_path)])
    assert res.exit_code == 2 and len(res.stderr.splitlines()) == 1 and "at least two" in res.stderr
