"""``zsbench plugins check [NAME ...]``: build every registered part on a tiny input, one line each."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

# light: the checks import torch and the parts' modules only when they run
from zsbench.plugin_check import FAIL, PASS, SKIP, PartCheck, check_targets, select_targets


@click.group("plugins")
def plugins_group() -> None:
    """Check the registered parts (built-ins and installed plugins)."""


def _line(result: PartCheck, width: int) -> str:
    text = f"{result.status}  {result.kind:<12}  {result.name:<{width}}  ({result.origin})"
    if result.detail:
        text += f": {result.detail}" if result.status == FAIL else f"; {result.detail}"
    return text


@plugins_group.command("check")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results and nothing else.")
@click.pass_context
def check_command(ctx: click.Context, names: tuple[str, ...], as_json: bool) -> None:
    """Build each part (all, or each NAME: name[:arg] or kind:name[:arg], kind one of backbone,
    text-encoder, method, dataset) on a tiny input and check what the engine needs of it. One line
    per part: PASS, FAIL (what broke) or SKIP (why it could not run offline). Exit 1 if any failed."""
    targets = select_targets(names)
    # names are padded to line up, except a rare long one (a path argument) that would widen every line
    width = min(max([len(t.spec or f"{t.entry.name}:<arg>") for t in targets] + [8]), 28)

    def report(result: PartCheck) -> None:
        if not as_json:
            click.echo(_line(result, width))

    results = check_targets(targets, report)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], indent=2))
    else:
        counts = {status: sum(r.status == status for r in results) for status in (PASS, FAIL, SKIP)}
        click.echo(f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped", err=True)
    if any(r.status == FAIL for r in results):
        ctx.exit(1)
