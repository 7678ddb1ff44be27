"""``zsbench pretrain``: CLIP-style image-report pretraining of a visual backbone on a synthetic world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from zsbench.errors import UsageError

# what --resume takes from the folder, so a resumed run is the run that was started
RECORDED = ("backbone", "data_seed", "n_images", "image_size", "batch_size", "lr", "seed", "embed_dim",
            "exclude_findings", "drop_images", "text_tower")


def findings_list(text: str | None) -> tuple[str, ...]:
    return tuple(sorted({name.strip() for name in (text or "").split(",") if name.strip()}))


def given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)


@click.command("pretrain")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder for pretrained.pt and last.pt.")
@click.option("--backbone", default="tiny-cnn", show_default=True, help="Visual backbone to pretrain.")
@click.option("--data-seed", type=int, default=1000, show_default=True,
              help="Seed of the pretraining world (not 0: the benchmark worlds' seed).")
@click.option("--n-images", type=int, default=3000, show_default=True)
@click.option("--image-size", type=int, default=64, show_default=True)
@click.option("--epochs", type=int, default=5, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Initial weights and batch order.")
@click.option("--embed-dim", type=int, default=128, show_default=True, help="Joint image-text space size.")
@click.option("--exclude-findings", default=None, help="A,B: drop every report sentence about these classes.")
@click.option("--drop-images", is_flag=True, help="Also drop every image that shows an excluded finding.")
@click.option("--text-tower", type=click.Choice(["minilm", "transformer"]), default="minilm", show_default=True,
              help="Frozen MiniLM + trained projection, or a small word-level transformer trained from scratch.")
@click.option("--unseen-of", "unseen_of", multiple=True,
              help="Class splits (names, YAML files or globs; repeatable): one pretraining per split, each "
                   "excluding that split's unseen classes, into OUT/<unseen classes joined by +>/; a sweep "
                   "names them as pretrained:OUT/{unseen}/pretrained.pt. Finished ones are kept.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the pretraining in this folder from its last finished epoch (--epochs may extend it).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def pretrain_command(ctx: click.Context, out_dir: str | None, resume_dir: str | None, device: str, quiet: bool,
                     exclude_findings: str | None, unseen_of: tuple[str, ...], **flags: Any) -> None:
    """Contrastive (InfoNCE) image-report pretraining; use the result as --backbone pretrained:DIR/pretrained.pt."""
    from zsbench.vlm.pretrain import PretrainConfig, resume_config

    if unseen_of:
        if resume_dir or not out_dir:
            raise UsageError("--unseen-of needs --out DIR (and resumes the folders under it itself; drop --resume)")
        config = PretrainConfig(**flags, exclude_findings=findings_list(exclude_findings))
        pretrain_per_split(config, list(unseen_of), Path(out_dir), device, quiet)
        return
    if resume_dir:
        extra = [name for name in (*RECORDED, "out_dir") if given(ctx, name)]
        if extra:
            raise UsageError(f"--resume continues a run with its own settings; drop --{extra[0].replace('_', '-')}")
        config = resume_config(Path(resume_dir), flags["epochs"] if given(ctx, "epochs") else None)
        folder = Path(resume_dir)
    else:
        if not out_dir:
            raise UsageError("give --out DIR (or --resume DIR)")
        config = PretrainConfig(**flags, exclude_findings=findings_list(exclude_findings)).validate()
        folder = Path(out_dir)
    run_pretraining(config, folder, bool(resume_dir), device, quiet)


def pretrain_per_split(base: Any, patterns: list[str], out: Path, device: str, quiet: bool) -> None:
    """One pretraining per class split matched by ``patterns`` (``--unseen-of``), in turn; finished ones kept."""
    from zsbench.cli.output import stderr
    from zsbench.sweep.grid import resolve_splits
    from zsbench.vlm.pretrain_splits import plan_split_pretraining

    splits = [split for _spec, split in resolve_splits(patterns, "synthetic")]
    plans = plan_split_pretraining(base, splits, out)
    for n, plan in enumerate(plans, 1):
        stderr.print(f"[{n}/{len(plans)}] {plan.folder.name}: "
                     + {"done": "finished, kept", "resume": "resuming", "new": "pretraining"}[plan.status],
                     markup=False, highlight=False, soft_wrap=True)
        if plan.status != "done":
            run_pretraining(plan.config, plan.folder, plan.status == "resume", device, quiet)


def run_pretraining(config: Any, folder: Path, resume: bool, device: str, quiet: bool) -> None:
    from zsbench.cli.output import progress_reporter, stderr
    from zsbench.progress import ProgressEvent
    from zsbench.results import ensure_folder
    from zsbench.run_setup import resolve_device
    from zsbench.vlm.pretrain import pretrain

    torch_device = resolve_device(device)
    ensure_folder(folder, "--out")
    with progress_reporter(quiet=quiet) as draw:
        def report(event: ProgressEvent) -> None:
            if event.stage != "pretrain-epoch":
                draw(event)
            elif not quiet:  # one line per epoch, like zsbench run
                info = event.info
                stderr.print(f"epoch {int(info['epoch'])}: loss {info['loss']:.4f}  temperature "
                             f"{info['temperature']:.4f}  {info['images_per_s']:.0f} images/s", highlight=False)

        result = pretrain(config, folder, resume=resume, device=torch_device, progress=report)
    # soft_wrap and no markup: the path stays one copyable line, whatever its characters
    stderr.print(f"pretrained {result.n_pairs} image-report pairs, {len(result.history)} epochs; "
                 f"{result.images_per_s:.0f} images/s over {result.seconds:.1f} s of training",
                 markup=False, highlight=False, soft_wrap=True)
    stderr.print(f"checkpoint: {result.checkpoint}  (use --backbone pretrained:{result.checkpoint})",
                 markup=False, highlight=False, soft_wrap=True)
