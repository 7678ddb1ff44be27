"""Every text-encoder kind with small models built here: no hub, no download."""

import json

import numpy as np
import pytest

from zsbench.data.base import ClassInfo
from zsbench.data.vocab import NIH_CLASSES
from zsbench.errors import UsageError
from zsbench.registry import TEXT_ENCODERS
from zsbench.text.hf import EmbeddingCache, HFTextEncoder

WORDS = ["fluid", "level", "at", "the", "base", "round", "opacity", "dense", "lucent", "lung", "upper", "zone"]
CLASSES = [ClassInfo("Effusion", ("fluid level at the base",)), ClassInfo("Mass", ("round dense opacity",)),
           ClassInfo("Pneumothorax", ("lucent upper zone",))]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A 2-layer BERT with a WordPiece vocabulary, saved like a hub model folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    return folder


def test_hf_encoder_pooling_and_layer(tiny_bert, tmp_path):
    vecs = {}
    for pooling in ("cls", "mean"):
        for layer in ("last", "penultimate"):
            enc = HFTextEncoder(str(tiny_bert), pooling=pooling, layer=layer, cache=False)
            vecs[pooling, layer] = enc.encode_classes(CLASSES, "description")
            assert vecs[pooling, layer].shape == (3, 32)
    assert not np.allclose(vecs["cls", "last"], vecs["mean", "last"])
    assert not np.allclose(vecs["mean", "last"], vecs["mean", "penultimate"])
    # the registry path: hf:<folder> with options
    enc = TEXT_ENCODERS.create(f"hf:{tiny_bert}", pooling="cls", layer="last", cache=False)
    assert np.allclose(enc.encode_classes(CLASSES, "description"), vecs["cls", "last"], atol=1e-6)


def test_embedding_cache_is_keyed_and_reused(tiny_bert, tmp_path, monkeypatch):
    monkeypatch.setenv("ZSBENCH_CACHE", str(tmp_path))
    enc = HFTextEncoder(str(tiny_bert), pooling="mean")
    first = enc.encode_texts(["round dense opacity"])
    files = list((tmp_path / "text-embeddings").rglob("*.npy"))
    assert len(files) == 1
    key = enc._key("round dense opacity")
    assert np.allclose(EmbeddingCache().get(key), first[0])
    assert EmbeddingCache().get({**key, "pooling": "cls"}) is None
    np.save(files[0], np.full(32, 7.0, dtype=np.float32))  # a cached vector is used as is
    assert np.allclose(HFTextEncoder(str(tiny_bert), pooling="mean").encode_texts(["round dense opacity"]), 7.0)


def test_missing_weights_give_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = TEXT_ENCODERS.create("clinicalbert")
    with pytest.raises(UsageError, match=r"emilyalsentzer/Bio_ClinicalBERT.*offline.*local folder") as err:
        enc.encode_classes(CLASSES, "name")
    assert "\n" not in str(err.value)


def test_sentence_transformers_model_from_a_folder(tiny_bert, tmp_path):
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(tiny_bert))
    st = SentenceTransformer(modules=[word, models.Pooling(word.get_embedding_dimension(), "mean")])
    st.save(str(tmp_path / "st"))
    enc = TEXT_ENCODERS.create(f"st:{tmp_path / 'st'}")
    out = enc.encode_classes(CLASSES, "description")
    assert out.shape == (3, 32) and not np.allclose(out[0], out[1])


def test_precomputed_npy_in_nih_order_and_json(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((14, 1024)).astype(np.float32)  # the public release's shape
    np.save(tmp_path / "emb.npy", table)
    enc = TEXT_ENCODERS.create(f"precomputed:{tmp_path / 'emb.npy'}")
    out = enc.encode_classes([ClassInfo("Pleural_Thickening"), ClassInfo("Atelectasis")], "name")
    assert np.array_equal(out, table[[NIH_CLASSES.index("Pleural_Thickening"), 0]])
    (tmp_path / "emb.json").write_text(json.dumps({"classes": ["Pleural Effusion", "Mass"],
                                                   "embeddings": [[1, 2], [3, 4]]}))
    enc = TEXT_ENCODERS.create(f"precomputed:{tmp_path / 'emb.json'}")
    assert enc.encode_classes([ClassInfo("Mass"), ClassInfo("Effusion")], "name").tolist() == [[3, 4], [1, 2]]
    with pytest.raises(UsageError, match="no embedding for Hernia"):
        enc.encode_classes([ClassInfo("Hernia")], "name")


def test_ensemble_is_the_mean_of_the_description_embeddings(tiny_bert):
    classes = [ClassInfo("Mass", ("round dense opacity", "dense round lung")), ClassInfo("Effusion", ("fluid level",))]
    enc = HFTextEncoder(str(tiny_bert), cache=False)
    ensemble = enc.encode_classes(classes, "ensemble")
    each = enc.encode_texts(["round dense opacity", "dense round lung", "fluid level"])
    assert np.allclose(ensemble[0], each[:2].mean(0), atol=1e-5) and np.allclose(ensemble[1], each[2], atol=1e-5)
    with pytest.raises(UsageError, match="no description for X"):
        enc.encode_classes([ClassInfo("X")], "ensemble")


def test_library_has_several_descriptions_for_nih_and_chexpert_classes():
    from zsbench.data.chexpert import CheXpert
    from zsbench.data.nih import NIHChestXray14

    for dataset in (NIHChestXray14(), CheXpert()):
        for info in dataset.classes():
            assert len(info.descriptions) >= 3, info.name
