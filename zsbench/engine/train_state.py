"""The trainer's state after an epoch: everything needed to continue exactly where it stopped.

A :class:`TrainState` is what ``train`` hands its ``save_state`` hook after every epoch and what it
takes back as ``resume``. It is stored (in ``last.pt``, see ``zsbench/resume_state.py``) as a flat
dictionary of plain containers and tensors, so ``torch.load(weights_only=True)`` reads it without
unpickling any class; its ``version`` says which layout the dictionary has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch

#: the layout of a saved TrainState. 1: the untyped dictionary written before states had a version
#: (the dictionary has no ``version`` key); 2: this dataclass. Raise it whenever a field changes.
TRAIN_STATE_VERSION = 2
UNVERSIONED = 1


@dataclass
class TrainState:
    """Weights, optimizer, scheduler and both random generators after ``epoch`` epochs
    (``steps`` optimizer steps), and the best epoch so far with its weights and the history.

    Restoring all of them, the random generators included, is what makes a resumed run end with
    the same weights as an uninterrupted one, bit for bit."""

    epoch: int
    steps: int
    since_best: int  # epochs since the best one, for early stopping
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    generator: torch.Tensor  # the trainer's generator: batch order and augmentation draws
    torch_rng: torch.Tensor  # torch's global generator (dropout and other in-model draws)
    best_state: dict[str, torch.Tensor]
    best_epoch: int
    best_val_score: float
    history: list[dict[str, float]]
    version: int = TRAIN_STATE_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The flat dictionary that is saved; the tensors are the state's own, not copies
        (``torch.save`` serialises them at once)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainState:
        """The state in a saved dictionary of the current version; a missing field raises KeyError
        (the caller names the file). Entries that are not fields (what a resume must match) are
        ignored."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})


def saved_version(data: Mapping[str, Any]) -> int:
    """The layout version of a saved state dictionary (states from before versions: 1)."""
    return int(data.get("version", UNVERSIONED))
