"""LESA: shared multi-attention over feature-map regions, its four loss terms and frozen backbone."""

import math

import pytest
import torch

from tests.method_helpers import TEXT_DIM, changed, fit_losses, train_briefly
from zsbench.backbones.tiny_cnn import TinyCNN
from zsbench.errors import UsageError
from zsbench.methods.lesa import (
    Lesa,
    LesaConfig,
    coverage_loss,
    create_lesa,
    diversity_loss,
    lesa_ranking_loss,
    relevance_loss,
)

NAN = float("nan")


def test_ranking_loss_divides_by_the_violating_pairs():
    scores = torch.tensor([[1.2, 0.5, 1.8], [0.0, 0.3, 0.1], [3.0, 0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, NAN], [1.0, 0.0, 0.0]])
    # image 0: pos 1.2 vs negs 0.5, 1.8 -> hinges 0.3, 1.6, both violate -> 1.9 / 2 = 0.95
    # image 1: pos 0.3 vs neg 0.0 (class 2 unknown) -> 0.7 / 1 = 0.7
    # image 2: 1 + 0 - 3 < 0, no violating pair -> 0 (not 0 / 0)
    expected = (0.95 + 0.7 + 0.0) / 3
    assert lesa_ranking_loss(scores, labels, margin=1.0).item() == pytest.approx(expected)


def test_ranking_loss_counts_only_violating_pairs():
    scores = torch.tensor([[2.0, 1.5, -5.0]])
    labels = torch.tensor([[1.0, 0.0, 0.0]])
    # pairs: (2.0, 1.5) -> 0.5 violates ; (2.0, -5.0) -> 0 does not: 0.5 / 1, not 0.5 / 2
    assert lesa_ranking_loss(scores, labels).item() == pytest.approx(0.5)


def test_coverage_loss_hand_computed():
    head_scores = torch.tensor([[[0.0, 0.0, 9.0], [0.0, math.log(3.0), -9.0]]])  # n=1, M=2 heads, C=3
    labels = torch.tensor([[1.0, 1.0, 0.0]])
    # class 0 picks heads (1/2, 1/2), class 1 (1/4, 3/4); class 2 is negative
    # loads: 0.75 and 1.25 -> mean of squares (0.5625 + 1.5625) / 2
    assert coverage_loss(head_scores, labels).item() == pytest.approx(1.0625, rel=1e-6)
    # the same two labels spread evenly over the heads cost less than both on one head
    even = torch.tensor([[[5.0, -5.0], [-5.0, 5.0]]])
    same = torch.tensor([[[5.0, 5.0], [-5.0, -5.0]]])
    two = torch.tensor([[1.0, 1.0]])
    assert coverage_loss(even, two) < coverage_loss(same, two)


def test_relevance_loss_hand_computed():
    scores = torch.tensor([[1.0, 0.2, 0.5], [0.0, 0.0, 0.0]])
    global_scores = torch.tensor([[1.5, 0.1, 2.0], [1.0, 1.0, 1.0]])
    labels = torch.tensor([[1.0, 1.0, 0.0], [NAN, 1.0, 0.0]])
    # image 0: positives 0 -> max(1.5 - 1.0, 0) = 0.5, 1 -> max(0.1 - 0.2, 0) = 0 ; negative ignored
    # image 1: only class 1 is a known positive -> 1.0 ; mean over images
    assert relevance_loss(scores, global_scores, labels).item() == pytest.approx(0.75)
    assert relevance_loss(scores, global_scores, labels, margin=0.5).item() == pytest.approx((1.0 + 0.4 + 1.5) / 2)


def test_diversity_loss_hand_computed():
    logits = torch.tensor([[[1.0, 0.0], [1.0, 1.0]], [[2.0, 0.0], [0.0, 3.0]]])  # n=2, M=2, R=2
    # image 0: cos = 1/sqrt(2), squared 1/2, two ordered pairs -> 1 ; image 1: orthogonal -> 0
    assert diversity_loss(logits).item() == pytest.approx(0.5, rel=1e-6)


def _map(n=4):
    torch.manual_seed(0)
    backbone = TinyCNN(input_size=32).eval()
    with torch.no_grad():
        return backbone, backbone.forward_features(torch.randn(n, 1, 32, 32))


@pytest.mark.parametrize("conv", ["none", "1x1", "2x2"])
def test_forward_shapes_on_a_real_feature_map(conv):
    backbone, fmap = _map()
    method = create_lesa(feature_dim=backbone.feature_dim, text_dim=TEXT_DIM, options={"conv": conv, "heads": 3},
                         feature_map_dim=backbone.feature_map_dim)
    assert method.feature_kind == "map"
    assert method.regions(fmap).shape == (4, fmap.shape[2] * fmap.shape[3], backbone.feature_map_dim)
    assert method(fmap, torch.randn(7, TEXT_DIM)).shape == (4, 7)  # any number of classes


def test_score_is_the_best_head_with_normalised_class_vectors():
    torch.manual_seed(0)
    method = Lesa(5, TEXT_DIM, LesaConfig(heads=3, conv="none"))
    fmap = torch.randn(2, 5, 3, 3)
    classes = torch.randn(4, TEXT_DIM)
    _, attended = method.attend(method.regions(fmap))
    per_head = torch.einsum("nmd,cd->nmc", attended, method.embed_class(classes / classes.norm(dim=1, keepdim=True)))
    assert torch.allclose(method(fmap, classes), per_head.amax(dim=1), atol=1e-6)
    assert torch.allclose(method(fmap, 10 * classes), method(fmap, classes), atol=1e-5)  # scale-free v_c


def test_loss_is_the_weighted_sum_of_its_terms():
    torch.manual_seed(0)
    method = Lesa(5, TEXT_DIM, LesaConfig(heads=3, conv="none"))
    fmap, classes = torch.randn(3, 5, 2, 2), torch.randn(4, TEXT_DIM)
    labels = torch.tensor([[1.0, 0, 0, 1], [0, 1, NAN, 0], [0, 0, 0, 0]])
    total, parts = method.loss(fmap, classes, labels)
    assert set(parts) == {"rank", "cov", "rel", "div"}
    expected = parts["rank"] + 0.1 * parts["cov"] + 0.001 * parts["rel"] + 0.01 * parts["div"]
    assert total.item() == pytest.approx(expected, rel=1e-5)


def test_options():
    with pytest.raises(UsageError, match=r"unknown lesa option heds; known: .*heads"):
        create_lesa(feature_dim=8, text_dim=TEXT_DIM, options={"heds": 4}, feature_map_dim=4)
    with pytest.raises(UsageError, match="conv must be one of none, 1x1, 2x2"):
        create_lesa(feature_dim=8, text_dim=TEXT_DIM, options={"conv": "3x3"}, feature_map_dim=4)
    with pytest.raises(UsageError, match="feature_map_dim"):
        create_lesa(feature_dim=8, text_dim=TEXT_DIM)
    method = create_lesa(feature_dim=8, text_dim=TEXT_DIM, options={"frozen": "false"}, feature_map_dim=4)
    assert method.frozen_backbone is False and Lesa.frozen_backbone is False
    assert create_lesa(feature_dim=8, text_dim=TEXT_DIM, feature_map_dim=4).frozen_backbone is True
    with pytest.raises(UsageError, match="spatial feature map"):
        method(torch.randn(2, 4), torch.randn(3, TEXT_DIM))


def test_loss_decreases_on_a_fixed_batch():
    _, fmap = _map(8)
    method = Lesa(fmap.shape[1], TEXT_DIM, LesaConfig(heads=4))
    labels = (torch.rand(8, 5, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    losses = fit_losses(method, fmap, torch.randn(5, TEXT_DIM), labels)
    assert losses[-1] < 0.5 * losses[0]


def test_training_keeps_a_frozen_backbone_unchanged():
    backbone = TinyCNN(input_size=32)
    method = create_lesa(feature_dim=backbone.feature_dim, text_dim=TEXT_DIM, feature_map_dim=backbone.feature_map_dim)
    model, before, outcome = train_briefly(method)
    moved = changed(before, model.state_dict())
    assert moved and all(k.startswith("method.") for k in moved)  # BatchNorm statistics included
    assert math.isfinite(outcome.history[-1]["train_loss"])


def test_training_with_frozen_false_trains_the_backbone():
    method = create_lesa(feature_dim=128, text_dim=TEXT_DIM, options={"frozen": False}, feature_map_dim=64)
    model, before, _ = train_briefly(method)
    assert any(k.startswith("backbone.") for k in changed(before, model.state_dict()))
