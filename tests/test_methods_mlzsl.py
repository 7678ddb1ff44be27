"""MLZSL: class graph from text similarity (+ seen co-occurrence), relation nets, GRU propagation."""

import math

import numpy as np
import pytest
import torch

from tests.method_helpers import TEXT_DIM, changed, fit_losses, train_briefly
from zsbench.errors import UsageError
from zsbench.methods.common import masked_bce_with_logits
from zsbench.methods.mlzsl import (
    Mlzsl,
    MlzslConfig,
    cooccurrence_edges,
    create_mlzsl,
    label_correlation,
    text_similarity_edges,
)

NAN = float("nan")


def _pairs(edges):
    src, dst = edges
    return sorted(zip(src.tolist(), dst.tolist(), strict=True))


def test_text_similarity_edges_hand_computed():
    emb = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    # each node's nearest other node: 0 <-> 1 and 2 <-> 3 ; edges point from the neighbour to the node
    assert _pairs(text_similarity_edges(emb, k=1)) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    # k larger than the other nodes: everyone else, never itself
    assert len(_pairs(text_similarity_edges(emb, k=10))) == 4 * 3
    assert _pairs(text_similarity_edges(emb[:1], k=3)) == []


def test_label_correlation_hand_computed():
    labels = torch.tensor([
        [1.0, 1.0, 0.0, 1.0, 1.0],
        [1.0, 1.0, 0.0, NAN, 1.0],
        [0.0, 0.0, 1.0, 0.0, 1.0],
        [0.0, 0.0, 1.0, 1.0, 1.0],
    ])
    corr = label_correlation(labels)
    assert corr[0, 1].item() == pytest.approx(1.0)
    assert corr[0, 2].item() == pytest.approx(-1.0)
    # columns 0 and 3 over rows 0, 2, 3 (row 1 unknown): a = (1,0,0), d = (1,0,1)
    # cov = 1/3 - (1/3)(2/3) = 1/9 ; var a = var d = 2/9 -> 0.5
    assert corr[0, 3].item() == pytest.approx(0.5, rel=1e-6)
    assert torch.isnan(corr[0, 4])  # column 4 is constant
    full = labels[:, :3].numpy()
    assert np.allclose(corr[:3, :3].numpy(), np.corrcoef(full.T), atol=1e-6)


def test_cooccurrence_edges_hand_computed():
    corr = torch.tensor([[1.0, 0.5, -0.3], [0.5, 1.0, 0.05], [-0.3, 0.05, 1.0]])
    pos, neg = cooccurrence_edges(corr, threshold=0.1)
    assert _pairs(pos) == [(0, 1), (1, 0)]
    assert _pairs(neg) == [(0, 2), (2, 0)]
    assert _pairs(cooccurrence_edges(torch.full((2, 2), NAN), 0.1)[0]) == []


def _method(**options):
    torch.manual_seed(0)
    return create_mlzsl(feature_dim=12, text_dim=TEXT_DIM, options={"dropout": 0.0, **options}).eval()


def test_forward_and_step_shapes_for_any_number_of_classes():
    method = _method(steps=3)
    features = torch.randn(5, 12)
    assert method(features, torch.randn(4, TEXT_DIM)).shape == (5, 4)
    assert method(features, torch.randn(9, TEXT_DIM)).shape == (5, 9)
    assert method.step_logits(features, torch.randn(6, TEXT_DIM)).shape == (3, 5, 6)


def test_unseen_nodes_join_the_graph_and_change_seen_scores():
    method = _method()
    features = torch.randn(3, 12)
    seen = torch.randn(4, TEXT_DIM)
    unseen = torch.randn(2, TEXT_DIM)
    edges = method.graph(torch.cat([seen, unseen]))[0]
    assert {4, 5} <= set(edges[1].tolist())  # unseen nodes receive messages
    alone = method(features, seen)
    together = method(features, torch.cat([seen, unseen]))
    assert together.shape == (3, 6)
    assert not torch.allclose(alone, together[:, :4])  # messages from the new nodes reach the seen ones
    # no parameter is tied to a class or an edge: the same weights serve any class set
    assert all(p.shape[0] != 4 for p in method.parameters())


def test_loss_is_bce_averaged_over_steps_ignoring_unknown_labels():
    method = _method(steps=4)
    features, classes = torch.randn(3, 12), torch.randn(4, TEXT_DIM)
    labels = torch.tensor([[1.0, 0, 0, 1], [0, 1, NAN, 0], [0, 0, 0, 0]])
    total, parts = method.loss(features, classes, labels)
    steps = method.step_logits(features, classes)
    known = ~torch.isnan(labels)
    expected = torch.stack([
        torch.nn.functional.binary_cross_entropy_with_logits(s[known], labels[known]) for s in steps
    ]).mean()
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert parts["bce_last"] == pytest.approx(masked_bce_with_logits(steps[-1], labels).item(), rel=1e-6)


def test_bound_cooccurrence_follows_the_classes_whatever_their_order():
    method = _method(k=0)  # no text edges: only co-occurrence edges are left
    seen = torch.randn(3, TEXT_DIM)
    corr = torch.tensor([[1.0, 0.6, -0.4], [0.6, 1.0, 0.0], [-0.4, 0.0, 1.0]])
    method.bind_cooccurrence(corr, seen)
    unseen = torch.randn(1, TEXT_DIM)
    scored = torch.stack([unseen[0], seen[2], seen[0], seen[1]])  # rows 1, 2, 3 are seen 2, 0, 1
    _, pos, neg = method.graph(scored)
    assert _pairs(pos) == [(2, 3), (3, 2)]  # seen 0 <-> seen 1
    assert _pairs(neg) == [(1, 2), (2, 1)]  # seen 2 <-> seen 0
    assert method.describe()["cooccurrence_classes"] == 3
    with pytest.raises(UsageError, match="does not match"):
        method.bind_cooccurrence(corr, seen[:2])


def test_bound_graph_survives_a_state_dict_round_trip():
    method = _method()
    seen = torch.randn(4, TEXT_DIM)
    method.bind_cooccurrence(label_correlation((torch.rand(20, 4) < 0.5).float()), seen)
    fresh = _method()  # as a checkpoint loader builds it: nothing bound
    fresh.load_state_dict(method.state_dict())
    features, classes = torch.randn(2, 12), torch.cat([seen, torch.randn(2, TEXT_DIM)])
    assert torch.equal(fresh(features, classes), method(features, classes))


def test_options():
    with pytest.raises(UsageError, match=r"unknown mlzsl option stpes; known: .*steps"):
        create_mlzsl(feature_dim=12, text_dim=TEXT_DIM, options={"stpes": 2})
    with pytest.raises(UsageError, match="steps must be >= 1"):
        create_mlzsl(feature_dim=12, text_dim=TEXT_DIM, options={"steps": 0})
    method = create_mlzsl(feature_dim=12, text_dim=TEXT_DIM, options={"k": 2, "steps": 2})
    assert (method.config.k, method.config.steps) == (2, 2)
    assert MlzslConfig().steps == 5 and MlzslConfig().k == 3


def test_loss_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    method = Mlzsl(12, TEXT_DIM, MlzslConfig(steps=3, dropout=0.0))
    features, classes = torch.randn(16, 12), torch.randn(4, TEXT_DIM)
    labels = (torch.rand(16, 4) < 0.4).float()
    losses = fit_losses(method, features, classes, labels)
    assert losses[-1] < 0.7 * losses[0]


def test_training_smoke():
    method = create_mlzsl(feature_dim=128, text_dim=TEXT_DIM, options={"steps": 2})
    model, before, outcome = train_briefly(method)
    moved = changed(before, model.state_dict())
    assert any(k.startswith("method.relations.") for k in moved)  # edge weights are learned
    assert any(k.startswith("backbone.") for k in moved)
    assert math.isfinite(outcome.history[-1]["train_loss"])
