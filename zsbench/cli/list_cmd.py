"""``zsbench list [KIND]``: what is registered, and where it comes from."""

from __future__ import annotations

import click

from zsbench.registry import REGISTRIES, ensure_builtins


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(sorted(REGISTRIES)))
def list_command(kind: str | None) -> None:
    """List backbones, text encoders, methods and datasets with their origin."""
    from rich.table import Table

    from zsbench.cli.output import stdout

    ensure_builtins()
    for name in [kind] if kind else sorted(REGISTRIES):
        table = Table(title=name)
        table.add_column("name")
        table.add_column("origin")
        table.add_column("description")
        for entry in REGISTRIES[name].entries():
            spec = f"{entry.name}:<arg>" if entry.parametric else entry.name
            table.add_row(spec, entry.origin, entry.description)
        stdout.print(table)
