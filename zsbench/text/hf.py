"""Hugging Face text encoders (BERT family), precomputed embeddings, and the on-disk embedding cache."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from zsbench.data.base import ClassInfo
from zsbench.data.split_lists import cache_root
from zsbench.data.vocab import NIH_CLASSES, canonical
from zsbench.errors import DataError, UsageError
from zsbench.options import OptionSet
from zsbench.results import atomic_write_bytes
from zsbench.text.class_texts import encode_with_mode
from zsbench.text.encoders import SentenceTransformerEncoder, TextEncoder
from zsbench.text.quiet import quiet_transformers

#: Short names for biomedical language models on the Hugging Face hub.
HF_ALIASES = {
    "biobert": "dmis-lab/biobert-large-cased-v1.1",
    "biobert-base": "dmis-lab/biobert-base-cased-v1.2",
    "clinicalbert": "emilyalsentzer/Bio_ClinicalBERT",
    "pubmedbert": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "cxr-bert": "microsoft/BiomedVLP-CXR-BERT-general",
}
POOLINGS = ("cls", "mean")
LAYERS = ("last", "penultimate")


class EmbeddingCache:
    """One .npy file per (encoder id, revision, pooling, layer, text), under the zsbench cache."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or cache_root() / "text-embeddings"

    def _path(self, key: dict[str, str]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return self.directory / digest[:2] / f"{digest}.npy"

    def get(self, key: dict[str, str]) -> np.ndarray | None:
        path = self._path(key)
        return np.load(path) if path.is_file() else None

    def put(self, key: dict[str, str], vector: np.ndarray) -> None:
        import io

        buf = io.BytesIO()
        np.save(buf, vector.astype(np.float32))
        atomic_write_bytes(self._path(key), buf.getvalue())


class HFTextEncoder(TextEncoder):
    """A transformers encoder model: ``pooling`` cls|mean over tokens of the ``layer`` last or
    penultimate hidden state. The paper's BioBERT embeddings come from ``last_hidden_state`` with
    unstated pooling; mean pooling comes "quite close" per its maintainers."""

    def __init__(self, model: str, pooling: str = "mean", layer: str = "last", cache: bool = True,
                 encoder_id: str | None = None) -> None:
        if pooling not in POOLINGS:
            raise UsageError(f"pooling={pooling!r}: choose {' or '.join(POOLINGS)}")
        if layer not in LAYERS:
            raise UsageError(f"layer={layer!r}: choose {' or '.join(LAYERS)}")
        self.model_ref = HF_ALIASES.get(model, model)
        self.pooling, self.layer = pooling, layer
        self.id = encoder_id or f"hf:{self.model_ref}"
        self.cache = EmbeddingCache() if cache else None
        self._model = None
        self._tokenizer = None
        self.revision = "unknown"

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        try:
            quiet_transformers()
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_ref)
            self._model = AutoModel.from_pretrained(self.model_ref).eval()
        except OSError:
            raise UsageError(
                f"cannot load Hugging Face model {self.model_ref!r} offline; download it into the HF cache "
                f"(huggingface-cli download {self.model_ref}) or pass a local folder as hf:/path/to/model"
            ) from None
        config = self._model.config
        self.revision = str(getattr(config, "_commit_hash", None) or _folder_revision(self.model_ref))

    def _key(self, text: str) -> dict[str, str]:
        return {"encoder": self.id, "revision": self.revision, "pooling": self.pooling, "layer": self.layer,
                "text": text}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        self._load()
        out: list[np.ndarray | None] = [self.cache.get(self._key(t)) if self.cache else None for t in texts]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            batch = self._tokenizer([texts[i] for i in todo], padding=True, truncation=True, return_tensors="pt")
            with torch.no_grad():
                hidden = self._model(**batch, output_hidden_states=True).hidden_states
            states = hidden[-1] if self.layer == "last" else hidden[-2]
            if self.pooling == "cls":
                pooled = states[:, 0]
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
            for k, i in enumerate(todo):
                out[i] = pooled[k].float().numpy()
                if self.cache:
                    self.cache.put(self._key(texts[i]), out[i])
        return np.stack(out).astype(np.float32)

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        return encode_with_mode(self.encode_texts, classes, class_text)

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "model": self.model_ref, "pooling": self.pooling, "layer": self.layer,
                "revision": self.revision}


def _folder_revision(model_ref: str) -> str:
    """For a local folder, a fingerprint of its weight files (name, size, mtime)."""
    path = Path(model_ref)
    if not path.is_dir():
        return "unknown"
    items = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in path.iterdir() if p.is_file())
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


class PrecomputedEncoder(TextEncoder):
    """Class embeddings from a file: ``.npy`` (rows in NIH ChestX-ray14 class order unless
    ``classes=A,B,...`` says otherwise; the CXR-ML-GZSL release's 14 x 1024 file loads as is) or
    ``.json`` ({"classes": [...], "embeddings": [[...], ...]}). Class names may be aliases."""

    uses_text = False

    def __init__(self, path: str, classes: str | None = None) -> None:
        self.path = Path(path)
        self.id = f"precomputed:{self.path.name}"
        if not self.path.is_file():
            raise UsageError(f"precomputed embeddings file {path} does not exist")
        if self.path.suffix == ".npy":
            self.vectors = np.load(self.path, allow_pickle=False)
            names = [c.strip() for c in classes.split(",")] if classes else list(NIH_CLASSES)
        elif self.path.suffix == ".json":
            try:
                data = json.loads(self.path.read_text())
                names, self.vectors = list(data["classes"]), np.asarray(data["embeddings"], dtype=np.float32)
            except (ValueError, KeyError, TypeError):
                raise DataError(f"{path}: expected {{'classes': [...], 'embeddings': [[...]]}}") from None
        else:
            raise UsageError(f"precomputed embeddings must be .npy or .json (got {self.path.suffix})")
        if self.vectors.ndim != 2 or len(self.vectors) != len(names):
            raise DataError(f"{path}: {self.vectors.shape} embeddings for {len(names)} class names")
        self.rows = {canonical(n): i for i, n in enumerate(names)}

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        missing = [c.name for c in classes if canonical(c.name) not in self.rows]
        if missing:
            raise UsageError(f"{self.path} has no embedding for {', '.join(missing)}")
        return np.stack([self.vectors[self.rows[canonical(c.name)]] for c in classes]).astype(np.float32)

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "path": os.fspath(self.path), "dim": int(self.vectors.shape[1])}


class HFOptions(OptionSet):
    """``--text-option`` keys of Hugging Face BERT-family encoders."""

    pooling: str = "mean"  # mean | cls
    layer: str = "last"  # last | penultimate
    cache: bool = True  # reuse embeddings cached on disk


def create_hf(model: str, *, pooling: str = "mean", layer: str = "last", cache: bool = True,
              **_: object) -> TextEncoder:
    return HFTextEncoder(model, pooling, layer, cache)


def alias_factory(alias: str) -> Callable[..., TextEncoder]:
    """The factory of a short name in ``HF_ALIASES`` (registered in ``zsbench.builtins``)."""

    def create(*, pooling: str = "mean", layer: str = "last", cache: bool = True, **_: object) -> TextEncoder:
        return HFTextEncoder(HF_ALIASES[alias], pooling, layer, cache, encoder_id=alias)

    create.__doc__ = f"{HF_ALIASES[alias]} (Hugging Face)"
    return create


# one module attribute per alias, so the built-in table can name each as "zsbench.text.hf:<attr>"
create_biobert = alias_factory("biobert")
create_biobert_base = alias_factory("biobert-base")
create_clinicalbert = alias_factory("clinicalbert")
create_pubmedbert = alias_factory("pubmedbert")
create_cxr_bert = alias_factory("cxr-bert")


def create_sentence_transformer(model: str, **_: object) -> TextEncoder:
    return SentenceTransformerEncoder(model, f"st:{model}")


class PrecomputedOptions(OptionSet):
    """``--text-option`` keys of precomputed embeddings."""

    classes: str | None = None  # comma-separated class names of the rows (default: the 14 NIH classes)


def create_precomputed(path: str, *, classes: str | None = None, **_: object) -> TextEncoder:
    return PrecomputedEncoder(path, classes)
