"""Finding runs (result.json + scores.npz) and reading what a leaderboard groups them by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zsbench.errors import UsageError
from zsbench.metrics import SUH
from zsbench.runfiles import RESULT_NAME, StoredRun, read_stored_run, result_field


@dataclass(frozen=True, order=True)
class GroupKey:
    """Runs with the same key are repeats of one benchmark entry (other seeds or class splits)."""

    dataset: str
    protocol: str
    method: str
    backbone: str
    text_encoder: str
    class_text: str
    #: the training budget (config.epochs), so that runs trained for longer form their own group;
    #: ``-`` for a training-free method or a result that does not record it
    epochs: str = "-"

    def to_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class RunRecord:
    """One run as a leaderboard sees it."""

    run: StoredRun
    run_id: str
    key: GroupKey
    split_name: str
    seed: int
    zero_shot: bool
    metrics_version: int | None
    dataset_config: dict[str, Any]
    trained_on_labels: bool = True  # False: a training-free method (absent before such methods existed)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.run.result["metrics"]


def protocol_of(result: dict[str, Any], path: Path) -> str:
    """The class-split family: ``random-u<n_unseen>`` for random splits, else the split's name."""
    split = result_field(result, "class_split", dict, path)
    generator = split.get("generator") or {}
    if isinstance(generator, dict) and generator.get("kind") == "random":
        n_unseen = generator.get("n_unseen", len(result_field(result, "class_split.unseen", list, path)))
        minimum = generator.get("min_coverage")
        return f"random-u{n_unseen}" + (f"-c{round(100 * minimum)}" if isinstance(minimum, int | float) else "")
    return str(result_field(result, "class_split.name", str, path))


def method_label(result: dict[str, Any], path: Path) -> str:
    """The method name, with its preset when the method has presets (``cxr-ml-gzsl:reference``), and
    ``:fine-tuned`` when a method that freezes its backbone by default (LESA) trained it: the two
    are different experiments and must not share a leaderboard row."""
    name = result_field(result, "config.method", str, path)
    method = result.get("method") if isinstance(result.get("method"), dict) else {}
    preset = method.get("preset")
    label = f"{name}:{preset}" if preset else name
    return f"{label}:fine-tuned" if method.get("frozen") is False else label


#: specs whose argument is a ``zsbench pretrain`` checkpoint: a leaderboard names them by what
#: pretraining saw, not by where the file lies (one checkpoint per class split shares one row)
PRETRAINED_KINDS = ("pretrained:", "zsbench-clip:")
DEFAULT_PRETRAIN = {"data_seed": 1000, "seed": 0, "text_tower": "minilm"}


def pretraining_tag(pretraining: dict[str, Any], unseen: list[str]) -> str:
    """``all findings``, ``unseen excluded`` (the run's own unseen classes, ``+ images`` when their
    images were dropped too) or ``without A,B``; a non-default world or pretraining seed is added."""
    excluded = sorted(pretraining.get("exclude_findings") or [])
    if not excluded:
        tag = "all findings"
    elif excluded == sorted(unseen):
        tag = "unseen excluded" + (" + images" if pretraining.get("drop_images") else "")
    else:
        tag = "without " + ",".join(excluded)
    extra = [f"{name.replace('_', ' ')} {pretraining.get(name)}" for name, default in DEFAULT_PRETRAIN.items()
             if pretraining.get(name, default) != default]
    return ", ".join([tag, *extra])


def part_label(spec: str, result: dict[str, Any], path: Path) -> str:
    """A backbone or text-encoder spec as a leaderboard names it: itself, or for a pretrain checkpoint
    ``kind[what pretraining saw]`` (from result.json's ``backbone.preprocess.pretraining``)."""
    kind = next((k for k in PRETRAINED_KINDS if spec.startswith(k)), None)
    backbone = result.get("backbone") if isinstance(result.get("backbone"), dict) else {}
    preprocess = backbone.get("preprocess") if isinstance(backbone.get("preprocess"), dict) else {}
    pretraining = preprocess.get("pretraining")
    if kind is None or not isinstance(pretraining, dict):
        return spec
    if spec.split(":", 1)[1] != str(backbone.get("spec", "")).split(":", 1)[-1]:
        return spec  # a text tower from another checkpoint than the backbone's: keep its path
    unseen = result_field(result, "class_split.unseen", list, path)
    return f"{kind[:-1]}[{pretraining_tag(pretraining, unseen)}]"


def record_from_run(run: StoredRun) -> RunRecord:
    """Check and pick out the fields a leaderboard needs; errors name the result.json."""
    res, path = run.result, run.result_path
    for name in SUH:
        value = result_field(res, f"metrics.{name}", (float, int, type(None)), path)
        if isinstance(value, bool):
            raise UsageError(f"{path}: malformed result, 'metrics.{name}' is not a number")
    per_class = result_field(res, "metrics.auroc_per_class", list, path)
    if len(per_class) != len(run.class_names):
        raise UsageError(f"{path}: malformed result, metrics.auroc_per_class has {len(per_class)} values "
                         f"for {len(run.class_names)} classes")
    key = GroupKey(
        dataset=str(result_field(res, "config.dataset", str, path)),
        protocol=protocol_of(res, path),
        method=method_label(res, path),
        backbone=part_label(str(result_field(res, "config.backbone", str, path)), res, path),
        text_encoder=part_label(str(result_field(res, "config.text_encoder", str, path)), res, path),
        class_text=str(result_field(res, "config.class_text", str, path)),
        epochs=_epochs(res),
    )
    dataset = res.get("dataset") if isinstance(res.get("dataset"), dict) else {}
    return RunRecord(
        run=run,
        run_id=str(result_field(res, "run_id", str, path)),
        key=key,
        split_name=str(result_field(res, "class_split.name", str, path)),
        seed=int(result_field(res, "config.seed", int, path)),
        zero_shot=bool(result_field(res, "zero_shot", bool, path)),
        metrics_version=res.get("metrics_version"),
        dataset_config={k: v for k, v in dataset.items() if k != "seed"},
        trained_on_labels=res.get("trained_on_labels") is not False,
    )


def _epochs(result: dict[str, Any]) -> str:
    epochs = result["config"].get("epochs")
    if result.get("trained_on_labels") is False or not isinstance(epochs, int) or isinstance(epochs, bool):
        return "-"
    return str(epochs)


def find_results(paths: Sequence[str | Path]) -> list[Path]:
    """Every result.json: a path is a result.json, a run directory, or a folder searched recursively."""
    if not paths:
        raise UsageError("give at least one run directory or folder of runs")
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_file() and given.name == RESULT_NAME:
            found.append(given)
        elif given.is_dir():
            found += sorted(p for p in given.rglob(RESULT_NAME) if p.is_file())
        else:
            raise UsageError(f"{given}: no such run directory or result.json")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UsageError(f"no {RESULT_NAME} found under {', '.join(map(str, paths))}; "
                         "give finished run directories (zsbench run --out)")
    return unique


def collect_runs(paths: Sequence[str | Path]) -> list[RunRecord]:
    """All runs under ``paths``, read and checked; a run id seen twice (a copied run) is an error."""
    records: dict[str, RunRecord] = {}
    for result_path in find_results(paths):
        record = record_from_run(read_stored_run(result_path.parent, result_path))
        if record.run_id in records:
            other = records[record.run_id].run.result_path
            raise UsageError(f"run id {record.run_id!r} appears twice ({other} and {result_path}); "
                             "a copied run would count twice, so pass only one of them")
        records[record.run_id] = record
    return sorted(records.values(), key=lambda r: (r.key, r.run_id))
