import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from zsbench.metrics import auroc, average_precision, evaluate, harmonic_mean, top_k_counts


def test_auroc_hand_computed_with_ties():
    # positives 0.8, 0.5 ; negatives 0.5, 0.1: pairs (0.8>0.5)=1, (0.8>0.1)=1, (0.5=0.5)=1/2, (0.5>0.1)=1
    scores = np.array([0.8, 0.5, 0.5, 0.1])
    labels = np.array([1, 1, 0, 0], dtype=float)
    assert auroc(scores, labels) == pytest.approx(3.5 / 4)


def test_auroc_matches_sklearn_on_random_data_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 5, size=60).astype(float)  # many ties
        labels = (rng.random(60) < 0.3).astype(float)
        assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_auroc_ignores_nan_labels_and_is_nan_without_both_classes():
    scores = np.array([0.9, 0.2, 0.7, 0.1])
    labels = np.array([1, 0, np.nan, np.nan])
    assert auroc(scores, labels) == 1.0
    assert math.isnan(auroc(scores, np.array([1, 1, np.nan, 1.0])))
    assert math.isnan(auroc(scores, np.zeros(4)))


def test_top_k_hand_computed_with_tie_broken_by_column_order():
    scores = np.array([[0.9, 0.5, 0.5, 0.1], [0.1, 0.2, 0.3, 0.4]])
    labels = np.array([[1, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    # image 0 top-2: col 0, then col 1 wins the 0.5 tie by column order -> TP 1
    # image 1 top-2: cols 3, 2 -> TP 1
    assert top_k_counts(scores, labels, 2) == (2, 4, 3)


def test_top_k_skips_unknown_labels():
    scores = np.array([[0.9, 0.8, 0.1]])
    labels = np.array([[np.nan, 1, 0]])
    assert top_k_counts(scores, labels, 1) == (1, 1, 1)


def test_evaluate_against_independent_computation():
    rng = np.random.default_rng(1)
    n, c = 200, 6
    labels = (rng.random((n, c)) < 0.25).astype(float)
    scores = labels * 0.5 + rng.random((n, c))
    seen, unseen = [0, 1, 2, 3], [4, 5]
    out = evaluate(scores, labels, seen, unseen, ks=(2, 3))
    per = [roc_auc_score(labels[:, j], scores[:, j]) for j in range(c)]
    assert out["auroc_per_class"] == pytest.approx(per)
    s, u = np.mean(per[:4]), np.mean(per[4:])
    assert out["auroc_seen"] == pytest.approx(s)
    assert out["auroc_unseen"] == pytest.approx(u)
    assert out["auroc_harmonic"] == pytest.approx(2 * s * u / (s + u))
    for k in (2, 3):
        top = np.argsort(-scores, axis=1)[:, :k]
        tp = sum(labels[i, top[i]].sum() for i in range(n))
        p, r = tp / (n * k), tp / labels.sum()
        assert out[f"p@{k}"] == pytest.approx(p)
        assert out[f"r@{k}"] == pytest.approx(r)
        assert out[f"f1@{k}"] == pytest.approx(2 * p * r / (p + r))


def test_evaluate_leaves_nan_classes_out_of_the_means():
    scores = np.array([[0.9, 0.1, 0.3], [0.1, 0.8, 0.6], [0.5, 0.4, 0.2]])
    labels = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float)  # class 2 has no positive
    out = evaluate(scores, labels, seen=[0, 2], unseen=[1])
    assert math.isnan(out["auroc_per_class"][2])
    assert out["auroc_seen"] == 1.0
    assert out["auroc_unseen"] == 1.0


def test_evaluate_rejects_overlap_and_shape_mismatch():
    with pytest.raises(ValueError):
        evaluate(np.zeros((2, 2)), np.zeros((2, 2)), [0], [0])
    with pytest.raises(ValueError):
        evaluate(np.zeros((2, 2)), np.zeros((2, 3)), [0], [1])


def test_harmonic_mean():
    assert harmonic_mean(0.8, 0.6) == pytest.approx(2 * 0.48 / 1.4)
    assert math.isnan(harmonic_mean(float("nan"), 0.5))


def test_average_precision_hand_computed_with_ties():
    # scores 0.9 (pos), 0.5 (pos, neg tied), 0.1 (neg): thresholds 0.9 -> P 1, R 1/2; 0.5 -> P 2/3, R 1
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    labels = np.array([1.0, 1.0, 0.0, 0.0])
    assert average_precision(scores, labels) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert math.isnan(average_precision(scores, np.zeros(4)))  # no positive: undefined
    assert average_precision(scores, np.ones(4)) == 1.0  # no negative: perfect


def test_average_precision_matches_sklearn_on_random_cases_with_ties_and_nan_labels():
    rng = np.random.default_rng(7)
    worst, checked = 0.0, 0
    for _ in range(400):
        n = int(rng.integers(2, 80))
        scores = np.round(rng.random(n) * int(rng.integers(1, 8))) / 8  # few distinct values: many ties
        labels = (rng.random(n) < rng.random()).astype(float)
        labels[rng.random(n) < 0.25] = np.nan
        known = ~np.isnan(labels)
        if not (labels[known] > 0).any():
            assert math.isnan(average_precision(scores, labels))
            continue
        expected = average_precision_score(labels[known] > 0, scores[known])
        worst = max(worst, abs(average_precision(scores, labels) - expected))
        checked += 1
    assert checked > 300 and worst <= 1e-9


def test_evaluate_map_means_over_seen_unseen_and_all():
    rng = np.random.default_rng(3)
    scores = rng.random((60, 5))
    labels = (rng.random((60, 5)) < 0.3).astype(float)
    labels[::7, 1] = np.nan
    labels[:, 4] = 0.0  # no positive: AP is NaN and left out of the means
    out = evaluate(scores, labels, seen=[0, 1, 4], unseen=[2], ks=(1,))
    ap = []
    for c in range(5):
        known = ~np.isnan(labels[:, c])
        ap.append(average_precision_score(labels[known, c], scores[known, c]) if c != 4 and c != 3 else math.nan)
    assert out["ap_per_class"][:3] == pytest.approx(ap[:3], abs=1e-12)
    assert math.isnan(out["ap_per_class"][3]) and math.isnan(out["ap_per_class"][4])  # 3: in neither list
    assert out["map_seen"] == pytest.approx((ap[0] + ap[1]) / 2, abs=1e-12)
    assert out["map_unseen"] == pytest.approx(ap[2], abs=1e-12)
    assert out["map_all"] == pytest.approx((ap[0] + ap[1] + ap[2]) / 3, abs=1e-12)
