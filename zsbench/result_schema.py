"""The schema of result.json: a versioned pydantic model, and the JSON Schema generated from it.

A run checks its result against :class:`RunRecord` before writing it, so a field that drifts from
the schema fails in the run that introduced it, not in a reader months later. The JSON Schema ships
with the package (``zsbench/schemas/result.schema.json``) for tools outside Python; a test checks
that the shipped file is what :func:`result_json_schema` generates, and regenerating it is
``python -m zsbench.result_schema``.

Nested records whose content depends on the part that wrote them (a dataset's ``describe()``, a
method's options) are open mappings with their required keys named; everything zsbench itself
writes is closed (``extra="forbid"``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict

from zsbench.config import RunConfig
from zsbench.errors import DataError, UsageError
from zsbench.options import first_problem

RESULT_SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).parent / "schemas" / "result.schema.json"

Metric = float | None  # None where a metric is undefined (NaN is stored as null)


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A record whose extra keys depend on the part that wrote it."""

    model_config = ConfigDict(extra="allow")


class Seeds(Closed):
    seed: int
    data_seed: int
    backbone_init_seed: int


class RecipeRecord(Closed):
    """The input recipe with every ``auto`` resolved (zsbench/recipe.py)."""

    augment: str
    tta: str
    channels: int
    reason: str
    augment_applied: str  # "none" where cached frozen-backbone features replace the images


class CompileRecord(Closed):
    used: bool
    message: str


class ClassSplitRecord(Closed):
    name: str
    dataset: str | None
    seen: list[str]
    unseen: list[str]
    generator: dict[str, Any]
    keep_no_finding: list[str]
    #: per unseen class, the share of its attributes some seen class shows (synthetic world only)
    coverage: dict[str, float] | None = None


class ClassesRecord(Closed):
    all: list[str]
    seen: list[str]
    unseen: list[str]
    #: the text each class was encoded from (a list per class for ensembles); None for encoders
    #: that ignore text
    texts: list[str | list[str]] | None


class TextEncoderRecord(Open):
    id: str
    dim: int


class BackboneRecord(Closed):
    spec: str
    preprocess: dict[str, Any]


class MethodRecord(Open):
    name: str


class DatasetRecord(Open):
    name: str


class TrainingRecord(Closed):
    selection: dict[str, Any]
    best_epoch: int
    best_val_score: Metric
    stopped_early: bool
    resumed_from_epoch: int | None
    history: list[dict[str, Any]]


class Metrics(Open):
    auroc_seen: Metric
    auroc_unseen: Metric
    auroc_harmonic: Metric


class Environment(Closed):
    python: str
    torch: str
    device: str
    threads: int
    world_size: int
    backend: str | None


class Rescoring(Closed):
    at: str
    zsbench_version: str


class RunRecord(Closed):
    """result.json. ``schema_version`` changes when a key is renamed or removed."""

    schema_version: Literal[1]
    zsbench_version: str
    git_hash: str | None
    run_id: str
    created: str
    config: RunConfig
    seeds: Seeds
    recipe: RecipeRecord | None = None  # None in results written before input recipes existed
    compile: CompileRecord | None = None  # with --compile: whether it compiled, and why not
    feature_cache: dict[str, Any]
    dataset: DatasetRecord
    class_split: ClassSplitRecord
    classes: ClassesRecord
    unseen_texts_in_training: bool
    zero_shot: bool
    trained_on_labels: bool = True  # False: a training-free method (absent in older results)
    counts: dict[str, int]
    text_encoder: TextEncoderRecord
    backbone: BackboneRecord
    method: MethodRecord
    training: TrainingRecord
    metrics_version: int
    metrics: Metrics
    timings: dict[str, float]
    environment: Environment
    # written by `zsbench rescore`
    metrics_ks: list[int] | None = None
    rescored: Rescoring | None = None
    metrics_history: list[dict[str, Any]] | None = None


def check_result(result: dict[str, Any]) -> None:
    """Raise :class:`DataError` (one line: the first key that breaks the schema) unless ``result``,
    as stored in JSON, is a valid result.json."""
    try:
        RunRecord.model_validate(result)
    except pydantic.ValidationError as exc:
        problem = first_problem(exc)
        raise DataError(f"result.json does not match its schema at {problem.key}: {problem.message}") from None
    except UsageError as exc:  # the recorded config's own checks
        raise DataError(f"result.json does not match its schema at config: {exc}") from None


def result_json_schema() -> dict[str, Any]:
    return RunRecord.model_json_schema()


def schema_text() -> str:
    return json.dumps(result_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # regenerate the shipped file: python -m zsbench.result_schema
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    sys.exit(0)
