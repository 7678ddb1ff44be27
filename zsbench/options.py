"""Declared option sets of datasets and text encoders (``--dataset-option``, ``--text-option``).

A factory declares the options a user may set as a pydantic model (``extra="forbid"``) and
registers it with ``register(..., options=Model)``. The runner checks a run's option dict against
that model before any data loads, so a misspelt or mistyped option is a one-line usage error that
names the key, the valid keys and the closest match, and never a silently ignored setting that
would record a default experiment under a wrong name.

Values arrive from ``KEY=VALUE`` flags parsed as YAML or from config files, so pydantic's lax mode
is used: ``"3"`` is an int, ``"false"`` a bool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from zsbench.errors import UsageError, close_matches


class OptionSet(BaseModel):
    """Base of every option model: unknown keys are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(OptionSet):
    """For parts that take no option: any key is unknown."""


def option_names(model: type[BaseModel]) -> list[str]:
    return sorted(model.model_fields)


@dataclass(frozen=True)
class Problem:
    """The first problem of a pydantic validation, as every zsbench one-line error words it."""

    key: str  # the dotted location ("?" where pydantic names none)
    message: str  # pydantic's message without its "Value error, " prefix
    input: Any
    kind: str  # pydantic's error type: extra_forbidden, missing, int_parsing, ...

    @property
    def top(self) -> str:
        """The top-level key the problem sits under."""
        return self.key.split(".")[0]


def first_problem(exc: pydantic.ValidationError) -> Problem:
    error = exc.errors()[0]
    key = ".".join(str(p) for p in error.get("loc", ())) or "?"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return Problem(key, message, error.get("input"), str(error.get("type", "")))


def unknown_keys(exc: pydantic.ValidationError) -> list[str]:
    """Every top-level key an ``extra="forbid"`` model refused, sorted."""
    return sorted(str(e["loc"][0]) for e in exc.errors() if e.get("type") == "extra_forbidden")


def _describe_error(problem: Problem, model: type[BaseModel], what: str) -> str:
    key = problem.key
    valid = option_names(model)
    if problem.kind == "extra_forbidden":
        if not valid:
            return f"unknown {what} option {key!r}: it takes no options"
        return f"unknown {what} option {key!r}; valid: {', '.join(valid)}{close_matches(key, valid)}"
    return f"{what} option {key}: {problem.message} (got {problem.input!r})"


def parse_option_set(model: type[BaseModel], values: Mapping[str, Any] | None, what: str) -> BaseModel:
    """``values`` checked against ``model``; the first problem is a one-line UsageError.
    ``what`` names the part in the message, e.g. ``"dataset 'synthetic'"``."""
    try:
        return model.model_validate(dict(values or {}))
    except pydantic.ValidationError as exc:
        raise UsageError(_describe_error(first_problem(exc), model, what)) from None


def checked_options(model: type[BaseModel] | None, values: Mapping[str, Any] | None, what: str) -> dict[str, Any]:
    """The options the user set (defaults not filled in), after checking them against ``model``.
    A part without a declared model (an older plugin) gets its options unchecked."""
    if model is None:
        return dict(values or {})
    parsed = parse_option_set(model, values, what)
    return parsed.model_dump(include=set(parsed.model_fields_set))
