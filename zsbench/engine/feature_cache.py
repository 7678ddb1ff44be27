"""Frozen-backbone feature cache: extract a frozen backbone's features once, reuse them across runs.

A method whose backbone is frozen (``method.frozen_backbone``, LESA by default) only ever sees what
the backbone makes of each image, and that does not depend on the class split or the run seed
(the runner seeds a frozen backbone from ``data_seed``, see :func:`seed_frozen_backbone`). So the
features of every image of an image-split part are computed once and stored, one file per
(key, part), under the cache folder (``RunConfig.feature_cache``; ``auto``: ``OUT/.features``).

The key is a sha256 over the backbone spec, a sha256 of the backbone's state dict (different weights
never share features), the feature kind (pooled vector or spatial map), the preprocessing, the
dataset's ``describe()``, the device type, and the ids of the part's images. A part's file holds
*every* image of the dataset's part, not only those a class split keeps, so other class splits hit
it too. Files are written atomically (``torch.save`` to bytes, then rename), read with
``weights_only=True`` and checked against their key, ids and a sha256 of the features; a damaged
or foreign file counts as a miss and is recomputed. A JSON sidecar describes each file.

Training then runs the method head on features: :func:`use_features` puts a stand-in in place of
the backbone that returns its input and holds the real backbone's weights under the same names, so
``trainer.train``, ``score_images`` and the checkpoints they write work unchanged.
Random translation cannot apply to features, so cached runs train without it (as LESA's published
pipeline does on precomputed features). Ten-crop TTA needs features per crop: with ``--tta
tencrop`` the cache is not used.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench import __version__
from zsbench.backbones.base import Backbone, FeatureInput, prepare_batch
from zsbench.data.base import DatasetSource
from zsbench.data.files import FileImageSource
from zsbench.engine.trainer import TrainSettings, ZeroShotModel, backbone_features
from zsbench.errors import DataError, UsageError
from zsbench.progress import CountFn
from zsbench.results import atomic_write_bytes, to_json, write_json

FORMAT = "zsbench-features"
FORMAT_VERSION = 1
LOAD_CHUNK = 512  # images rendered or read at a time while extracting
EXTRACT_BATCH = 64  # fixed, so extraction is the same computation in every run


def state_digest(module: nn.Module) -> str:
    """sha256 of a module's state dict: names, dtypes, shapes and bytes of every tensor."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _features_sha(features: np.ndarray) -> str:
    """sha256 of a feature array's bytes: written beside the features, checked when they are read."""
    return hashlib.sha256(np.ascontiguousarray(features).data).hexdigest()


@contextmanager
def _rng_kept() -> Iterator[None]:
    """Leave the global torch, numpy and random generators as they were."""
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        yield
    np.random.set_state(np_state)
    random.setstate(py_state)


def seed_frozen_backbone(model: ZeroShotModel, build: Callable[[], nn.Module], seed: int) -> bool:
    """Give a frozen backbone the weights ``build()`` makes after seeding with ``seed`` (the data
    seed), so its features do not depend on the run seed; pretrained weights load as they would.
    The global random generators are left as they were, so the method's initialisation and
    everything after it are unchanged. Returns whether the backbone is frozen."""
    if not model.method.frozen_backbone:
        return False
    with _rng_kept():
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        fresh = build()
    model.backbone.load_state_dict(fresh.state_dict())
    return True


class FeatureStandIn(Backbone):
    """Takes a frozen backbone's place when its features are computed beforehand: returns its input.

    It holds the real backbone's submodules, parameters and buffers under the same names, so the
    model's state dict (``best.pt``, ``last.pt``) is exactly that of the model with the backbone.
    """

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        for name, child in backbone.named_children():
            self.add_module(name, child)
        for name, param in backbone.named_parameters(recurse=False):
            self.register_parameter(name, param)
        for name, buf in backbone.named_buffers(recurse=False):
            self.register_buffer(name, buf, persistent=name not in backbone._non_persistent_buffers_set)
        if list(self.state_dict()) != list(backbone.state_dict()):
            raise UsageError(f"{type(backbone).__name__} keeps state that a feature cache cannot mirror; "
                             "pass --no-feature-cache")
        object.__setattr__(self, "real", backbone)  # not registered: its weights are ours already
        self.feature_dim = backbone.feature_dim
        self.feature_map_dim = backbone.feature_map_dim
        self.preprocess = FeatureInput(**backbone.preprocess.to_dict())

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def use_features(model: ZeroShotModel) -> None:
    """From now on ``model`` takes features (from :meth:`FeatureCache.load`) instead of pixels."""
    if not isinstance(model.backbone, FeatureStandIn):
        model.backbone = FeatureStandIn(model.backbone)


def restore_backbone(model: ZeroShotModel) -> None:
    """Put the real backbone back (with the stand-in's current weights): the model takes pixels again."""
    stand_in = model.backbone
    if isinstance(stand_in, FeatureStandIn):
        stand_in.real.load_state_dict(stand_in.state_dict())
        model.backbone = stand_in.real


@torch.no_grad()
def extract_features(
    model: ZeroShotModel, dataset: DatasetSource, ids: list[str], device: torch.device,
    progress: CountFn | None = None,
) -> np.ndarray:
    """float32 features of ``ids`` (pooled or map, per the method), without augmentation, in eval mode."""
    backbone = model.backbone.real if isinstance(model.backbone, FeatureStandIn) else model.backbone
    kind = model.method.feature_kind
    was_training = backbone.training
    backbone.eval()
    out: np.ndarray | None = None
    try:
        for start in range(0, len(ids), LOAD_CHUNK):
            pixels = dataset.load_images(np.array(ids[start : start + LOAD_CHUNK]))
            for b in range(0, len(pixels), EXTRACT_BATCH):
                batch = torch.from_numpy(pixels[b : b + EXTRACT_BATCH]).to(device)
                x = prepare_batch(batch, backbone.preprocess)
                feats = backbone_features(backbone, kind, x).float().cpu().numpy()
                if out is None:
                    out = np.empty((len(ids), *feats.shape[1:]), dtype=np.float32)
                out[start + b : start + b + len(feats)] = feats
            if progress:
                progress(min(start + LOAD_CHUNK, len(ids)), len(ids))
    finally:
        backbone.train(was_training)
    if out is None:
        raise DataError("no images to extract features from")
    return out


def cache_folder(config: Any) -> Path | None:
    """The configured cache folder; ``auto`` is ``OUT/.features``; None when turned off."""
    if config.feature_cache is None:
        return None
    return Path(config.out) / ".features" if config.feature_cache == "auto" else Path(config.feature_cache)


@dataclass
class FeatureCache:
    """A run's view of the cache: whether it is used, and what each part found."""

    used: bool
    reason: str = ""
    root: Path | None = None
    description: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _model: ZeroShotModel | None = field(default=None, repr=False)
    _dataset: DatasetSource | None = field(default=None, repr=False)
    _device: torch.device | None = field(default=None, repr=False)

    @classmethod
    def for_run(cls, config: Any, model: ZeroShotModel, dataset: DatasetSource,
                device: torch.device, tta: str = "none") -> FeatureCache:
        if not model.method.frozen_backbone:
            return cls(False, "the backbone is trained")
        root = cache_folder(config)
        if root is None:
            return cls(False, "turned off (--no-feature-cache)")
        if tta != "none":
            return cls(False, f"--tta {tta} scores image crops, which have no cached features")
        description = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "backbone": config.backbone,
            "backbone_state_sha256": state_digest(model.backbone),
            "feature_kind": model.method.feature_kind,
            "preprocess": model.backbone.preprocess.to_dict(),
            "dataset": dataset.describe(),
            "device_type": device.type,
            "dtype": "float32",
            "extract_batch": EXTRACT_BATCH,
        }
        return cls(True, root=root, description=description, _model=model, _dataset=dataset, _device=device)

    @property
    def key(self) -> str:
        """sha256 of everything but the images; each part's file also covers the part's ids."""
        return _sha(to_json(self.description))

    def adjust(self, settings: TrainSettings) -> TrainSettings:
        """Training settings for features: no pixel augmentation; channels_last only for maps."""
        if not self.used:
            return settings
        return replace(settings, augment="none",
                       channels_last=settings.channels_last and self.description["feature_kind"] == "map")

    def load(self, part: str, ids: np.ndarray, progress: CountFn | None = None) -> np.ndarray:
        """Features of ``ids`` (images of the dataset's ``part``), from the cache or extracted now."""
        assert self.root is not None and self._dataset is not None and self._model is not None
        table = self._dataset.table()
        part_ids = [str(i) for i in table.ids[table.part == part]]
        digest = _sha(f"{self.key}|{part}|{_sha(chr(10).join(part_ids))}")
        path = self.root / f"{digest[:40]}.pt"
        wanted = [str(i) for i in ids]
        status, stored = self._read(path, digest)
        if stored is not None and not set(wanted) <= set(stored[0]):
            status, stored = "stale", None  # images that were missing at extraction are back
        if stored is None:
            available = part_ids
            if isinstance(self._dataset, FileImageSource):
                missing = set(self._dataset.missing_ids(np.array(part_ids)))
                available = [i for i in part_ids if i not in missing]
            assert self._device is not None
            features = extract_features(self._model, self._dataset, available, self._device, progress)
            self._write(path, digest, part, available, features)
            stored = (available, features)
        elif progress:
            progress(len(wanted), len(wanted))
        rows = {image_id: n for n, image_id in enumerate(stored[0])}
        missing_rows = [i for i in wanted if i not in rows]
        if missing_rows:
            raise DataError(f"image {missing_rows[0]} is not in the {part} part of the dataset")
        self.parts[part] = {"status": status, "file": path.name, "stored_images": len(stored[0])}
        return stored[1][[rows[i] for i in wanted]]

    def _read(self, path: Path, digest: str) -> tuple[str, tuple[list[str], np.ndarray] | None]:
        if not path.is_file():
            return "miss", None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            features = payload["features"].numpy()
            ok = (payload["format"] == FORMAT and payload["digest"] == digest
                  and isinstance(payload["ids"], list) and len(payload["ids"]) == len(features)
                  and all(isinstance(i, str) for i in payload["ids"])
                  and features.dtype == np.float32
                  and _features_sha(features) == payload["sha256"])
        except Exception:  # any damage reads as a miss; the file is written again
            return "corrupt", None
        return ("hit", (payload["ids"], features)) if ok else ("corrupt", None)

    def _write(self, path: Path, digest: str, part: str, ids: list[str], features: np.ndarray) -> None:
        sha = _features_sha(features)
        buf = io.BytesIO()
        torch.save({"format": FORMAT, "digest": digest, "ids": ids, "sha256": sha,
                    "features": torch.from_numpy(features)}, buf)
        try:
            atomic_write_bytes(path, buf.getvalue())
            write_json(path.with_suffix(".json"), {
                **self.description, "key": self.key, "part": part, "n_images": len(ids),
                "stored_ids_sha256": _sha("\n".join(ids)), "shape": list(features.shape), "features_sha256": sha,
                "zsbench_version": __version__, "created": datetime.now(UTC).isoformat(timespec="seconds"),
            })
        except OSError as exc:
            raise UsageError(f"cannot write the feature cache in {path.parent} ({exc.strerror or exc}); "
                             "pass --feature-cache DIR or --no-feature-cache") from None

    def record(self) -> dict[str, Any]:
        """What result.json says about the cache."""
        if not self.used:
            return {"used": False, "reason": self.reason}
        return {
            "used": True,
            "hit": bool(self.parts) and all(p["status"] == "hit" for p in self.parts.values()),
            "key": self.key,
            "dir": str(self.root),
            "parts": self.parts,
            "augment": False,
        }
