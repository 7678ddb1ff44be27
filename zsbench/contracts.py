"""What a registered part must be, checked on every object a registry's factory returns.

Each registry names its part's base class as a lazy ``"module:Class"`` string (``Backbone``,
``TextEncoder``, ``Method``, ``DatasetSource``), so importing the registry stays light. The members
a part must have are read off the base class itself, so the contract cannot drift from the code:

- its abstract methods (``Backbone.forward``, ``Method.loss``, ...) must be implemented;
- its annotated attributes without a class-level default (``Backbone.feature_dim``,
  ``Backbone.preprocess``, ``TextEncoder.id``, ``Method.name``, ``DatasetSource.name``) must be set;
- an optional ``"module:function"`` adds checks of values (``feature_dim`` a positive int, ...).

Hooks with a default on the base class (``Backbone.forward_features``, ``Method.bind_training_context``,
``DatasetSource.describe``, ...) are inherited, so every part has them and the engine uses them
without probing.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# CPython's message when an abstract class is instantiated: 3.11 says "with abstract method(s) a, b",
# 3.12 and later "without an implementation for abstract method(s) 'a', 'b'"
_ABSTRACT_MESSAGE = re.compile(
    r"^Can't instantiate abstract class (?P<cls>\S+) with(?:out an implementation for)? abstract methods? "
    r"(?P<methods>.+)$"
)


def load_target(target: str) -> Any:
    """The object a ``"module:attr"`` (or ``"module:attr.sub"``) string names, imported now."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in (attr.split(".") if attr else ()):
        obj = getattr(obj, part)
    return obj


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def abstract_instantiation(exc: TypeError) -> str | None:
    """``"X does not implement a, b"`` when ``exc`` is Python refusing to instantiate an abstract
    class ``X``, else None (any other TypeError is the factory's own and is left alone)."""
    match = _ABSTRACT_MESSAGE.match(str(exc))
    if match is None:
        return None
    methods = ", ".join(m.strip(" '") for m in match["methods"].split(","))
    return f"{match['cls']} does not implement {methods}"


def required_attributes(base: type) -> list[str]:
    """Attributes ``base`` declares (annotates) without a class-level default: a part must set them."""
    return sorted(name for name in inspect.get_annotations(base) if not hasattr(base, name))


def abstract_methods(base: type) -> list[str]:
    return sorted(getattr(base, "__abstractmethods__", ()))


@dataclass(frozen=True)
class Contract:
    """A registry's contract: the base class every part must be an instance of (``base``, a lazy
    ``"module:Class"``) and, optionally, a ``"module:function"`` that returns further problems of
    a part that has every declared member (e.g. a ``feature_dim`` that is not a positive int)."""

    base: str
    values: str | None = None

    def base_class(self) -> type:
        return load_target(self.base)

    def problems(self, part: object) -> list[str]:
        """What is wrong with ``part``, one short phrase each; empty when it keeps the contract."""
        base = self.base_class()
        if not isinstance(part, base):
            return [f"its factory returned {type(part).__name__}, not a {qualified_name(base)}"]
        missing = [name for name in required_attributes(base) if not hasattr(part, name)]
        if missing:
            return [f"it has no {', '.join(missing)} (required by {qualified_name(base)})"]
        unimplemented = [name for name in abstract_methods(base)
                         if getattr(getattr(type(part), name, None), "__isabstractmethod__", False)]
        if unimplemented:
            return [f"{type(part).__name__} does not implement {', '.join(unimplemented)}"]
        check: Callable[[Any], list[str]] | None = load_target(self.values) if self.values else None
        return check(part) if check is not None else []

