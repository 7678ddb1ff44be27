"""cxr-ml-gzsl presets: paper (default, unchanged) and reference (the public implementation)."""

import json
import math

import pytest
import torch

from tests.method_helpers import TEXT_DIM, changed, train_briefly
from zsbench.errors import TrainingError, UsageError
from zsbench.methods.base import LrSchedule
from zsbench.methods.cxr_ml_gzsl import (
    CxrMlGzsl,
    CxrMlGzslConfig,
    alignment_loss,
    consistency_loss,
    consistency_loss_reference,
    create_cxr_ml_gzsl,
    ranking_loss,
    ranking_loss_batch_sum,
)

SCORES = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.3, 0.2]])
LABELS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


def test_ranking_loss_batch_sum_hand_computed():
    # margin 0.5: image 0 hinges 0 and 0.1 ; image 1 hinges 0.3 and 0.4 ; sum 0.8 over 2 images (not / S)
    assert ranking_loss_batch_sum(SCORES, LABELS, margin=0.5).item() == pytest.approx(0.4)
    # the paper's version divides each image by S = 3 as well
    assert ranking_loss(SCORES, LABELS, margin=0.5).item() == pytest.approx(0.4 / 3)
    # margin 0.2: only image 1's pair (0.2, 0.1) violates: 0.1 / 2
    assert ranking_loss_batch_sum(SCORES, LABELS, margin=0.2).item() == pytest.approx(0.05)


def test_ranking_loss_batch_sum_ignores_unknown_labels():
    labels = torch.tensor([[1.0, float("nan"), 0.0], [0.0, 1.0, float("nan")]])
    # image 0: pos 0.9, neg 0.5 -> 0.1 ; image 1: pos 0.3, neg 0.1 -> 0.3 ; (0.1 + 0.3) / 2
    assert ranking_loss_batch_sum(SCORES, labels, margin=0.5).item() == pytest.approx(0.2)


def test_consistency_loss_reference_hand_computed():
    raw = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mapped = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # |diff| off the diagonal: (0,1) = 1, (0,2) = (1,2) = 1/sqrt(2), each twice; diagonal 0; mean over 9
    expected = 2 * (1 + 2 / math.sqrt(2)) / 9
    assert consistency_loss_reference(raw, mapped).item() == pytest.approx(expected, rel=1e-6)


def test_consistency_loss_reference_sends_gradient_through_one_side_only():
    torch.manual_seed(0)
    raw = torch.randn(5, 4)
    mapped = torch.randn(5, 3, requires_grad=True)
    consistency_loss_reference(raw, mapped).backward()
    one_side = mapped.grad.clone()
    mapped.grad = None
    # both sides, same mean over the 5 x 5 matrix: the symmetric pairs double the gradient
    (consistency_loss(raw, mapped) / 25).backward()
    assert torch.allclose(mapped.grad, 2 * one_side, atol=1e-6)


def test_default_is_the_paper_preset():
    assert CxrMlGzslConfig() == CxrMlGzslConfig.from_options({})
    cfg = CxrMlGzslConfig.from_options(None)
    assert (cfg.preset, cfg.margin, cfg.gamma_align, cfg.gamma_con) == ("paper", 0.5, 0.01, 0.01)
    method = create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM)
    assert method.unseen_texts_in_training is False
    assert method.lr_schedule == LrSchedule(factor=0.01, patience=10, monitor="val_score")
    assert method.describe()["preset"] == "paper"
    assert method.describe()["unseen_texts_in_training"] is False
    with pytest.raises(NotImplementedError):
        method.bind_all_classes(torch.zeros(3, TEXT_DIM))


def test_reference_preset_numbers_and_overrides():
    method = create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM, options={"preset": "reference"})
    cfg = method.config
    assert (cfg.margin, cfg.gamma_align, cfg.gamma_con) == (0.2, 0.0, 0.01)
    assert method.unseen_texts_in_training is True
    assert type(method).unseen_texts_in_training is False  # only this instance declares it
    assert method.lr_schedule == LrSchedule(factor=0.1, patience=5, monitor="val_loss")
    info = method.describe()
    assert info["preset"] == "reference" and info["unseen_texts_in_training"] is True
    # explicit options win over the preset's numbers; the preset keeps the loss forms
    override = CxrMlGzslConfig.from_options({"preset": "reference", "margin": 0.3})
    assert (override.preset, override.margin, override.gamma_align) == ("reference", 0.3, 0.0)


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError, match="known: gamma_align, gamma_con, latent_dim, margin, preset"):
        create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM, options={"gama_con": 0.1})
    with pytest.raises(UsageError, match="paper, reference"):
        create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM, options={"preset": "official"})
    with pytest.raises(UsageError, match="margin must be float"):
        create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM, options={"margin": "wide"})


def _batch():
    torch.manual_seed(1)
    features = torch.randn(6, 10)
    seen = torch.randn(4, TEXT_DIM)
    labels = (torch.rand(6, 4) > 0.5).float()
    labels[0, 0] = float("nan")
    return features, seen, labels


def test_paper_loss_is_the_sum_of_the_paper_terms():
    features, seen, labels = _batch()
    torch.manual_seed(0)
    method = CxrMlGzsl(10, TEXT_DIM, CxrMlGzslConfig())
    total, parts = method.loss(features, seen, labels)
    visual, semantic = method.psi(features), method.phi(seen)
    scores = method(features, seen)
    rank = ranking_loss(scores, labels, 0.5)
    align = alignment_loss(visual, semantic, labels)
    con = consistency_loss(seen, semantic)
    assert total.item() == pytest.approx((rank + 0.01 * align + 0.01 * con).item(), rel=1e-6)
    assert parts == pytest.approx({"rank": rank.item(), "align": align.item(), "con": con.item()}, rel=1e-6)


def test_reference_loss_uses_every_class_and_no_alignment_gradient():
    features, seen, labels = _batch()
    every = torch.cat([seen, torch.randn(3, TEXT_DIM)])  # the 3 unseen texts enter L_con
    torch.manual_seed(0)
    method = create_cxr_ml_gzsl(feature_dim=10, text_dim=TEXT_DIM, options={"preset": "reference"})
    with pytest.raises(TrainingError, match="bind_all_classes"):
        method.loss(features, seen, labels)
    method.bind_all_classes(every)
    total, parts = method.loss(features, seen, labels)
    rank = ranking_loss_batch_sum(method(features, seen), labels, 0.2)
    con = consistency_loss_reference(every, method.phi(every))
    assert total.item() == pytest.approx((rank + 0.01 * con).item(), rel=1e-6)
    assert parts["con"] == pytest.approx(con.item(), rel=1e-6)
    assert parts["align"] > 0  # still logged
    # the alignment term carries no gradient: the total's gradient is that of rank + 0.01 con
    total.backward()
    got = [p.grad.clone() for p in method.parameters()]
    method.zero_grad()
    (ranking_loss_batch_sum(method(features, seen), labels, 0.2)
     + 0.01 * consistency_loss_reference(every, method.phi(every))).backward()
    assert all(torch.allclose(a, p.grad, atol=1e-7) for a, p in zip(got, method.parameters(), strict=True))


def test_presets_share_the_checkpoint_layout():
    paper = create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM)
    reference = create_cxr_ml_gzsl(feature_dim=6, text_dim=TEXT_DIM, options={"preset": "reference"})
    reference.bind_all_classes(torch.randn(5, TEXT_DIM))
    assert paper.state_dict().keys() == reference.state_dict().keys()


def test_reference_preset_trains():
    method = create_cxr_ml_gzsl(feature_dim=128, text_dim=TEXT_DIM, options={"preset": "reference"})
    method.bind_all_classes(torch.randn(6, TEXT_DIM))
    model, before, outcome = train_briefly(method)
    moved = changed(before, model.state_dict())
    assert any(k.startswith("method.phi.") for k in moved)
    assert any(k.startswith("backbone.") for k in moved)  # trained end to end
    assert all(math.isfinite(h["train_loss"]) for h in outcome.history)


def test_reference_preset_run_follows_the_validation_loss(tiny_run_args):
    from click.testing import CliRunner

    from zsbench.cli.main import cli

    out = CliRunner().invoke(cli, ["run", *tiny_run_args, "--epochs", "2", "--method-option", "preset=reference",
                                   "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["method"]["scheduler"] == {"factor": 0.1, "patience": 5, "monitor": "val_loss"}
    assert result["unseen_texts_in_training"] is True
    history = result["training"]["history"]
    assert len(history) == 2 and all(math.isfinite(h["val_loss"]) for h in history)


def test_mlzsl_gzsl_probe_gets_its_own_cooccurrence_graph(tiny_run_args):
    from click.testing import CliRunner

    from zsbench.cli.main import cli

    out = CliRunner().invoke(cli, ["run", *tiny_run_args, "--method", "mlzsl", "--selection", "gzsl", "--json"])
    assert out.exit_code == 0, out.output
    selection = json.loads(out.stdout)["training"]["selection"]
    assert selection["kind"] == "gzsl" and len(selection["held_out"]) == 2
    # the probe's graph is built from its own training classes: the 10 seen minus the 2 held out
    assert selection["probe_method"]["cooccurrence_classes"] == 8
