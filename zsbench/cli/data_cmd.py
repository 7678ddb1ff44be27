"""``zsbench data ...``, ``zsbench splits make`` and ``zsbench prepare``: datasets without training."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from zsbench.config import RunConfig
from zsbench.errors import UsageError


def dataset_options(f: Any) -> Any:
    for option in reversed([
        click.option("--dataset", default="nih", show_default=True, help="Dataset name."),
        click.option("--root", help="Image folder."),
        click.option("--metadata", help="Label file (default: the dataset's shipped copy)."),
        click.option("--split-lists", help="Folder with train_list.txt, val_list.txt, test_list.txt."),
        click.option("--size", "image_size", type=int, help="Image side in pixels."),
        click.option("--n-images", type=int, help="Synthetic world size."),
        click.option("--data-seed", type=int, default=0, show_default=True, help="Seed of fallback splits."),
    ]):
        f = option(f)
    return f


def _dataset(flags: dict[str, Any]) -> Any:
    from zsbench.runner import create_dataset

    values = {k: v for k, v in flags.items() if v is not None}
    return create_dataset(RunConfig(**values))


def _note_split_source(dataset: Any) -> None:
    source = dataset.split_source  # declared by DatasetSource, so every dataset has one
    if source.startswith("fallback"):
        click.echo(f"zsbench: note: {source}", err=True)


@click.group("data")
def data_group() -> None:
    """Inspect and fetch dataset metadata."""


@data_group.command("stats")
@dataset_options
@click.option("--split", "split_name", default="nih-paper", show_default=True, help="Class split / protocol.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def stats_command(split_name: str, as_json: bool, **flags: Any) -> None:
    """Image counts per part after the protocol, from metadata alone (no pixels)."""
    from zsbench.data.class_splits import load_class_split
    from zsbench.data.protocol import apply_protocol

    dataset = _dataset(flags)
    split = load_class_split(split_name)
    splits = apply_protocol(dataset.table(), split)
    names = dataset.table().class_names
    out: dict[str, Any] = dict(splits.counts())
    out["patients"] = {p: len(np.unique(getattr(splits, p).patients)) for p in ("train", "val", "test")}
    out["positives"] = {
        p: {names[c]: int((np.nan_to_num(getattr(splits, p).labels[:, c]) > 0).sum()) for c in range(len(names))}
        for p in ("train", "val", "test")
    }
    out["dataset"], out["split"] = dataset.name, split.name
    out["image_split"] = dataset.split_source
    if as_json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    _note_split_source(dataset)
    click.echo(f"{dataset.name} / {split.name}: image split from {out['image_split']}")
    for part in ("train", "val", "test"):
        click.echo(f"  {part:<5} {out[part]:>8,} images  {out['patients'][part]:>7,} patients")


@data_group.command("verify")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--root", required=True, help="Image folder.")
@click.option("--metadata", help="Label file (default: the dataset's shipped copy).")
@click.option("--split-lists", help="Folder with split lists (only images in them are checked).")
@click.option("--json", "as_json", is_flag=True, help="Print missing and corrupt ids as JSON.")
def verify_command(dataset_name: str, root: str, metadata: str | None, split_lists: str | None,
                   as_json: bool) -> None:
    """Report missing and corrupt image files under --root (exit 1 if any)."""
    from zsbench.cli.output import progress_reporter
    from zsbench.data.files import FileImageSource
    from zsbench.errors import DataError
    from zsbench.progress import ProgressEvent

    dataset = _dataset({"dataset": dataset_name, "root": root, "metadata": metadata, "split_lists": split_lists})
    if not isinstance(dataset, FileImageSource):
        raise UsageError(f"dataset {dataset_name!r} has no image files to verify")
    table = dataset.table()
    ids = table.ids[table.part != "none"]
    missing, corrupt = [], []
    with progress_reporter(quiet=as_json) as report:
        for n, image_id in enumerate(ids):
            try:
                dataset.read_resized(str(image_id))
            except FileNotFoundError:
                missing.append(str(image_id))
            except DataError:
                corrupt.append(str(image_id))
            if n % 256 == 255 or n == len(ids) - 1:
                report(ProgressEvent("verify", n + 1, len(ids)))
    if as_json:
        sys.stdout.write(json.dumps({"checked": len(ids), "missing": missing, "corrupt": corrupt}) + "\n")
    else:
        click.echo(f"checked {len(ids):,} images under {root}: {len(missing):,} missing, {len(corrupt):,} corrupt")
        for label, items in (("missing", missing), ("corrupt", corrupt)):
            for image_id in items[:10]:
                click.echo(f"  {label}: {image_id}")
            if len(items) > 10:
                click.echo(f"  ... and {len(items) - 10} more {label} (use --json for all)")
    if missing or corrupt:
        sys.exit(1)


@data_group.command("reports")
@dataset_options
@click.option("--dataset-option", "dataset_option", multiple=True, metavar="KEY=VALUE",
              help="Dataset setting, e.g. report_column=findings for csv (repeatable).")
@click.option("--n", "count", type=int, default=5, show_default=True, help="How many images.")
@click.option("--start", type=int, default=0, show_default=True, help="First image (row of the dataset).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {id, findings, report}.")
def reports_command(dataset_option: tuple[str, ...], count: int, start: int, as_json: bool,
                    **flags: Any) -> None:
    """A few images' ids, findings and reports: what image-text pretraining reads."""
    from zsbench.cli.config_options import parse_pairs

    if count < 1 or start < 0:
        raise UsageError("--n must be at least 1 and --start at least 0")
    dataset = _dataset({**flags, "dataset_options": parse_pairs(dataset_option) or None})
    table = dataset.table()
    ids = [str(i) for i in table.ids[start:start + count]]
    texts = dataset.reports(ids)
    if texts is None:
        hint = " (give --dataset-option report_column=NAME)" if dataset.name == "csv" else ""
        raise UsageError(f"dataset {dataset.name!r} has no reports{hint}")
    rows = [
        {"id": image_id, "report": text,
         "findings": [table.class_names[c] for c in np.flatnonzero(np.nan_to_num(table.labels[start + n]) > 0)]}
        for n, (image_id, text) in enumerate(zip(ids, texts, strict=True))
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    for row in rows:
        click.echo(f"{row['id']}  [{', '.join(row['findings']) or 'No Finding'}]")
        click.echo(f"  {row['report'] or '(no report)'}")


@data_group.command("download-splits")
@click.argument("name")
@click.option("--dest", type=click.Path(file_okay=False), help="Folder to store the lists in.")
@click.option("--base-url", help="Mirror to fetch from instead of the original location.")
def download_splits_command(name: str, dest: str | None, base_url: str | None) -> None:
    """Download a known set of image split lists (sha256-verified), e.g. nih-chexnet."""
    from zsbench.data.split_lists import download_split_lists

    where = download_split_lists(name, Path(dest) if dest else None, base_url)
    click.echo(f"split lists {name} verified and stored in {where}")


@click.group("splits")
def splits_group() -> None:
    """Seen/unseen class splits."""


@splits_group.command("make")
@dataset_options
@click.option("--n-unseen", type=int, required=True, help="Unseen classes per split.")
@click.option("--count", type=int, required=True, help="How many splits.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", default="splits", show_default=True, type=click.Path(file_okay=False))
@click.option("--min-coverage", type=float,
              help="Only splits where every unseen class has at least this share (0-1) of its visual attributes "
              "shown by a seen class (datasets with class attributes: the synthetic world).")
def make_splits_command(n_unseen: int, count: int, seed: int, out: str, min_coverage: float | None,
                        **flags: Any) -> None:
    """Write COUNT random class splits as YAML files, every unseen class present in test."""
    from zsbench.data.coverage import attribute_coverage
    from zsbench.data.random_splits import make_random_splits, write_split_file

    dataset = _dataset(flags)
    _note_split_source(dataset)
    classes = dataset.classes() if min_coverage is not None else None
    for split in make_random_splits(dataset.table(), dataset.name, n_unseen, count, seed, classes, min_coverage):
        path = Path(out) / f"{split.name}.yaml"
        write_split_file(split, path)
        coverage = attribute_coverage(dataset.classes(), split.seen, split.unseen)
        shares = f" (coverage {', '.join(f'{v:.2f}' for v in coverage.values())})" if coverage else ""
        click.echo(f"{path}: unseen {', '.join(split.unseen)}{shares}")


@click.command("prepare")
@dataset_options
@click.option("--cache", help="Cache folder [default: ROOT/.zsbench-cache/DATASET-SIZE].")
def prepare_command(cache: str | None, **flags: Any) -> None:
    """Decode and resize every image once into a memory-mapped uint8 cache (resumable)."""
    from zsbench.cli.output import progress_reporter
    from zsbench.data.files import FileImageSource
    from zsbench.data.pixel_cache import prepare_cache
    from zsbench.progress import stage_counter

    if flags.get("image_size") is None:
        raise UsageError("give the cache's image size, e.g. --size 256")
    dataset = _dataset({**flags, "cache": cache})
    if not isinstance(dataset, FileImageSource):
        raise UsageError(f"dataset {dataset.name!r} is generated, not read from files: nothing to prepare")
    dataset._require_root()
    table = dataset.table()
    ids = [str(i) for i in table.ids[table.part != "none"]]
    with progress_reporter() as report:
        result = prepare_cache(
            dataset.cache_dir, ids, dataset.image_size, dataset.name, dataset.read_resized,
            progress=stage_counter(report, "prepare"),
        )
    click.echo(
        f"{dataset.cache_dir}: {result.ok:,} of {result.total:,} images ready"
        f"{f' (resumed after {result.resumed_from:,})' if result.resumed_from else ''}; "
        f"{len(result.missing):,} missing, {len(result.corrupt):,} corrupt (skipped)"
    )
    for label, items in (("missing", result.missing), ("corrupt", result.corrupt)):
        for image_id in items[:10]:
            click.echo(f"  {label}: {image_id}")
