"""Prompt sets: how an image-text model's text tower turns class names into class embeddings.

A prompt set (``--text-option prompts=NAME-or-FILE.yaml``) has ``templates`` filled with each
class's phrase (its display name unless ``phrases`` names another), optional per-class prompt lists
(``classes``: name -> full prompts, used instead of the templates for that class), and
``ensemble: mean``: a class's embedding is the mean of its L2-normalised prompt embeddings,
renormalised. ``paired: true`` is CheXzero's scheme: every class also gets a negative embedding from
``negative_templates`` (``"no {}"``); the class embedding is then positive and negative side by side
(2 x dim), and a method scores the softmax over the pair's two cosine similarities.

Built-in sets: ``cxr`` (generic templates), ``nih``, ``chexpert``, ``padchest`` (their class
names as radiology phrases), ``chexzero`` (paired ``"{}"`` vs ``"no {}"``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from zsbench.data.base import ClassInfo
from zsbench.errors import UsageError, did_you_mean
from zsbench.options import first_problem

DEFAULT_TEMPLATES = ("a chest x-ray showing {}", "chest radiograph with {}", "findings consistent with {}")


def phrase_key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


class PromptSet(BaseModel):
    """One prompt set, as its YAML file spells it (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    templates: tuple[str, ...] = DEFAULT_TEMPLATES
    phrases: dict[str, str] = Field(default_factory=dict)  # class name -> phrase filled into templates
    classes: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # class name -> its own prompts
    ensemble: Literal["mean"] = "mean"
    paired: bool = False
    negative_templates: tuple[str, ...] = ("no {}",)

    @field_validator("templates", "negative_templates")
    @classmethod
    def one_slot(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one template")
        bad = [t for t in value if t.count("{}") != 1]
        if bad:
            raise ValueError(f"template {bad[0]!r} must hold exactly one {{}} (where the class phrase goes)")
        return value

    @field_validator("classes")
    @classmethod
    def non_empty(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        empty = [k for k, v in value.items() if not v]
        if empty:
            raise ValueError(f"class {empty[0]!r} lists no prompts")
        return value

    def phrase(self, cls: ClassInfo) -> str:
        phrases = {phrase_key(k): v for k, v in self.phrases.items()}
        return phrases.get(phrase_key(cls.name), cls.display_name.lower())

    def positives(self, cls: ClassInfo) -> list[str]:
        own = {phrase_key(k): v for k, v in self.classes.items()}
        if phrase_key(cls.name) in own:
            return list(own[phrase_key(cls.name)])
        return [t.format(self.phrase(cls)) for t in self.templates]

    def negatives(self, cls: ClassInfo) -> list[str]:
        return [t.format(self.phrase(cls)) for t in self.negative_templates]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


NIH_PHRASES = {
    "Effusion": "pleural effusion", "Infiltration": "pulmonary infiltrates", "Mass": "lung mass",
    "Nodule": "lung nodule", "Pleural_Thickening": "pleural thickening", "Hernia": "hiatal hernia",
    "Fibrosis": "pulmonary fibrosis", "Edema": "pulmonary edema", "No Finding": "no acute findings",
}
CHEXPERT_PHRASES = {
    "Enlarged Cardiomediastinum": "enlarged cardiomediastinal silhouette", "Lung Opacity": "lung opacity",
    "Lung Lesion": "lung lesion", "Pleural Other": "pleural abnormality", "Fracture": "rib fracture",
    "Support Devices": "support devices such as lines and tubes", "Edema": "pulmonary edema",
    "No Finding": "no acute findings",
}
BUILTIN: dict[str, dict[str, Any]] = {
    "cxr": {},
    "nih": {"phrases": NIH_PHRASES},
    "chexpert": {"phrases": CHEXPERT_PHRASES},
    "padchest": {"templates": ("a chest x-ray showing {}", "chest radiograph with {}")},
    "chexzero": {"templates": ("{}",), "negative_templates": ("no {}",), "paired": True,
                 "phrases": {**NIH_PHRASES, **CHEXPERT_PHRASES}},
}


def load_prompt_set(ref: str) -> PromptSet:
    """A built-in set by name, or a YAML file."""
    if ref in BUILTIN:
        return PromptSet(name=ref, **BUILTIN[ref])
    path = Path(ref)
    if path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"prompt set {ref!r} is neither a built-in set ({did_you_mean(ref, BUILTIN)}) "
                         "nor a .yaml file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read prompt set {path}: {exc.strerror or exc.__class__.__name__}") from None
    except yaml.YAMLError:
        raise UsageError(f"prompt set {path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise UsageError(f"prompt set {path} must be a mapping (templates, classes, ensemble, paired)")
    try:
        return PromptSet(**{"name": path.stem, **data})
    except pydantic.ValidationError as exc:
        problem = first_problem(exc)
        raise UsageError(f"prompt set {path}: {problem.key}: {problem.message}") from None


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def ensemble_mean(vectors: np.ndarray) -> np.ndarray:
    """Mean of the L2-normalised rows, renormalised."""
    return normalise(normalise(vectors.astype(np.float64)).mean(axis=0))


def encode_prompts(encode_texts: Callable[[list[str]], np.ndarray], classes: list[ClassInfo],
                   prompts: PromptSet) -> np.ndarray:
    """float32 (C, dim), or (C, 2 x dim) for a paired set: [positive | negative] per class."""
    groups = [prompts.positives(c) for c in classes]
    if prompts.paired:
        groups += [prompts.negatives(c) for c in classes]
    flat = [t for g in groups for t in g]
    vectors = np.asarray(encode_texts(flat), dtype=np.float32)
    out, start = [], 0
    for g in groups:
        out.append(ensemble_mean(vectors[start : start + len(g)]))
        start += len(g)
    emb = np.stack(out).astype(np.float32)
    if prompts.paired:
        n = len(classes)
        emb = np.concatenate([emb[:n], emb[n:]], axis=1)
    return emb
