"""The linear (DeViSE-style) baseline and the supervised upper bound, plus what every method shares."""

import math

import pytest
import torch

from tests.method_helpers import TEXT_DIM, changed, fit_losses, train_briefly
from zsbench.errors import UsageError
from zsbench.methods.linear import LinearConfig, LinearEmbedding, create_linear, pairwise_hinge_loss
from zsbench.methods.supervised import Supervised, create_supervised
from zsbench.registry import METHODS

NAN = float("nan")
SCORES = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.3, 0.2]])


def test_pairwise_hinge_loss_hand_computed():
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    # triples: (0.9 vs 0.2) 0, (0.9 vs 0.5) 0.1, (0.3 vs 0.1) 0.3, (0.2 vs 0.1) 0.4 -> mean over 4
    assert pairwise_hinge_loss(SCORES, labels, margin=0.5).item() == pytest.approx(0.2)
    unknown = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, NAN]])
    # the NaN drops the (0.2 vs 0.1) triple: (0 + 0.1 + 0.3) / 3
    assert pairwise_hinge_loss(SCORES, unknown, margin=0.5).item() == pytest.approx(0.4 / 3)


def test_pairwise_hinge_loss_without_pairs_is_zero_with_a_graph():
    scores = torch.rand(2, 3, requires_grad=True)
    loss = pairwise_hinge_loss(scores, torch.zeros(2, 3), margin=0.1)
    assert loss.item() == 0.0
    loss.backward()  # still differentiable


def test_linear_scores_dot_and_cosine():
    torch.manual_seed(0)
    features, classes = torch.randn(3, 6), torch.randn(4, TEXT_DIM)
    dot = LinearEmbedding(6, TEXT_DIM, LinearConfig())
    unit = classes / classes.norm(dim=1, keepdim=True)
    assert torch.allclose(dot(features, classes), dot.project(features) @ unit.T, atol=1e-6)
    cosine = create_linear(feature_dim=6, text_dim=TEXT_DIM, options={"score": "cosine", "margin": 0.2})
    assert cosine.config == LinearConfig(margin=0.2, score="cosine")
    assert cosine(features, classes).abs().max() <= 1 + 1e-6
    assert cosine(features, torch.randn(9, TEXT_DIM)).shape == (3, 9)
    assert LinearConfig().margin == 0.1


def test_linear_loss_is_the_ranking_loss_of_its_scores():
    torch.manual_seed(0)
    method = create_linear(feature_dim=6, text_dim=TEXT_DIM)
    features, classes = torch.randn(4, 6), torch.randn(3, TEXT_DIM)
    labels = torch.tensor([[1.0, 0, 0], [0, 1, NAN], [1, 1, 0], [0, 0, 0]])
    total, parts = method.loss(features, classes, labels)
    assert total.item() == pytest.approx(pairwise_hinge_loss(method(features, classes), labels, 0.1).item())
    assert parts == {"rank": total.item()}


def test_supervised_is_an_upper_bound_over_known_classes():
    method = create_supervised(feature_dim=6, text_dim=TEXT_DIM, options={"n_classes": 5})
    assert method.zero_shot is False and Supervised.zero_shot is False
    assert method.describe()["zero_shot"] is False
    features = torch.randn(2, 6)
    logits = method.classifier(features)
    # the class texts only say how many classes are scored, in training order
    assert torch.equal(method(features, torch.randn(5, TEXT_DIM)), logits)
    assert torch.equal(method(features, torch.zeros(3, 1)), logits[:, :3])
    with pytest.raises(UsageError, match="built for 5 classes and cannot score 6"):
        method(features, torch.randn(6, TEXT_DIM))


def test_supervised_bce_ignores_unknown_labels():
    torch.manual_seed(0)
    method = Supervised(4, 3)
    features = torch.randn(2, 4)
    labels = torch.tensor([[1.0, 0.0, NAN], [0.0, NAN, 1.0]])
    total, _ = method.loss(features, torch.zeros(3, TEXT_DIM), labels)
    logits = method.classifier(features)
    known = [(0, 0, 1.0), (0, 1, 0.0), (1, 0, 0.0), (1, 2, 1.0)]
    by_hand = [-math.log(torch.sigmoid(logits[i, j] if y else -logits[i, j]).item()) for i, j, y in known]
    assert total.item() == pytest.approx(sum(by_hand) / 4, rel=1e-5)


def test_supervised_needs_n_classes():
    with pytest.raises(UsageError, match="needs option n_classes"):
        create_supervised(feature_dim=6, text_dim=TEXT_DIM)
    with pytest.raises(UsageError, match="n_classes must be int"):
        create_supervised(feature_dim=6, text_dim=TEXT_DIM, options={"n_classes": 2.5})
    assert create_supervised(feature_dim=6, text_dim=TEXT_DIM, n_classes=7).n_classes == 7  # runner keyword
    assert create_supervised(feature_dim=6, text_dim=TEXT_DIM, n_classes=7, options={"n_classes": 3}).n_classes == 3


ALL_METHODS = ["cxr-ml-gzsl", "lesa", "linear", "mlzsl", "supervised"]


def test_every_method_is_registered_with_a_description():
    for name in ALL_METHODS:
        assert name in METHODS and METHODS.entry(name).description


@pytest.mark.parametrize("name", ALL_METHODS)
def test_unknown_option_keys_are_usage_errors_naming_known_keys(name):
    with pytest.raises(UsageError, match=f"unknown {name} option bogus; known: "):
        METHODS.create(name, feature_dim=8, text_dim=TEXT_DIM, feature_map_dim=4, options={"bogus": 1})


def test_linear_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    method = create_linear(feature_dim=16, text_dim=TEXT_DIM)
    features, classes = torch.randn(16, 16), torch.randn(4, TEXT_DIM)
    labels = (torch.rand(16, 4) < 0.4).float()
    losses = fit_losses(method, features, classes, labels)
    assert losses[-1] < 0.5 * losses[0]


def test_training_smoke_linear_and_supervised():
    for method, trained in (
        (create_linear(feature_dim=128, text_dim=TEXT_DIM), "method.project."),
        (create_supervised(feature_dim=128, text_dim=TEXT_DIM, options={"n_classes": 4}), "method.classifier."),
    ):
        model, before, outcome = train_briefly(method)
        moved = changed(before, model.state_dict())
        assert any(k.startswith(trained) for k in moved)
        assert any(k.startswith("backbone.") for k in moved)
        assert math.isfinite(outcome.history[-1]["train_loss"])
