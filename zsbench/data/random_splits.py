"""Random seen/unseen class splits, each with every unseen class present in the test part."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from zsbench import __version__
from zsbench.data.base import ImageTable
from zsbench.data.class_splits import ClassSplit
from zsbench.errors import UsageError
from zsbench.results import atomic_write_bytes

MAX_TRIES = 1000


def make_random_splits(
    table: ImageTable, dataset: str, n_unseen: int, count: int, seed: int
) -> list[ClassSplit]:
    """``count`` splits with ``n_unseen`` unseen classes each; split ``i`` is drawn from
    ``numpy.random.default_rng([seed, i])``, so any one split can be regenerated alone."""
    names = table.class_names
    if not 1 <= n_unseen < len(names):
        raise UsageError(f"--n-unseen must be between 1 and {len(names) - 1} for dataset {dataset!r}")
    if count < 1:
        raise UsageError("--count must be at least 1")
    test = table.labels[table.part == "test"]
    in_test = {names[c] for c in range(len(names)) if (np.nan_to_num(test[:, c]) > 0).any()}
    if len(in_test) < n_unseen:
        raise UsageError(f"only {len(in_test)} classes of {dataset!r} have test positives; lower --n-unseen")
    splits = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        for _ in range(MAX_TRIES):
            unseen = sorted(rng.choice(names, size=n_unseen, replace=False).tolist())
            if set(unseen) <= in_test:
                break
        else:  # pragma: no cover - needs a dataset where almost no class reaches test
            raise UsageError(f"could not draw {n_unseen} unseen classes that all appear in test")
        seen = [n for n in names if n not in unseen]
        splits.append(
            ClassSplit(
                name=f"{dataset}-random-u{n_unseen}-s{seed}-{index:03d}",
                seen=tuple(seen),
                unseen=tuple(unseen),
                dataset=dataset,
                generator={
                    "kind": "random",
                    "tool": "zsbench splits make",
                    "zsbench_version": __version__,
                    "seed": seed,
                    "index": index,
                    "rng": f"numpy.random.default_rng([{seed}, {index}])",
                    "n_unseen": n_unseen,
                    "constraint": "every unseen class has a positive in the test part",
                },
            )
        )
    return splits


def write_split_file(split: ClassSplit, path: Path) -> None:
    """The split as a YAML file that ``--split PATH`` loads (atomically; random splits keep every
    "No Finding" rule at its default, so that field is left out)."""
    data = split.to_dict()
    data.pop("keep_no_finding")
    atomic_write_bytes(path, yaml.safe_dump(data, sort_keys=False).encode())
