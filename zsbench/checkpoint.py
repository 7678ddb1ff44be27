"""Self-describing checkpoints: what a run's ``best.pt`` records, and rebuilding a model from it.

A checkpoint is ``{"state_dict": tensors, "meta_json": str, "class_embeddings": tensor}`` written by
:func:`zsbench.results.write_checkpoint`. Everything needed to rebuild and use the model is in the
JSON: the full run config, class names and texts, text encoder, backbone spec and preprocessing,
method, dataset provenance and versions. Reading uses ``torch.load(weights_only=True)`` only, so a
file can never make us unpickle (and run) arbitrary objects.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zsbench import __version__
from zsbench.errors import CheckpointError, UsageError

CHECKPOINT_FORMAT = "zsbench-checkpoint"
#: Bump when the layout changes in a way older readers cannot follow; readers refuse newer formats.
CHECKPOINT_FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

_REQUIRED = ("zsbench_version", "config", "class_names", "seen", "unseen", "class_texts",
             "text_encoder", "backbone", "method", "dataset")


def checkpoint_meta(
    config: Any,
    dataset: Any,
    classes: list[Any],
    seen: list[int],
    unseen: list[int],
    encoder: Any,
    embeddings: np.ndarray,
    model: Any,
    image_size: int,
    channels: int = 1,
) -> dict[str, Any]:
    """The JSON metadata a run stores with ``model``'s weights (the epoch is added per save)."""
    from zsbench.results import git_hash
    from zsbench.text.class_texts import class_texts

    names = [c.name for c in classes]
    # the texts the encoder actually embedded; encoders that ignore text have none to record
    texts: list[str | None] = (
        list(class_texts(classes, config.class_text)) if encoder.uses_text else [None] * len(classes)
    )
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "zsbench_version": __version__,
        "git_hash": git_hash(),
        "config": config.to_dict(),
        "class_names": names,
        "seen": [names[i] for i in seen],
        "unseen": [names[i] for i in unseen],
        "class_text_mode": config.class_text,
        "class_texts": texts,
        "class_descriptions": [list(c.descriptions) for c in classes],
        "text_encoder": {**encoder.describe(), "registry_name": config.text_encoder,
                         "uses_text": bool(encoder.uses_text), "dim": int(embeddings.shape[1])},
        # channels: the input recipe's (zsbench/recipe.py); the model is rebuilt with it
        "backbone": {"spec": config.backbone, "image_size": int(image_size), "channels": int(channels),
                     "feature_dim": int(model.backbone.feature_dim),
                     "preprocess": model.backbone.preprocess.to_dict()},
        "method": model.method.describe(),
        "dataset": dataset.describe(),
    }


@dataclass(frozen=True)
class CheckpointMeta:
    """The parsed, validated metadata of a checkpoint."""

    format_version: int
    zsbench_version: str
    config: dict[str, Any]
    class_names: list[str]
    seen: list[str]
    unseen: list[str]
    class_texts: list[str | None]
    class_descriptions: list[list[str]]
    text_encoder: dict[str, Any]
    backbone: dict[str, Any]
    method: dict[str, Any]
    dataset: dict[str, Any]
    epoch: int | None
    raw: dict[str, Any]

    @property
    def image_size(self) -> int:
        return int(self.backbone["image_size"])

    def split_of(self, name: str) -> str:
        return "seen" if name in self.seen else "unseen" if name in self.unseen else "other"

    @classmethod
    def from_dict(cls, meta: dict[str, Any], where: str) -> CheckpointMeta:
        if meta.get("format") != CHECKPOINT_FORMAT:
            if "config" in meta and "class_names" in meta:
                raise CheckpointError(
                    f"{where} predates self-describing checkpoints (zsbench "
                    f"{meta.get('zsbench_version', '?')}, no format version); rerun `zsbench run` to make one"
                )
            raise CheckpointError(f"{where} is not a zsbench checkpoint (no {CHECKPOINT_FORMAT!r} record)")
        version = meta.get("format_version")
        if version not in SUPPORTED_FORMAT_VERSIONS:
            newer = isinstance(version, int) and version > max(SUPPORTED_FORMAT_VERSIONS)
            advice = "upgrade zsbench" if newer else "rerun `zsbench run` with this zsbench"
            raise CheckpointError(
                f"{where} has checkpoint format {version!r} (zsbench {meta.get('zsbench_version', '?')}); "
                f"zsbench {__version__} reads format {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}: {advice}"
            )
        missing = [k for k in _REQUIRED if k not in meta]
        if missing:
            raise CheckpointError(f"{where} is damaged: metadata lacks {', '.join(missing)}")
        n = len(meta["class_names"])
        if len(meta["class_texts"]) != n:
            raise CheckpointError(f"{where} is damaged: {len(meta['class_texts'])} class texts for {n} classes")
        return cls(
            format_version=int(version),
            zsbench_version=str(meta["zsbench_version"]),
            config=dict(meta["config"]),
            class_names=list(meta["class_names"]),
            seen=list(meta["seen"]),
            unseen=list(meta["unseen"]),
            class_texts=list(meta["class_texts"]),
            class_descriptions=list(meta.get("class_descriptions") or [[] for _ in range(n)]),
            text_encoder=dict(meta["text_encoder"]),
            backbone=dict(meta["backbone"]),
            method=dict(meta["method"]),
            dataset=dict(meta["dataset"]),
            epoch=meta.get("epoch"),
            raw=meta,
        )


@dataclass
class RawCheckpoint:
    path: Path
    sha256: str
    meta: CheckpointMeta
    state_dict: dict[str, torch.Tensor]
    class_embeddings: np.ndarray  # (C, d), the training-time embeddings of meta.class_names


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file, or a run directory holding ``best.pt``."""
    p = Path(path)
    if p.is_dir():
        p = p / "best.pt"
    if not p.is_file():
        raise CheckpointError(f"no checkpoint at {p}")
    return p


def read_checkpoint(path: str | Path) -> RawCheckpoint:
    """Read and validate a checkpoint without building the model."""
    p = resolve_checkpoint_path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {p}: {exc.strerror or exc.__class__.__name__}") from None
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean the same to the user
        # only a well-formed torch archive that names a Python global to rebuild is "unsafe"; random
        # bytes also fail the weights-only unpickler, but with an unsupported opcode
        unsafe = zipfile.is_zipfile(io.BytesIO(data)) and "global" in str(exc).lower()
        why = "it holds objects other than tensors and plain data, which zsbench refuses to unpickle" \
            if unsafe else f"damaged or not a torch file ({exc.__class__.__name__})"
        raise CheckpointError(f"cannot load checkpoint {p}: {why}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("meta_json"), str) \
            or not isinstance(payload.get("state_dict"), dict):
        raise CheckpointError(f"{p} is not a zsbench checkpoint (expected state_dict and meta_json)")
    try:
        meta_dict = json.loads(payload["meta_json"])
    except json.JSONDecodeError:
        raise CheckpointError(f"{p} is damaged: its metadata is not valid JSON") from None
    if not isinstance(meta_dict, dict):
        raise CheckpointError(f"{p} is damaged: its metadata is not a JSON object")
    meta = CheckpointMeta.from_dict(meta_dict, str(p))
    emb = payload.get("class_embeddings")
    dim = int(meta.text_encoder.get("dim", -1))
    if not isinstance(emb, torch.Tensor) or tuple(emb.shape) != (len(meta.class_names), dim):
        raise CheckpointError(f"{p} is damaged: class embeddings missing or not {len(meta.class_names)} x {dim}")
    state = payload["state_dict"]
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{p} is damaged: its state_dict holds something other than tensors")
    return RawCheckpoint(p, hashlib.sha256(data).hexdigest(), meta, state, emb.float().numpy())


@dataclass
class LoadedCheckpoint:
    """A checkpoint with its model rebuilt, weights loaded, in eval mode."""

    path: Path
    sha256: str
    meta: CheckpointMeta
    model: Any  # ZeroShotModel (imported lazily: the engine pulls in torch modules we may not need)
    class_embeddings: np.ndarray
    device: torch.device


def load_checkpoint(path: str | Path, device: torch.device | None = None) -> LoadedCheckpoint:
    """Rebuild the backbone and method from the registries with the recorded config; load weights."""
    from zsbench.engine.trainer import create_model
    raw = read_checkpoint(path)
    meta, where = raw.meta, str(raw.path)
    spec = meta.backbone.get("spec", meta.config.get("backbone"))
    try:
        # the trained weights are loaded below, so nothing pretrained is fetched here
        model = create_model(
            spec, meta.config["method"], meta.config.get("method_options") or {},
            image_size=meta.image_size, text_dim=int(meta.text_encoder["dim"]),
            n_classes=len(meta.class_names), pretrained=False, channels=int(meta.backbone.get("channels", 1)),
        )
    except CheckpointError:
        raise
    except UsageError as exc:  # e.g. the plugin that provided the backbone is not installed here
        raise CheckpointError(f"cannot rebuild the model of {where}: {exc}") from None
    recorded = json.loads(json.dumps(meta.backbone.get("preprocess")))
    built = json.loads(json.dumps(model.backbone.preprocess.to_dict()))
    if recorded != built:
        raise CheckpointError(
            f"backbone {spec!r} now preprocesses as {built}, but {where} was trained with {recorded}; "
            "use the zsbench (or plugin) version that wrote it"
        )
    try:
        model.load_state_dict(raw.state_dict)
    except RuntimeError as exc:
        # torch's message starts with a generic header; the next line names the offending keys
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [exc.__class__.__name__]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise CheckpointError(
            f"weights in {where} do not fit {spec} + {meta.config['method']}: {detail[:200]}"
        ) from None
    device = device or torch.device("cpu")
    model.to(device).eval()
    return LoadedCheckpoint(raw.path, raw.sha256, meta, model, raw.class_embeddings, device)
