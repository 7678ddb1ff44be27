"""Ranking classes for new images with a trained checkpoint, including classes it never saw.

A class is a name and, optionally, a description. A name the checkpoint knows (seen or unseen in
training) keeps the embedding it was evaluated with unless a different description is given; any
other text is embedded by the checkpoint's own text encoder, which is what makes a brand-new disease
scorable from its description alone.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from zsbench.errors import UsageError

NEW = "new"  # kind of a class the checkpoint has never heard of


@dataclass(frozen=True)
class ClassQuery:
    """A class asked for: a name, and the description to embed (None: the known text, or the name)."""

    name: str
    description: str | None = None


@dataclass(frozen=True)
class ResolvedClass:
    name: str
    text: str | None  # the text embedded; None for encoders that ignore text (random, attributes)
    kind: str  # seen | unseen | other | new
    source: str  # checkpoint (recorded embedding) | description | name


def normalise_name(name: str) -> str:
    """"Pleural_Thickening", "pleural thickening" and "Pleural  Thickening" are one class."""
    return re.sub(r"\s+", " ", name.replace("_", " ")).strip().casefold()


def parse_class_list(text: str) -> list[ClassQuery]:
    """``"Edema,COVID-19 pneumonia"`` -> queries by name."""
    names = [part.strip() for part in text.split(",")]
    if not any(names) or not all(names):
        raise UsageError(f"--classes expects comma-separated class names (got {text!r})")
    return [ClassQuery(n) for n in names]


def _query_from(item: Any, where: str) -> ClassQuery:
    if isinstance(item, str):
        return ClassQuery(item.strip())
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        desc = item.get("description")
        if desc is not None and not isinstance(desc, str):
            raise UsageError(f"{where}: description of {item['name']!r} must be text")
        return ClassQuery(item["name"].strip(), desc.strip() if desc and desc.strip() else None)
    raise UsageError(f"{where}: each class must be a name or {{name: ..., description: ...}} (got {item!r})")


def read_class_file(path: str | Path) -> list[ClassQuery]:
    """Classes from YAML (a list of names or {name, description}, or a name: description mapping)
    or CSV (a header with ``name`` and optionally ``description``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"classes file {p} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise UsageError(f"cannot read classes file {p}: {exc.strerror or exc.__class__.__name__}") from None
    if p.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
        if "name" not in header:
            raise UsageError(f"{p}: CSV needs a header with a 'name' column (and optionally 'description')")
        queries = []
        for row in rows:
            clean = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if clean.get("name"):
                queries.append(ClassQuery(clean["name"], clean.get("description") or None))
    elif p.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise UsageError(f"{p}: not valid YAML") from None
        if isinstance(data, dict) and "classes" in data:
            data = data["classes"]
        if isinstance(data, dict):
            queries = [_query_from({"name": k, "description": v}, str(p)) for k, v in data.items()]
        elif isinstance(data, list):
            queries = [_query_from(item, str(p)) for item in data]
        else:
            raise UsageError(f"{p}: expected a list of classes or a mapping of name: description")
    else:
        raise UsageError(f"classes file {p} must end in .yaml, .yml or .csv")
    if not queries:
        raise UsageError(f"{p} lists no classes")
    return queries


def resolve_classes(ckpt: Any, queries: list[ClassQuery] | None) -> tuple[list[ResolvedClass], np.ndarray]:
    """The classes to score and their embeddings (C x d). ``None`` means every checkpoint class."""
    from zsbench.data.base import ClassInfo
    from zsbench.registry import TEXT_ENCODERS

    meta = ckpt.meta
    known = {normalise_name(n): i for i, n in enumerate(meta.class_names)}
    if queries is None:
        queries = [ClassQuery(n) for n in meta.class_names]
    seen_names: set[str] = set()
    resolved: list[ResolvedClass | None] = []
    vectors: list[np.ndarray | None] = []
    to_embed: list[tuple[int, str]] = []
    for q in queries:
        key = normalise_name(q.name)
        if not key:
            raise UsageError("a class name is empty")
        if key in seen_names:
            raise UsageError(f"class {q.name!r} is listed twice")
        seen_names.add(key)
        idx = known.get(key)
        recorded = meta.class_texts[idx] if idx is not None else None
        if idx is not None and (q.description is None or q.description == recorded):
            name = meta.class_names[idx]
            resolved.append(ResolvedClass(name, recorded, meta.split_of(name), "checkpoint"))
            vectors.append(ckpt.class_embeddings[idx])
            continue
        kind = meta.split_of(meta.class_names[idx]) if idx is not None else NEW
        name = meta.class_names[idx] if idx is not None else q.name
        text = q.description or q.name
        resolved.append(ResolvedClass(name, text, kind, "description" if q.description else "name"))
        vectors.append(None)
        to_embed.append((len(resolved) - 1, text))
    if to_embed:
        enc = meta.text_encoder
        enc_name = enc.get("registry_name") or meta.config.get("text_encoder")
        if not enc.get("uses_text", True):
            first = resolved[to_embed[0][0]]
            assert first is not None
            raise UsageError(
                f"this checkpoint's text encoder {enc_name!r} cannot embed new text "
                f"(class {first.name!r}); it can score only its own classes by name: "
                + ", ".join(meta.class_names)
            )
        # the run's own text options (pooling, layer, ...): new texts must be embedded as its classes were
        options = TEXT_ENCODERS.check_options(enc_name, meta.config.get("text_options") or {})
        encoder = TEXT_ENCODERS.create(enc_name, seed=meta.config.get("seed", 0), **options)
        infos = [ClassInfo(resolved[i].name, (text,)) for i, text in to_embed]  # type: ignore[union-attr]
        new = np.asarray(encoder.encode_classes(infos, "description"), dtype=np.float32)
        if new.shape != (len(infos), ckpt.class_embeddings.shape[1]):
            raise UsageError(
                f"text encoder {enc_name!r} now gives {new.shape[1]}-d vectors, the checkpoint "
                f"expects {ckpt.class_embeddings.shape[1]}-d; use the encoder version it was trained with"
            )
        for (i, _), vec in zip(to_embed, new, strict=True):
            vectors[i] = vec
    classes = [r for r in resolved if r is not None]
    return classes, np.stack([np.asarray(v, dtype=np.float32) for v in vectors])


@dataclass
class Prediction:
    """Scores of every image against every class, plus calls where a threshold is known."""

    images: list[str]
    classes: list[ResolvedClass]
    scores: np.ndarray  # (n images, C) cosine scores, higher = more likely present
    thresholds: list[float | None]  # per class; None = not calibrated for this class and text
    calibration: dict[str, Any] | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)  # (n, 1, s, s) model inputs
    embeddings: np.ndarray | None = field(default=None, repr=False)  # (C, d) class embeddings

    def order(self, i: int) -> np.ndarray:
        """Class indices of image ``i``, best first; ties keep the class order given."""
        return np.argsort(-self.scores[i], kind="stable")

    def present(self, i: int, c: int) -> bool | None:
        t = self.thresholds[c]
        return None if t is None else bool(self.scores[i, c] >= t)

    def rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """Long format: one row per (image, class), ranked within each image."""
        out = []
        for i, image in enumerate(self.images):
            for rank, c in enumerate(self.order(i)[:top], start=1):
                cls = self.classes[c]
                out.append({
                    "image": image, "rank": rank, "class": cls.name, "kind": cls.kind,
                    "score": float(self.scores[i, c]), "threshold": self.thresholds[c],
                    "present": self.present(i, int(c)),
                })
        return out

    def to_csv(self, top: int | None = None) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ["image", "rank", "class", "kind", "score", "threshold", "present"],
                                lineterminator="\n")
        writer.writeheader()
        for row in self.rows(top):
            row = {**row, "score": f"{row['score']:.6f}",
                   "threshold": "" if row["threshold"] is None else f"{row['threshold']:.6f}",
                   "present": "" if row["present"] is None else ("yes" if row["present"] else "no")}
            writer.writerow(row)
        return buf.getvalue()

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        rows = self.rows(top)
        per_image: dict[str, list[dict[str, Any]]] = {img: [] for img in self.images}
        for row in rows:
            per_image[row.pop("image")].append(row)
        return {
            "classes": [
                {"name": c.name, "kind": c.kind, "text": c.text, "text_source": c.source,
                 "threshold": t} for c, t in zip(self.classes, self.thresholds, strict=True)
            ],
            "calibration": self.calibration,
            "images": [{"image": img, "predictions": per_image[img]} for img in self.images],
        }


def predict(
    ckpt: Any,
    paths: list[Path],
    queries: list[ClassQuery] | None = None,
    calibration: Any | None = None,
    batch_size: int = 32,
) -> Prediction:
    """Read, resize and score ``paths`` against the requested classes with a loaded checkpoint."""
    from zsbench.engine.trainer import score_images
    from zsbench.imageio import load_for_model

    classes, embeddings = resolve_classes(ckpt, queries)
    pixels = load_for_model(paths, ckpt.meta.image_size)
    class_emb = torch.from_numpy(embeddings).to(ckpt.device)
    scores = score_images(ckpt.model, pixels, class_emb, batch_size=batch_size)
    thresholds: list[float | None] = [None] * len(classes)
    summary = None
    if calibration is not None:
        thresholds = [calibration.threshold_for(c.name, c.text) for c in classes]
        summary = calibration.summary()
    return Prediction([str(p) for p in paths], classes, scores, thresholds, summary, pixels, embeddings)
