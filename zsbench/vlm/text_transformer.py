"""A small word-level transformer text tower trained from scratch (``zsbench pretrain --text-tower transformer``).

Why it exists: the default text tower is a frozen MiniLM that has read a large general corpus; a tower
that knows only the pretraining reports separates what zero-shot transfer owes to contrastive
pretraining from what it owes to the sentence encoder's prior knowledge of language. Its vocabulary
is the words of the pretraining reports *after* exclusion, so the name of an excluded finding is not
even a token (it reads as ``<unk>``): the strict setting stays strict on the text side too.

Tokenizer: lowercase, words are runs of the letters a-z (anything else separates them), ids
``<pad>`` = 0 and ``<unk>`` = 1 followed by the report words in sorted order, so the same reports
always give the same ids; at most ``max_length`` tokens (the synthetic reports have at most about 90
words), and a text without a single word becomes one ``<unk>`` so mean pooling has something to
average. Encoder: token + learned position embeddings, ``n_layers`` pre-norm
``nn.TransformerEncoder`` layers, mean pooling over the non-pad tokens; the trained linear projection
into the joint space stays ``ContrastiveModel.text_projection`` (``pretrained.pt``'s
``text_projection``), as for MiniLM. No dropout: it would draw from the global generator, which
``last.pt`` does not hold, and a resumed run must replay exactly the numbers of an unbroken one.

The vocabulary and hyper-parameters are plain JSON (``TextTransformerSpec.describe``), kept in
``last.pt`` and in ``pretrained.pt``'s metadata; the weights are tensors, so both files load with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench.errors import UsageError

TOWER_ID = "transformer"
PAD, UNK = 0, 1
SPECIALS = ("<pad>", "<unk>")
TOKENIZER = "lowercase words [a-z]+; <pad>=0, <unk>=1, then the pretraining reports' words sorted"
WORD = re.compile(r"[a-z]+")


def words(text: str) -> list[str]:
    """The tokenizer's words of ``text``: lowercase runs of letters."""
    return WORD.findall(text.lower())


def build_vocab(texts: list[str]) -> tuple[str, ...]:
    """``<pad>``, ``<unk>`` and every word of ``texts``, sorted: deterministic for the same texts."""
    return (*SPECIALS, *sorted({w for text in texts for w in words(text)}))


@dataclass(frozen=True)
class TextTransformerSpec:
    """What builds the tower: its vocabulary and hyper-parameters (recorded in both checkpoints)."""

    vocab: tuple[str, ...]
    max_length: int = 96
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    ff_dim: int = 512

    @cached_property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.vocab)}

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """int64 (len(texts), max_length) token ids, ``<pad>``-filled; unknown words are ``<unk>``."""
        out = np.full((len(texts), self.max_length), PAD, dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.index.get(w, UNK) for w in words(text)][:self.max_length] or [UNK]
            out[row, :len(ids)] = ids
        return torch.from_numpy(out)

    def describe(self) -> dict[str, Any]:
        """JSON for ``last.pt`` and ``pretrained.pt``: everything :meth:`from_description` needs."""
        return {"id": TOWER_ID, "tokenizer": TOKENIZER, "max_length": self.max_length, "d_model": self.d_model,
                "n_heads": self.n_heads, "n_layers": self.n_layers, "ff_dim": self.ff_dim, "dropout": 0.0,
                "pooling": "mean over non-pad tokens", "vocab_size": len(self.vocab), "vocab": list(self.vocab)}

    @classmethod
    def from_description(cls, record: dict[str, Any]) -> TextTransformerSpec:
        """The spec a checkpoint recorded; a damaged record is a one-line :class:`UsageError`."""
        try:
            vocab = tuple(str(w) for w in record["vocab"])
            spec = cls(vocab, int(record["max_length"]), int(record["d_model"]), int(record["n_heads"]),
                       int(record["n_layers"]), int(record["ff_dim"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"the checkpoint's transformer text tower record is incomplete "
                             f"({exc.__class__.__name__}: {exc}); re-run 'zsbench pretrain'") from None
        if vocab[:len(SPECIALS)] != SPECIALS:
            raise UsageError("the checkpoint's transformer vocabulary does not start with <pad>, <unk>; "
                             "re-run 'zsbench pretrain'")
        return spec


class TextTransformer(nn.Module):
    """Token ids (n, L) -> (n, d_model) mean-pooled features; ``encode_texts`` tokenizes first."""

    def __init__(self, spec: TextTransformerSpec) -> None:
        super().__init__()
        self.spec = spec
        self.token_embedding = nn.Embedding(len(spec.vocab), spec.d_model)
        self.position_embedding = nn.Parameter(torch.empty(spec.max_length, spec.d_model))
        nn.init.normal_(self.token_embedding.weight, std=0.02)  # CLIP's text-tower initialisation
        nn.init.normal_(self.position_embedding, std=0.01)
        layer = nn.TransformerEncoderLayer(spec.d_model, spec.n_heads, dim_feedforward=spec.ff_dim, dropout=0.0,
                                           batch_first=True, norm_first=True)
        # pre-norm layers train stably from scratch; the final LayerNorm closes the residual stream
        self.encoder = nn.TransformerEncoder(layer, spec.n_layers, norm=nn.LayerNorm(spec.d_model),
                                             enable_nested_tensor=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        keep = tokens != PAD
        width = max(int(keep.sum(dim=1).max()), 1)  # pad only to the batch's longest text
        tokens, keep = tokens[:, :width], keep[:, :width]
        x = self.token_embedding(tokens) + self.position_embedding[:width]
        x = self.encoder(x, src_key_padding_mask=~keep)
        weights = keep.unsqueeze(-1).to(x.dtype)
        return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """(len(texts), d_model) features of raw texts, in eval mode and without gradients."""
        device = self.position_embedding.device
        self.eval()
        with torch.no_grad():
            return self(self.spec.tokenize(texts).to(device))
