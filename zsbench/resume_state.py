"""``last.pt``: the state a killed run continues from (``zsbench run --resume``, sweeps).

Besides the trainer's state it records the run's configuration, the number of DDP processes and
the dataset's ``describe()``; resuming with any of them different is refused in one line, since
the weights would then mix two runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from zsbench.errors import UsageError
from zsbench.results import as_stored, to_json


def resume_payload(state: dict[str, Any], config: Any, dataset: Any, world_size: int) -> dict[str, Any]:
    """What ``last.pt`` holds: the trainer's state plus what a resume must match."""
    return {**state, "config_json": to_json(config.to_dict()), "world_size": world_size,
            "dataset_json": to_json(dataset.describe())}


def load_resume_state(run_dir: Path, config: Any, world_size: int = 1) -> dict[str, Any]:
    """The state in ``run_dir/last.pt``, refused unless written by the same flags and process count."""
    path = run_dir / "last.pt"
    if not path.is_file():
        raise UsageError(f"{run_dir} has no last.pt to resume from (no epoch had finished)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file: say so in one line, never unpickle anything else
        raise UsageError(f"{path} is damaged ({exc.__class__.__name__}); start the run again") from None
    if json.loads(state.get("config_json", "{}")) != as_stored(config.to_dict()):
        raise UsageError(f"{path} was written by a different run configuration; resume with the same flags")
    if state.get("world_size", 1) != world_size:  # the batch shards, hence the weights, depend on it
        raise UsageError(f"{path} was written by {state.get('world_size', 1)} process(es), this is {world_size}; "
                         "resume with as many (torchrun --nproc-per-node N, or no torchrun for 1)")
    return state


def check_resume_dataset(state: dict[str, Any], dataset: Any, run_dir: Path) -> None:
    """Continuing on other images would train one model on two datasets."""
    current = as_stored(dataset.describe())
    if "dataset_json" in state:
        recorded = json.loads(state["dataset_json"])
    elif "world_version" in current:  # written before last.pt recorded its dataset: world version 1
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
    raise UsageError(f"{run_dir / 'last.pt'} was written on {what}; start the run again in another folder")
