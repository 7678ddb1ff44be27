"""Helpers shared by the methods: option parsing and NaN-aware label handling.

Options reach a method as a plain dict (from ``--method-option KEY=VALUE``, parsed with YAML, or
from a config file), so values may arrive as int where a float is meant, or as the string
``"false"``. Every method turns its dict into a frozen config dataclass here, so a typo in a key
fails at once with the list of keys the method knows instead of deep inside ``__init__``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import torch
import torch.nn.functional as F

from zsbench.errors import UsageError, close_matches

C = TypeVar("C")

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _coerce(method: str, key: str, value: Any, hint: Any) -> Any:
    """Convert ``value`` to the field's type, or raise a UsageError naming the option."""
    args = typing.get_args(hint)
    if type(None) in args:  # ``int | None`` and friends
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        (hint,) = [a for a in args if a is not type(None)]
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if hint is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    name = getattr(hint, "__name__", str(hint))
    raise UsageError(f"{method} option {key} must be {name} (got {value!r})")


def parse_options(config_cls: type[C], options: Mapping[str, Any] | None, method: str) -> C:
    """Build ``config_cls`` from an options dict; unknown keys and bad values are UsageErrors."""
    options = dict(options or {})
    field_names = [f.name for f in dataclasses.fields(config_cls)]  # type: ignore[arg-type]
    unknown = sorted(set(options) - set(field_names))
    if unknown:
        raise UsageError(
            f"unknown {method} option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(sorted(field_names))}{close_matches(unknown[0], field_names)}"
        )
    hints = typing.get_type_hints(config_cls)
    values = {k: _coerce(method, k, v, hints[k]) for k, v in options.items()}
    try:
        return config_cls(**values)
    except ValueError as exc:  # range checks in __post_init__
        raise UsageError(f"{method}: {exc}") from None


def require(condition: bool, message: str) -> None:
    """Range checks for config ``__post_init__``; parse_options turns the ValueError into a UsageError."""
    if not condition:
        raise ValueError(message)


def label_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(positive, negative) boolean masks; NaN (unknown) labels are in neither."""
    return labels > 0.5, labels < 0.5


def masked_bce_with_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the known (non-NaN) labels; 0 (with a graph) if none is known."""
    known = ~torch.isnan(labels)
    if not bool(known.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[known], labels[known])
