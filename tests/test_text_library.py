"""The written class-description library: coverage of the PadChest labels, and its shape."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from zsbench.data.base import ClassInfo
from zsbench.data.nih import packaged_file
from zsbench.data.padchest import PADCHEST_CSV, PadChest
from zsbench.data.vocab import canonical
from zsbench.text.class_texts import class_texts, encode_with_mode, ensemble_groups
from zsbench.text.library import CHEXPERT_DESCRIPTIONS, DESCRIPTIONS, NIH_DESCRIPTIONS, PADCHEST_DESCRIPTIONS


def _norm(text: str) -> str:
    return " ".join(text.replace("_", " ").lower().split())


@pytest.fixture(scope="module")
def padchest_classes() -> list[ClassInfo]:
    if packaged_file(PADCHEST_CSV) is None:
        pytest.skip("torchxrayvision's PadChest label file is not installed")
    return PadChest().classes()


def test_padchest_tables_do_not_shadow_nih_or_chexpert_classes():
    assert not set(PADCHEST_DESCRIPTIONS) & (set(NIH_DESCRIPTIONS) | set(CHEXPERT_DESCRIPTIONS))
    assert len(DESCRIPTIONS) == len(NIH_DESCRIPTIONS) + len(CHEXPERT_DESCRIPTIONS) + len(PADCHEST_DESCRIPTIONS)
    # keys are label names as the PadChest loader exposes them: not aliases of NIH names
    assert all(canonical(name) == name for name in PADCHEST_DESCRIPTIONS)


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_every_entry_has_distinct_real_descriptions(name):
    texts = DESCRIPTIONS[name]
    assert len(texts) >= 2
    assert all(isinstance(t, str) and t.strip() == t and t for t in texts)
    assert len({_norm(t) for t in texts}) == len(texts), "repeated description"
    for t in texts:
        assert _norm(t) != _norm(name), "a description that is just the class name"
        assert len(t.split()) >= 4, t
        assert len(t.split()) <= 24, "keep descriptions short (CLIP-style encoders truncate at 77 tokens)"


def test_descriptions_are_not_shared_between_classes():
    owners: dict[str, set[str]] = defaultdict(set)
    for name, texts in DESCRIPTIONS.items():
        for t in texts:
            owners[_norm(t)].add(canonical(name))
    shared = {t: sorted(names) for t, names in owners.items() if len(names) > 1}
    assert not shared


def test_every_padchest_class_has_at_least_two_descriptions(padchest_classes):
    assert 170 <= len(padchest_classes) <= 200
    missing = [c.name for c in padchest_classes if len(set(c.descriptions)) < 2]
    assert not missing
    assert sum(len(c.descriptions) for c in padchest_classes) >= 3 * len(padchest_classes)


def test_description_and_ensemble_modes_work_for_padchest(padchest_classes):
    n = len(padchest_classes)
    primary = class_texts(padchest_classes, "description")
    assert len(primary) == n and primary == [c.descriptions[0] for c in padchest_classes]
    assert class_texts(padchest_classes, "ensemble") == primary
    groups = ensemble_groups(padchest_classes)
    assert len(groups) == n and [tuple(g) for g in groups] == [c.descriptions for c in padchest_classes]

    vocab = {t: i for i, t in enumerate(sorted({t for g in groups for t in g}))}

    def encode(texts: list[str]) -> np.ndarray:  # one-hot per distinct text
        out = np.zeros((len(texts), len(vocab)), dtype=np.float32)
        out[np.arange(len(texts)), [vocab[t] for t in texts]] = 1.0
        return out

    emb = encode_with_mode(encode, padchest_classes, "ensemble")
    assert emb.shape == (n, len(vocab))
    for row, group in zip(emb, groups, strict=True):
        assert np.isclose(row.sum(), 1.0) and np.count_nonzero(row) == len(group)
