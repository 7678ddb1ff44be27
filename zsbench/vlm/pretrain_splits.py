"""One strict pretraining per class split (``zsbench pretrain --unseen-of SPLITS``).

A strict encoder must never have read about (or, with ``drop_images``, seen) the unseen classes of
the split it is evaluated on, so a many-split benchmark needs one pretraining per split. Each goes
to ``OUT/<unseen classes joined by +>/``, the folder a sweep names with
``pretrained:OUT/{unseen}/pretrained.pt`` (``RunConfig.bound_to``). The list is resumable: a
folder with ``pretrained.pt`` made with the same settings is kept, one with ``last.pt`` only is
continued, and one made with other settings is refused rather than overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from zsbench.data.class_splits import ClassSplit, unseen_folder_name
from zsbench.errors import UsageError
from zsbench.vlm.pretrain import CHECKPOINT_FILE, CONFIG_FILE, STATE_FILE, PretrainConfig

Status = Literal["done", "resume", "new"]


@dataclass(frozen=True)
class SplitPretraining:
    """The pretraining one split needs: its folder, its settings and what is already on disk."""

    split: ClassSplit
    folder: Path
    config: PretrainConfig
    status: Status


def recorded_config(folder: Path) -> PretrainConfig | None:
    """The settings a pretraining folder was made with (``pretrain.json``), None for a new folder."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return PretrainConfig.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, AttributeError):  # damaged, or not a mapping of known settings
        raise UsageError(f"{path} is unreadable; remove {folder} to pretrain it again") from None


def plan_split_pretraining(base: PretrainConfig, splits: list[ClassSplit], out: Path) -> list[SplitPretraining]:
    """For every split, ``base`` with the split's unseen classes excluded, in ``out/<unseen>``; two
    splits with the same unseen classes share one pretraining."""
    if base.exclude_findings:
        raise UsageError("--unseen-of excludes each split's unseen classes itself; drop --exclude-findings")
    plans: dict[str, SplitPretraining] = {}
    for split in splits:
        name = unseen_folder_name(split)
        if name in plans:
            continue
        config = replace(base, exclude_findings=tuple(sorted(split.unseen))).validate()
        folder = out / name
        recorded = recorded_config(folder)
        if recorded is not None and recorded != config:
            raise UsageError(f"{folder} holds a pretraining with other settings; remove it or choose another --out")
        if (folder / CHECKPOINT_FILE).is_file() and recorded is not None:
            status: Status = "done"
        elif (folder / STATE_FILE).is_file():
            status = "resume"
        else:
            status = "new"
        plans[name] = SplitPretraining(split, folder, config, status)
    return list(plans.values())
