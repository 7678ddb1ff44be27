"""``last.pt``: the state a killed run continues from (``zsbench run --resume``, sweeps).

Besides the trainer's :class:`TrainState` it records the run's configuration, the number of DDP
processes and the dataset's ``describe()``; resuming with any of them different is refused in one
line, since the weights would then mix two runs. A state of another layout version is refused the
same way: reading it field by field could restore a half-matching state, and continuing would no
longer end with the weights of an uninterrupted run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from zsbench.config import SPEED_ONLY
from zsbench.engine.train_state import TRAIN_STATE_VERSION, TrainState, saved_version
from zsbench.errors import UsageError
from zsbench.results import as_stored, to_json

RESUME_FILE = "last.pt"


@dataclass(frozen=True)
class ResumeState:
    """What ``last.pt`` holds: the trainer's state plus what a resume must match."""

    train: TrainState
    config_json: str
    world_size: int  # the batch shards, hence the weights, depend on it
    dataset_json: str | None  # None only in a state edited by hand (tests): then the world version decides

    @classmethod
    def of_run(cls, train: TrainState, config: Any, dataset: Any, world_size: int) -> ResumeState:
        return cls(train, to_json(config.to_dict()), world_size, to_json(dataset.describe()))

    def to_payload(self) -> dict[str, Any]:
        """The flat dictionary of plain containers and tensors that ``torch.save`` writes, so that
        ``torch.load(weights_only=True)`` reads it back without unpickling any class."""
        payload: dict[str, Any] = {**self.train.to_dict(), "config_json": self.config_json,
                                   "world_size": self.world_size}
        if self.dataset_json is not None:
            payload["dataset_json"] = self.dataset_json
        return payload


def load_resume_state(run_dir: Path, config: Any, world_size: int = 1) -> ResumeState:
    """The state in ``run_dir/last.pt``, refused unless it has this zsbench's layout version and
    was written by the same flags and process count."""
    path = run_dir / RESUME_FILE
    if not path.is_file():
        raise UsageError(f"{run_dir} has no {RESUME_FILE} to resume from (no epoch had finished)")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file: say so in one line, never unpickle anything else
        raise UsageError(f"{path} is damaged ({exc.__class__.__name__}); start the run again") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path} is damaged (not a saved training state); start the run again")
    found = saved_version(raw)
    if found != TRAIN_STATE_VERSION:
        raise UsageError(f"{path} holds a training state of version {found}, this zsbench reads version "
                         f"{TRAIN_STATE_VERSION}; it cannot be continued: start a fresh run in a new folder")
    stored = {k: v for k, v in json.loads(raw.get("config_json", "{}")).items() if k not in SPEED_ONLY}
    if stored != as_stored(config.identity()):
        raise UsageError(f"{path} was written by a different run configuration; resume with the same flags")
    if raw.get("world_size", 1) != world_size:
        raise UsageError(f"{path} was written by {raw.get('world_size', 1)} process(es), this is {world_size}; "
                         "resume with as many (torchrun --nproc-per-node N, or no torchrun for 1)")
    try:
        train = TrainState.from_dict(raw)
    except KeyError as exc:
        raise UsageError(f"{path} is incomplete (no {exc.args[0]!r}); start a fresh run in a new folder") from None
    return ResumeState(train, raw["config_json"], raw.get("world_size", 1), raw.get("dataset_json"))


def check_resume_dataset(state: ResumeState, dataset: Any, run_dir: Path) -> None:
    """Continuing on other images would train one model on two datasets."""
    current = as_stored(dataset.describe())
    if state.dataset_json is not None:
        recorded = json.loads(state.dataset_json)
    elif "world_version" in current:  # a state without its dataset: from synthetic world version 1
        recorded = {**current, "world_version": 1}
    else:
        return
    if recorded == current:
        return
    if recorded.get("world_version") != current.get("world_version"):
        what = (f"synthetic world version {recorded.get('world_version')}, "
                f"but this zsbench draws version {current.get('world_version')}")
    else:
        what = "other dataset settings"
    raise UsageError(f"{run_dir / RESUME_FILE} was written on {what}; start the run again in another folder")
