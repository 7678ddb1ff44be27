"""Click options built from :class:`zsbench.config.RunConfig`'s :class:`~zsbench.config.Cli` markers.

``zsbench run`` takes every marked field; ``zsbench sweep`` takes those its grid axes do not vary.
Both read back what the user gave with :func:`config_overrides`, so a flag is declared, parsed and
checked in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click
import yaml

from zsbench.config import Cli, RunConfig, cli_marker
from zsbench.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

_CLICK_TYPES: dict[str, Any] = {"int": int, "float": float}


def marked_fields(exclude: Iterable[str] = ()) -> list[tuple[str, Cli]]:
    """(field name, marker) of every RunConfig field with a flag, in declaration order."""
    skip = set(exclude)
    return [(name, marker) for name in RunConfig.model_fields
            if name not in skip and (marker := cli_marker(name)) is not None]


def _value_type(name: str, marker: Cli) -> Any:
    if marker.choices:
        return click.Choice(marker.choices)
    annotation = str(RunConfig.model_fields[name].annotation)
    return next((t for key, t in _CLICK_TYPES.items() if key in annotation), None)


def _options_for(name: str, marker: Cli) -> list[Any]:
    if marker.kind == "switch":
        options = [click.option(marker.flag, name, is_flag=True, default=None, help=marker.help)]
    elif marker.kind == "negated":
        options = [click.option(marker.flag, name, flag_value=False, default=None, help=marker.help)]
    elif marker.kind == "pairs":
        options = [click.option(marker.flag, name, multiple=True, metavar="KEY=VALUE", help=marker.help)]
    elif marker.kind == "repeat":
        options = [click.option(marker.flag, name, multiple=True, type=int, help=marker.help)]
    else:
        options = [click.option(marker.flag, name, type=_value_type(name, marker), help=marker.help)]
    if marker.off:
        options.append(click.option(marker.off, f"{name}__off", is_flag=True, default=None, help=marker.off_help))
    return options


#: a shorthand flag for one text option: ``--prompts X`` is ``--text-option prompts=X``
PROMPTS_OPTION = click.option(
    "--prompts", "prompts", default=None, metavar="SET",
    help="Prompt set of an image-text model's text encoder (clip-zeroshot): cxr, nih, chexpert, padchest, "
         "chexzero or a YAML file; the same as --text-option prompts=SET.")


def config_flags(exclude: Iterable[str] = ()) -> Callable[[F], F]:
    """Decorator adding the flags of every marked RunConfig field not in ``exclude`` (and ``--prompts``
    with the text options)."""
    options = [option for name, marker in marked_fields(exclude) for option in _options_for(name, marker)]
    if "text_options" not in set(exclude):
        options.append(PROMPTS_OPTION)

    def decorator(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorator


def parse_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as a mapping; each value is read as YAML (``3`` is an int)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"options expect KEY=VALUE (got {pair!r})")
        options[key] = yaml.safe_load(value)
    return options


def config_overrides(flags: dict[str, Any], exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The RunConfig values the user set, popped from ``flags`` (click's keyword arguments);
    what is left in ``flags`` belongs to the command itself."""
    given: dict[str, Any] = {}
    for name, marker in marked_fields(exclude):
        value = flags.pop(name, None)
        off = flags.pop(f"{name}__off", None) if marker.off else None
        if marker.kind == "pairs":
            value = parse_pairs(value) if value else None
        elif marker.kind == "repeat":
            value = list(value) if value else None
        if off:
            if value is not None and value != marker.off_value:
                raise UsageError(f"{marker.off} and {marker.flag} {value} contradict each other; pick one")
            given[name] = marker.off_value
        elif value is not None:
            given[name] = value
    prompts = flags.pop("prompts", None)
    if prompts is not None:
        text_options = given.setdefault("text_options", {})
        if text_options.get("prompts", prompts) != prompts:
            raise UsageError(f"--prompts {prompts} and --text-option prompts={text_options['prompts']} contradict "
                             "each other; pick one")
        text_options["prompts"] = prompts
    return given


def merge_overrides(base: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``given``; option mappings are merged key by key, not replaced."""
    merged = dict(base)
    for name, value in given.items():
        if (marker := cli_marker(name)) is not None and marker.kind == "pairs":
            merged[name] = {**(base.get(name) or {}), **value}
        else:
            merged[name] = value
    return merged
