from dataclasses import replace

import numpy as np
import pytest

from zsbench.data.class_splits import ClassSplit, load_class_split
from zsbench.data.protocol import DataSplits, apply_protocol, check_no_leakage
from zsbench.data.synthetic.lexicon import ATTRIBUTES, PRIMITIVES, RECIPES, RECIPES_BY_NAME, _recipe
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import ClassSplitError, LeakageError, UnknownNameError

PAPER_UNSEEN = {"Edema", "Pneumonia", "Emphysema", "Fibrosis"}


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(n_images=400, image_size=48, seed=3)


def test_world_is_deterministic_and_lazy(world):
    other = SyntheticWorld(n_images=400, image_size=48, seed=3)
    t1, t2 = world.table(), other.table()
    assert (t1.ids == t2.ids).all() and np.array_equal(t1.labels, t2.labels)
    ids = t1.ids[[5, 17, 300]]
    a = world.load_images(ids)
    b = other.load_images(ids[::-1])[::-1]  # order of generation does not matter
    assert a.shape == (3, 1, 48, 48) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(world.render(5), SyntheticWorld(400, 48, seed=4).render(5))


def test_world_labels_and_patients(world):
    t = world.table()
    counts = t.labels.sum(axis=1)
    assert counts.min() >= 0 and counts.max() <= 4
    assert (counts == 0).any() and (counts >= 2).any()
    _, per_patient = np.unique(t.patients, return_counts=True)
    assert per_patient.max() > 1  # several images per patient
    assert set(np.unique(t.part)) == {"train", "val", "test"}
    assert t.class_names == [r.name for r in RECIPES] and len(t.class_names) == 14


def test_findings_change_the_pixels(world):
    # an image with a finding differs from the same anatomy without it
    from zsbench.data.synthetic.render import Anatomy, render_image

    anatomy = Anatomy.sample(np.random.default_rng(0))
    healthy = render_image(anatomy, [], 64, np.random.default_rng(1)).astype(float)
    for recipe in RECIPES:
        sick = render_image(anatomy, [recipe.name], 64, np.random.default_rng(1)).astype(float)
        assert np.abs(sick - healthy).mean() > 0.5, recipe.name


def _changed_pixels(finding: str, seed: int, size: int = 96, anchors=None) -> tuple[np.ndarray, np.ndarray]:
    """(changed, darkened): pixels that differ by > 40 grey levels from the same image without the
    finding (the noise is ~7 levels), and those that became darker."""
    from zsbench.data.synthetic.render import Anatomy, render_image

    anatomy = Anatomy.sample(np.random.default_rng(seed))
    healthy = render_image(anatomy, [], size, np.random.default_rng(seed)).astype(float)
    sick = render_image(anatomy, [finding], size, np.random.default_rng(seed), anchors=anchors).astype(float)
    return np.abs(sick - healthy) > 40, (healthy - sick) > 40


@pytest.mark.parametrize("finding", ["Pneumonia", "Pneumothorax", "Effusion"])
def test_a_one_sided_finding_draws_all_its_lesions_in_one_lung(finding):
    # Pneumonia's patches and haze, a pneumothorax and the lung it hyperinflates: same side
    sides_hit = set()
    for seed in range(8):
        changed, _ = _changed_pixels(finding, seed)
        left, right = int(changed[:, :48].sum()), int(changed[:, 48:].sum())
        assert min(left, right) <= 0.1 * max(left, right), (seed, left, right)
        sides_hit.add(left < right)
    assert sides_hit == {True, False}  # and the side is random


def test_hyperinflation_lowers_the_diaphragm():
    # a hyperinflated lung reaches below the healthy diaphragm: the lower image gets darker (air)
    for seed in range(4):
        _, darker = _changed_pixels("Pneumothorax", seed)
        assert darker[int(0.7 * 96) :].sum() >= 20, seed
        _, darker = _changed_pixels("Effusion", seed)
        assert darker[int(0.7 * 96) :].sum() <= 5, seed
    _, darker = _changed_pixels("Emphysema", 0)
    assert darker[int(0.7 * 96) :, :48].sum() >= 20 and darker[int(0.7 * 96) :, 48:].sum() >= 20


@pytest.mark.parametrize("x", [0.3, 0.7])
def test_a_measured_lesion_position_picks_the_hyperinflated_side(x):
    for seed in range(4):
        _, darker = _changed_pixels("Pneumothorax", seed, anchors={"Pneumothorax": (0.3, x)})
        low = darker[int(0.7 * 96) :]
        left, right = int(low[:, :48].sum()), int(low[:, 48:].sum())
        assert (right if x > 0.5 else left) >= 20 and (left if x > 0.5 else right) <= 2, (seed, left, right)


def test_unseen_classes_are_built_from_seen_primitives():
    split = load_class_split("synthetic-paper")
    by_name = {r.name: r for r in RECIPES}
    seen_looks = {lesion for n in split.seen for lesion in by_name[n].lesions}
    for name in split.unseen:  # every lesion is drawn exactly as a seen class draws it (sides aside)
        for lesion in by_name[name].lesions:
            assert replace(lesion, side="one") in seen_looks or replace(lesion, side="both") in seen_looks, name
    assert all(a in ATTRIBUTES for r in RECIPES for a in r.attributes)


def test_descriptions_are_the_primitives_phrases_in_order_then_a_clinical_context():
    edema, emphysema = RECIPES_BY_NAME["Edema"], RECIPES_BY_NAME["Emphysema"]
    assert edema.descriptions[1] == (f"{PRIMITIVES['haze'].phrases[1]}, with {PRIMITIVES['fluid_level'].phrases[1]}; "
                                     f"{edema.context[1]}")
    assert emphysema.descriptions[0] == (f"{PRIMITIVES['upper_lucency'].phrases[0]} in both lungs, with "
                                         f"{PRIMITIVES['hyperinflation'].phrases[0]} in both lungs; "
                                         f"{emphysema.context[0]}")
    # the context is about the disease, not its look: no primitive's phrase is in it, and every
    # class has its own two
    phrases = {p for primitive in PRIMITIVES.values() for p in primitive.phrases}
    contexts = [c for r in RECIPES for c in r.context]
    assert all(c and not any(p in c for p in phrases) for c in contexts)
    assert len(set(contexts)) == 2 * len(RECIPES)
    assert edema.attributes == {"haze", "fluid_level"} and "bilateral" in emphysema.attributes
    with pytest.raises(ValueError, match="not in the lexicon"):
        _recipe("Typo", "haze fluid_levle", 1.0, ("", ""))
    with pytest.raises(ValueError, match="sides must be 'one' or 'both'"):
        _recipe("Typo", "haze:bot", 1.0, ("", ""))
    assert RECIPES_BY_NAME["Edema"].lesions is RECIPES_BY_NAME["Edema"].lesions  # derived once


def test_paper_split_file():
    split = load_class_split("synthetic-paper")
    assert set(split.unseen) == PAPER_UNSEEN and len(split.seen) == 10
    assert split.generator["kind"] == "manual"


def test_class_split_errors(tmp_path, world):
    names = world.table().class_names
    with pytest.raises(ClassSplitError, match="both seen and unseen"):
        ClassSplit("x", ("Edema", "Mass"), ("Edema",)).validate(names)
    with pytest.raises(ClassSplitError, match="did you mean 'Edema'"):
        ClassSplit("x", ("Mass",), ("Edemma",)).validate(names)
    bad = tmp_path / "bad.yaml"
    bad.write_text("seen: [Mass\nunseen: ]")
    with pytest.raises(ClassSplitError, match="line"):
        load_class_split(str(bad))
    with pytest.raises(UnknownNameError, match="did you mean 'synthetic-paper'"):
        load_class_split("synthetic-papr")


def test_protocol_filters_and_guards(world):
    t = world.table()
    splits = apply_protocol(t, load_class_split("synthetic-paper"))
    for part in (splits.train, splits.val):
        assert not (part.labels[:, splits.unseen] > 0).any()
    for part in (splits.train, splits.val, splits.test):
        assert (part.labels.sum(axis=1) > 0).all()  # "No Finding" dropped everywhere
    assert (splits.test.labels[:, splits.unseen] > 0).any()  # test keeps unseen images
    parts = [set(p.patients) for p in (splits.train, splits.val, splits.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_leakage_guard_fails_on_crafted_leaky_splits(world):
    t = world.table()
    splits = apply_protocol(t, load_class_split("synthetic-paper"))
    # same patient in train and test
    leaky_test = splits.test.select(np.ones(len(splits.test), dtype=bool))
    leaky_test.patients = leaky_test.patients.copy()
    leaky_test.patients[0] = splits.train.patients[0]
    with pytest.raises(LeakageError, match="patient-disjoint"):
        check_no_leakage(DataSplits(splits.train, splits.val, leaky_test, splits.seen, splits.unseen))
    # an unseen positive in train
    leaky_train = splits.train.select(np.ones(len(splits.train), dtype=bool))
    leaky_train.labels = leaky_train.labels.copy()
    leaky_train.labels[0, splits.unseen[0]] = 1
    with pytest.raises(LeakageError, match="unseen label"):
        check_no_leakage(DataSplits(leaky_train, splits.val, splits.test, splits.seen, splits.unseen))


def test_nih_stats_world_follows_real_label_statistics():
    from zsbench.data.synthetic.nih_stats import box_centres, finding_sets

    world = SyntheticWorld(n_images=20000, image_size=32, seed=1, stats="nih")
    t = world.table()
    sets = finding_sets()
    names = t.class_names
    real = np.array([[n in s for n in names] for s in sets[:: max(1, len(sets) // 20000)]], dtype=float)
    # class frequencies and a strong real co-occurrence (Effusion with Atelectasis) carry over
    assert np.abs(t.labels.mean(0) - real.mean(0)).max() < 0.01
    eff, ate = names.index("Effusion"), names.index("Atelectasis")
    joint_syn = (t.labels[:, eff] * t.labels[:, ate]).mean()
    joint_real = (real[:, eff] * real[:, ate]).mean()
    assert abs(joint_syn - joint_real) < 0.005 and joint_real > 2 * real[:, eff].mean() * real[:, ate].mean()
    assert len(box_centres()) == 8 and all(((c > 0) & (c < 1)).all() for c in box_centres().values())
    assert world.load_images(t.ids[:4]).shape == (4, 1, 32, 32)
