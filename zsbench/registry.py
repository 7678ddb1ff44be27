"""Registries of swappable parts: backbones, text encoders, methods and datasets.

Built-ins register with a decorator::

    @BACKBONES.register("tiny-cnn", description="...")
    def create_tiny_cnn(arg, **kwargs): ...

Third-party packages register through entry points, loaded lazily the first time a registry is
asked for a name it does not know or for its full listing::

    [project.entry-points."zsbench.backbones"]
    mini-resnet = "my_package.backbone:create_mini_resnet"

A *parametric* entry accepts an argument after a colon: ``timm:resnet18`` looks up ``timm`` and
hands ``"resnet18"`` to its factory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from zsbench.errors import RegistryConflictError, UnknownNameError, UsageError

T = TypeVar("T", bound=Callable[..., Any])

BUILTIN_ORIGIN = "built-in"


@dataclass
class RegistryEntry:
    """One registered name. ``target`` is either the factory or a lazy ``"module:attr"`` string."""

    name: str
    target: Any
    origin: str = BUILTIN_ORIGIN
    description: str = ""
    parametric: bool = False
    options: Any = None  # the pydantic model of the user options it takes (zsbench.options), if declared
    _loaded: Any = field(default=None, repr=False)

    def load(self) -> Any:
        if self._loaded is None:
            if isinstance(self.target, metadata.EntryPoint):
                self._loaded = self.target.load()
            elif isinstance(self.target, str):
                module_name, _, attr = self.target.partition(":")
                obj: Any = importlib.import_module(module_name)
                for part in attr.split("."):
                    obj = getattr(obj, part)
                self._loaded = obj
            else:
                self._loaded = self.target
        return self._loaded

    def options_model(self) -> Any:
        """The declared option model: given at registration, or a plugin factory's ``options_model``."""
        return self.options if self.options is not None else getattr(self.load(), "options_model", None)


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"timm:resnet18"`` -> ``("timm", "resnet18")``; ``"tiny-cnn"`` -> ``("tiny-cnn", None)``."""
    name, sep, arg = spec.partition(":")
    return name, (arg if sep else None)


class Registry(Generic[T]):
    """A name -> factory table for one kind of part, with an entry-point group for plugins."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, RegistryEntry] = {}
        self._plugins_loaded = False

    def register(
        self, name: str, *, description: str = "", parametric: bool = False, options: Any = None
    ) -> Callable[[T], T]:
        """Decorator that registers a built-in factory under ``name``; ``options`` is the pydantic
        model of the user options it takes (``--dataset-option`` / ``--text-option``)."""

        def decorator(factory: T) -> T:
            text = description or ((factory.__doc__ or "").strip().splitlines() or [""])[0]
            self.add(RegistryEntry(name, factory, BUILTIN_ORIGIN, text, parametric, options))
            return factory

        return decorator

    def add(self, entry: RegistryEntry) -> None:
        if entry.name in self._entries:
            other = self._entries[entry.name]
            raise RegistryConflictError(
                f"{self.kind} {entry.name!r} is registered twice ({other.origin} and {entry.origin});"
                " uninstall one of them or rename the plugin's entry point"
            )
        self._entries[entry.name] = entry

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            origin = f"{dist.name} {dist.version}" if dist is not None else "plugin"
            parametric = ep.name.endswith(":")
            self.add(RegistryEntry(ep.name.rstrip(":"), ep, origin, "", parametric))

    def entries(self) -> list[RegistryEntry]:
        self._load_plugins()
        return sorted(self._entries.values(), key=lambda e: e.name)

    def names(self) -> list[str]:
        return [e.name for e in self.entries()]

    def __contains__(self, spec: str) -> bool:
        try:
            self.entry(spec)
        except UsageError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def entry(self, spec: str) -> RegistryEntry:
        """Find the entry for ``spec`` (``name`` or ``name:arg``), loading plugins on a miss."""
        name, arg = split_spec(spec)
        entry = self._entries.get(name)
        if entry is None:
            self._load_plugins()
            entry = self._entries.get(name)
        if entry is None:
            raise UnknownNameError(self.kind, name, self._entries)
        if arg is not None and not entry.parametric:
            raise UsageError(f"{self.kind} {name!r} takes no ':' argument (got {spec!r})")
        if arg is None and entry.parametric:
            raise UsageError(f"{self.kind} {name!r} needs an argument, e.g. {name}:<name>")
        return entry

    def check_options(self, spec: str, values: dict[str, Any] | None) -> dict[str, Any]:
        """The user options for ``spec`` checked against its declared model (one-line UsageError
        naming the key, the valid keys and a did-you-mean); unchecked for a part that declares none."""
        from zsbench.options import checked_options

        name, _ = split_spec(spec)
        return checked_options(self.entry(spec).options_model(), values, f"{self.kind} {name!r}")

    def get(self, spec: str) -> T:
        """The factory registered for ``spec``."""
        return self.entry(spec).load()

    def create(self, spec: str, **kwargs: Any) -> Any:
        """Call the factory: parametric entries get the text after ':' as their first argument."""
        entry = self.entry(spec)
        _, arg = split_spec(spec)
        factory = entry.load()
        return factory(arg, **kwargs) if entry.parametric else factory(**kwargs)


BACKBONES: Registry[Callable[..., Any]] = Registry("backbone", "zsbench.backbones")
TEXT_ENCODERS: Registry[Callable[..., Any]] = Registry("text encoder", "zsbench.text_encoders")
METHODS: Registry[Callable[..., Any]] = Registry("method", "zsbench.methods")
DATASETS: Registry[Callable[..., Any]] = Registry("dataset", "zsbench.datasets")

REGISTRIES: dict[str, Registry[Callable[..., Any]]] = {
    "backbones": BACKBONES,
    "text-encoders": TEXT_ENCODERS,
    "methods": METHODS,
    "datasets": DATASETS,
}


def ensure_builtins() -> None:
    """Import the modules whose decorators fill the registries with the built-in parts."""
    importlib.import_module("zsbench.backbones")
    importlib.import_module("zsbench.text")
    importlib.import_module("zsbench.methods")
    importlib.import_module("zsbench.data")
