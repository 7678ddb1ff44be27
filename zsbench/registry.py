"""Registries of swappable parts: backbones, text encoders, methods and datasets.

Built-ins are rows of data (``zsbench.builtins``) naming their factory as a ``"module:attr"``
string: listing them imports nothing, building one imports only its module.

Third-party packages register through entry points, loaded lazily the first time a registry is
asked for a name it does not know or for its full listing::

    [project.entry-points."zsbench.backbones"]
    mini-resnet = "my_package.backbone:create_mini_resnet"

A *parametric* entry accepts an argument after a colon: ``timm:resnet18`` looks up ``timm`` and
hands ``"resnet18"`` to its factory (an entry point declares one by ending its name with ``:``).

Every registry has a contract (``zsbench.contracts``): :meth:`Registry.create` refuses a part that is
not an instance of the registry's base class or lacks a member it declares, and a factory that
cannot be imported, with a one-line :class:`PluginContractError` naming the part and its origin.
``register`` stays for code that builds its own registries (tests, scripts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from zsbench.builtins import BUILTINS
from zsbench.contracts import Contract, abstract_instantiation, load_target
from zsbench.errors import PluginContractError, RegistryConflictError, UnknownNameError, UsageError

T = TypeVar("T", bound=Callable[..., Any])

BUILTIN_ORIGIN = "built-in"


@dataclass
class RegistryEntry:
    """One registered name. ``target`` is the factory, a lazy ``"module:attr"`` string, or an entry
    point; ``options`` is its option model (zsbench.options), itself possibly a ``"module:attr"``."""

    name: str
    target: Any
    origin: str = BUILTIN_ORIGIN
    description: str = ""
    parametric: bool = False
    options: Any = None
    _loaded: Any = field(default=None, repr=False)

    def load(self) -> Any:
        if self._loaded is None:
            if isinstance(self.target, metadata.EntryPoint):
                self._loaded = self.target.load()
            elif isinstance(self.target, str):
                self._loaded = load_target(self.target)
            else:
                self._loaded = self.target
        return self._loaded

    def options_model(self) -> Any:
        """The declared option model: given at registration, or a plugin factory's ``options_model``."""
        if isinstance(self.options, str):
            return load_target(self.options)
        return self.options if self.options is not None else getattr(self.load(), "options_model", None)

    def source(self) -> str:
        """Where the part comes from, for error messages: its entry point and distribution, or the
        built-in factory's import path."""
        if isinstance(self.target, metadata.EntryPoint):
            return f"entry point '{self.target.name} = {self.target.value}' of {self.origin}"
        if isinstance(self.target, str):
            return f"{self.origin} {self.target}"
        module = getattr(self.target, "__module__", None) or "?"
        qualname = getattr(self.target, "__qualname__", None) or type(self.target).__name__
        return f"{self.origin} {module}:{qualname}"


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"timm:resnet18"`` -> ``("timm", "resnet18")``; ``"tiny-cnn"`` -> ``("tiny-cnn", None)``."""
    name, sep, arg = spec.partition(":")
    return name, (arg if sep else None)


class Registry(Generic[T]):
    """A name -> factory table for one kind of part, with an entry-point group for plugins and the
    contract every part it builds must keep (None: unchecked, for ad-hoc registries)."""

    def __init__(self, kind: str, group: str, contract: Contract | None = None) -> None:
        self.kind = kind
        self.group = group
        self.contract = contract
        self._entries: dict[str, RegistryEntry] = {}
        self._plugins_loaded = False

    def register(
        self, name: str, *, description: str = "", parametric: bool = False, options: Any = None
    ) -> Callable[[T], T]:
        """Decorator that registers a factory under ``name``; ``options`` is the pydantic model of the
        user options it takes (``--dataset-option`` / ``--text-option``)."""

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
            dist = getattr(ep, "dist", None)  # absent on entry points not read from a distribution
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

    def find(self, name: str) -> RegistryEntry | None:
        """The entry registered under ``name`` (no ``:arg``), plugins included; None if there is none."""
        if name not in self._entries:
            self._load_plugins()
        return self._entries.get(name)

    def entry(self, spec: str) -> RegistryEntry:
        """Find the entry for ``spec`` (``name`` or ``name:arg``), loading plugins on a miss."""
        name, arg = split_spec(spec)
        entry = self.find(name)
        if entry is None:
            raise UnknownNameError(self.kind, name, self._entries)
        if arg is not None and not entry.parametric:
            raise UsageError(f"{self.kind} {name!r} takes no ':' argument (got {spec!r})")
        if arg is None and entry.parametric:
            raise UsageError(f"{self.kind} {name!r} needs an argument, e.g. {name}:<name>")
        return entry

    def contract_error(self, entry: RegistryEntry, problem: str) -> PluginContractError:
        """The one-line error for a part that breaks its contract: which part, from where, what."""
        return PluginContractError(self.kind, entry.name, entry.source(), problem)

    def factory(self, entry: RegistryEntry) -> Any:
        """The entry's factory, imported now; a plugin that cannot be imported is one line that names it."""
        try:
            return entry.load()
        except Exception as exc:  # any import-time failure of third-party code (ImportError, SyntaxError, ...)
            text = " ".join(str(exc).split())
            # chained, so --debug shows where the import failed; the message itself stays one line
            raise self.contract_error(entry, f"cannot import its factory ({type(exc).__name__}: {text})") from exc

    def options_model(self, spec: str) -> Any:
        """The option model ``spec``'s part declares (None: it declares none)."""
        entry = self.entry(spec)
        if entry.options is None:
            self.factory(entry)  # a broken plugin is reported as such, not as an option problem
        return entry.options_model()

    def check_options(self, spec: str, values: dict[str, Any] | None) -> dict[str, Any]:
        """The user options for ``spec`` checked against its declared model (one-line UsageError
        naming the key, the valid keys and a did-you-mean); unchecked for a part that declares none."""
        from zsbench.options import checked_options

        name, _ = split_spec(spec)
        return checked_options(self.options_model(spec), values, f"{self.kind} {name!r}")

    def check_argument(self, spec: str) -> None:
        """Refuse a bad ``:`` argument before any work: a parametric factory may expose
        ``check_argument(arg)`` (e.g. ``pretrained:PATH`` checks that the file exists), which
        raises a one-line UsageError; building the part itself may come much later in a run."""
        entry = self.entry(spec)
        _, arg = split_spec(spec)
        check = getattr(entry.load(), "check_argument", None) if entry.parametric else None
        if check is not None and arg is not None:
            check(arg)

    def get(self, spec: str) -> T:
        """The factory registered for ``spec``."""
        return self.factory(self.entry(spec))

    def create(self, spec: str, **kwargs: Any) -> Any:
        """Call the factory (parametric entries get the text after ':' as their first argument) and
        check what it returns against the registry's contract."""
        entry = self.entry(spec)
        _, arg = split_spec(spec)
        factory = self.factory(entry)
        try:
            part = factory(arg, **kwargs) if entry.parametric else factory(**kwargs)
        except TypeError as exc:
            problem = abstract_instantiation(exc)
            if problem is None:
                raise
            raise self.contract_error(entry, problem) from None
        problems = self.contract.problems(part) if self.contract is not None else []
        if problems:
            raise self.contract_error(entry, "; ".join(problems))
        return part


BACKBONES: Registry[Callable[..., Any]] = Registry(
    "backbone", "zsbench.backbones",
    Contract("zsbench.backbones.base:Backbone", "zsbench.backbones.base:backbone_problems"))
TEXT_ENCODERS: Registry[Callable[..., Any]] = Registry(
    "text encoder", "zsbench.text_encoders", Contract("zsbench.text.encoders:TextEncoder"))
METHODS: Registry[Callable[..., Any]] = Registry(
    "method", "zsbench.methods", Contract("zsbench.methods.base:Method", "zsbench.methods.base:method_problems"))
DATASETS: Registry[Callable[..., Any]] = Registry(
    "dataset", "zsbench.datasets", Contract("zsbench.data.base:DatasetSource"))

REGISTRIES: dict[str, Registry[Callable[..., Any]]] = {
    "backbones": BACKBONES,
    "text-encoders": TEXT_ENCODERS,
    "methods": METHODS,
    "datasets": DATASETS,
}



def _add_builtins() -> None:
    for builtin in BUILTINS:
        REGISTRIES[builtin.registry].add(RegistryEntry(
            builtin.name, builtin.target, BUILTIN_ORIGIN, builtin.description, builtin.parametric, builtin.options))


_add_builtins()
