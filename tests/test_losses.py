import math

import pytest
import torch

from zsbench.methods.cxr_ml_gzsl import alignment_loss, consistency_loss, ranking_loss


def test_ranking_loss_hand_computed():
    scores = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.3, 0.2]])
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    # image 0: pos 0.9, negs 0.2, 0.5 -> max(0.5+0.2-0.9,0)=0 ; max(0.5+0.5-0.9,0)=0.1 ; /3
    # image 1: pos 0.3, 0.2 ; neg 0.1 -> max(0.5+0.1-0.3,0)=0.3 ; max(0.5+0.1-0.2,0)=0.4 ; /3
    expected = ((0.1) / 3 + (0.7) / 3) / 2
    assert ranking_loss(scores, labels, margin=0.5).item() == pytest.approx(expected)


def test_ranking_loss_counts_images_without_pairs_in_the_mean():
    scores = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    # image 0: max(0.5 + 1 - 0, 0) / 2 = 0.75 ; image 1 has no positive -> 0 ; mean over 2 images
    assert ranking_loss(scores, labels, margin=0.5).item() == pytest.approx(0.375)


def test_alignment_loss_hand_computed_and_skips_images_without_positives():
    visual = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    classes = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    labels = torch.tensor([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]])
    # image 0 target mean = (1, .5): cos with (1,0) = 1/sqrt(1.25); image 1 target (1,1): cos = 1/sqrt(2)
    expected = 1 - (1 / math.sqrt(1.25) + 1 / math.sqrt(2)) / 2
    assert alignment_loss(visual, classes, labels).item() == pytest.approx(expected, rel=1e-6)


def test_consistency_loss_hand_computed():
    raw = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mapped = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # raw cos: (0,1)=0, (0,2)=.7071, (1,2)=.7071 ; mapped cos: (0,1)=1, (0,2)=0, (1,2)=0
    # |diffs| = 1, .7071, .7071, each ordered pair twice
    expected = 2 * (1 + 2 * (1 / math.sqrt(2)))
    assert consistency_loss(raw, mapped).item() == pytest.approx(expected, rel=1e-6)


def test_losses_are_differentiable():
    scores = torch.rand(4, 3, requires_grad=True)
    labels = torch.tensor([[1.0, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]])
    ranking_loss(scores, labels, 0.5).backward()
    assert scores.grad is not None and scores.grad.abs().sum() > 0
