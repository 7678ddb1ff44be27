"""``zsbench list [KIND]``: what is registered, and where it comes from."""

from __future__ import annotations

import click

from zsbench.registry import REGISTRIES


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(sorted(REGISTRIES)))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of tables.")
def list_command(kind: str | None, as_json: bool) -> None:
    """List backbones, text encoders, methods and datasets with their origin."""
    import json

    from rich.table import Table

    from zsbench.cli.output import stdout

    kinds = [kind] if kind else sorted(REGISTRIES)
    if as_json:
        out = {k: [{"name": e.name, "parametric": e.parametric, "origin": e.origin, "description": e.description}
                   for e in REGISTRIES[k].entries()] for k in kinds}
        click.echo(json.dumps(out, indent=2))
        return
    for name in kinds:
        table = Table(title=name)
        table.add_column("name")
        table.add_column("origin")
        table.add_column("description")
        for entry in REGISTRIES[name].entries():
            spec = f"{entry.name}:<arg>" if entry.parametric else entry.name
            table.add_row(spec, entry.origin, entry.description)
        stdout.print(table)
