"""Random seen/unseen class splits, each with every unseen class present in the test part."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from zsbench import __version__
from zsbench.data.base import ClassInfo, ImageTable
from zsbench.data.class_splits import ClassSplit
from zsbench.data.coverage import attribute_coverage
from zsbench.errors import UsageError
from zsbench.results import atomic_write_bytes

MAX_TRIES = 1000


def coverage_tag(min_coverage: float | None) -> str:
    """``-c75`` in the names of splits drawn with ``min_coverage`` 0.75 (nothing without one), so a
    constrained split never shares a name, or a leaderboard protocol, with an unconstrained one."""
    return "" if min_coverage is None else f"-c{round(100 * min_coverage)}"


def make_random_splits(
    table: ImageTable, dataset: str, n_unseen: int, count: int, seed: int,
    classes: Sequence[ClassInfo] | None = None, min_coverage: float | None = None,
) -> list[ClassSplit]:
    """``count`` splits with ``n_unseen`` unseen classes each; split ``i`` is drawn from
    ``numpy.random.default_rng([seed, i])``, redrawn while it repeats an earlier split's unseen
    classes, so the splits are distinct and split ``i`` is regenerated from the ``i`` before it.
    ``min_coverage``: redraw until every unseen class has at least that share of its attributes
    shown by a seen class (needs ``classes`` with attribute vectors: the synthetic world)."""
    names = table.class_names
    if not 1 <= n_unseen < len(names):
        raise UsageError(f"--n-unseen must be between 1 and {len(names) - 1} for dataset {dataset!r}")
    if count < 1:
        raise UsageError("--count must be at least 1")
    test = table.labels[table.part == "test"]
    in_test = {names[c] for c in range(len(names)) if (np.nan_to_num(test[:, c]) > 0).any()}
    if len(in_test) < n_unseen:
        raise UsageError(f"only {len(in_test)} classes of {dataset!r} have test positives; lower --n-unseen")
    if min_coverage is not None:
        if not 0 <= min_coverage <= 1:
            raise UsageError(f"--min-coverage is a share of attributes, from 0 to 1 (got {min_coverage})")
        if classes is None or attribute_coverage(classes, names[:1], names[1:]) is None:
            raise UsageError(f"--min-coverage needs classes with known attributes; {dataset!r} has none "
                             "(the synthetic world has them)")

    drawn: set[tuple[str, ...]] = set()

    def acceptable(unseen: list[str]) -> bool:
        # a repeated split would count one split's result twice in every mean and interval
        if tuple(unseen) in drawn or not set(unseen) <= in_test:
            return False
        if min_coverage is None:
            return True
        coverage = attribute_coverage(classes, [n for n in names if n not in unseen], unseen)
        return all(share >= min_coverage - 1e-12 for share in coverage.values())

    splits = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        for _ in range(MAX_TRIES):
            unseen = sorted(rng.choice(names, size=n_unseen, replace=False).tolist())
            if acceptable(unseen):
                break
        else:
            raise UsageError(f"no draw of {n_unseen} unseen classes in {MAX_TRIES} met the constraints and "
                             f"differed from the {index} splits before it"
                             f"{f' (coverage at least {min_coverage})' if min_coverage is not None else ''}; "
                             "lower --n-unseen or --min-coverage")
        drawn.add(tuple(unseen))
        seen = [n for n in names if n not in unseen]
        splits.append(
            ClassSplit(
                name=f"{dataset}-random-u{n_unseen}{coverage_tag(min_coverage)}-s{seed}-{index:03d}",
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
                    "constraint": "every unseen class has a positive in the test part; "
                                  "unseen classes differ from every earlier split's",
                    **({"min_coverage": min_coverage} if min_coverage is not None else {}),
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
