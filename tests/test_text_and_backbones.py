import numpy as np
import pytest
import torch

from zsbench.backbones import prepare_batch
from zsbench.data.synthetic.lexicon import RECIPES
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import UnknownNameError, UsageError
from zsbench.registry import BACKBONES, TEXT_ENCODERS

CLASSES = SyntheticWorld(n_images=60).classes()


def test_minilm_loads_offline_and_embeds_descriptions_and_names():
    enc = TEXT_ENCODERS.create("minilm")
    desc = enc.encode_classes(CLASSES, "description")
    names = enc.encode_classes(CLASSES, "name")
    assert desc.shape == names.shape == (14, 384)
    assert not np.allclose(desc, names)
    # related descriptions are closer than unrelated ones
    unit = desc / np.linalg.norm(desc, axis=1, keepdims=True)
    idx = {c.name: i for i, c in enumerate(CLASSES)}
    sim = unit @ unit.T
    assert sim[idx["Edema"], idx["Infiltration"]] > sim[idx["Edema"], idx["Cardiomegaly"]]


def test_random_encoder_is_seeded_and_per_class():
    a = TEXT_ENCODERS.create("random", seed=1).encode_classes(CLASSES, "name")
    b = TEXT_ENCODERS.create("random", seed=1).encode_classes(CLASSES[3:], "name")
    c = TEXT_ENCODERS.create("random", seed=2).encode_classes(CLASSES, "name")
    assert np.array_equal(a[3:], b)
    assert not np.allclose(a, c)


def test_attribute_encoder():
    vecs = TEXT_ENCODERS.create("attributes").encode_classes(CLASSES, "description")
    assert vecs.shape[0] == 14 and np.allclose(np.linalg.norm(vecs, axis=1), 1.0)  # unit length
    for row, recipe in zip(vecs, RECIPES, strict=True):  # 1/sqrt(k) on each of the class's k attributes
        k = len(recipe.attributes)
        assert (row > 0).sum() == k and np.allclose(row[row > 0], 1 / np.sqrt(k))
    with pytest.raises(UsageError, match="attribute vectors"):
        from zsbench.data.base import ClassInfo

        TEXT_ENCODERS.create("attributes").encode_classes([ClassInfo("X")], "name")


def test_tiny_cnn_and_timm_take_one_channel():
    pixels = torch.randint(0, 256, (2, 1, 40, 40), dtype=torch.uint8)
    for spec in ("tiny-cnn", "timm:resnet18"):
        backbone = BACKBONES.create(spec, image_size=32, pretrained=False).eval()
        x = prepare_batch(pixels, backbone.preprocess)
        assert x.shape == (2, 1, 32, 32)
        with torch.no_grad():
            assert backbone(x).shape == (2, backbone.feature_dim)


def test_unknown_timm_model():
    with pytest.raises(UnknownNameError, match="did you mean 'resnet18'"):
        BACKBONES.create("timm:resnet1")
