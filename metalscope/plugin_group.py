"""PluginGroup: one entry-point group, its plugins loaded by name, built and checked.

Every pluggable kind of MetalScope (processing hooks, rule conditions and actions, PXE filter
drivers, data stores, coordination backends, auth strategies) is an entry-point group. An
entry point names a factory: a class or a function, called with the arguments of its kind
(the settings, and for some kinds the repository or the Ironic client). What it returns
must provide the kind's protocol.

Every failure stops start-up with a :class:`~metalscope.errors.ConfigurationError` that
names the plugin and its group: an unknown name (listing the available ones), an import
error, a factory that is not callable or raises, a product that lacks a protocol member. A
ConfigurationError raised by the factory itself already says what to fix and is passed on
unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

from metalscope.errors import ConfigurationError

T = TypeVar("T")

#: Attributes every class has; they say nothing about a protocol.
_NOT_MEMBERS = frozenset({"__init__", "__module__", "__qualname__", "__doc__", "__dict__",
                          "__weakref__", "__annotations__", "__parameters__", "__orig_bases__",
                          "__abstractmethods__", "__slots__", "__subclasshook__",
                          "__init_subclass__", "__class_getitem__", "__protocol_attrs__",
                          "__non_callable_proto_members__", "__type_params__",
                          "__static_attributes__", "__firstlineno__", "_is_protocol",
                          "_is_runtime_protocol"})


def protocol_members(protocol: type) -> frozenset[str]:
    """The attribute and method names a :class:`typing.Protocol` asks for."""
    names: set[str] = set()
    for base in protocol.__mro__:
        if base is object or base.__name__ in ("Protocol", "Generic"):
            continue
        names.update(inspect.get_annotations(base))
        names.update(base.__dict__)
    return frozenset(n for n in names if n not in _NOT_MEMBERS and not n.startswith("_abc_"))


def not_installed(available: Sequence[str]) -> str:
    """The default unknown-name problem: the names that are installed."""
    return f"is not installed; available: {', '.join(available) or 'none'}"


@dataclass(frozen=True)
class PluginGroup(Generic[T]):
    """The plugins of one kind: ``group`` is the entry-point group, ``kind`` names a plugin
    of it in messages (``"PXE filter driver"``), ``provides`` is the protocol ``T`` a built
    plugin satisfies, ``unknown`` words the error for a name that is not installed.

    ``provides`` is typed ``type`` because a Protocol class cannot be passed where
    ``type[T]`` is expected; declare the group as ``PluginGroup[Protocol]``.
    """

    group: str
    kind: str
    provides: type
    unknown: Callable[[str, Sequence[str]], str] | None = None

    def entry_points(self) -> dict[str, EntryPoint]:
        return {ep.name: ep for ep in entry_points(group=self.group)}

    def names(self) -> list[str]:
        """Every installed plugin's name, sorted."""
        return sorted(self.entry_points())

    def load(self, name: str) -> Callable[..., object]:
        """The factory registered as ``name``, imported and checked to be callable."""
        available = self.entry_points()
        if name not in available:
            if self.unknown is not None:
                raise ConfigurationError(self.unknown(name, sorted(available)))
            raise self.error(name, not_installed(sorted(available)))
        try:
            factory = available[name].load()
        except Exception as exc:
            raise self.error(name, f"cannot be imported ({available[name].value}): {exc}") from exc
        if not callable(factory):
            raise self.error(name, f"is not a class or function: {available[name].value}")
        return cast(Callable[..., object], factory)

    def create(self, name: str, *args: Any) -> T:
        """Load ``name``, call its factory with ``args`` and check what it built."""
        factory = self.load(name)
        try:
            plugin = factory(*args)
        except ConfigurationError:
            raise
        except Exception as exc:  # a constructor check failed: refuse to start, name it
            raise self.error(name, f"failed to load: {exc}") from exc
        missing = sorted(m for m in protocol_members(self.provides) if not hasattr(plugin, m))
        if missing:
            raise self.error(name, f"does not provide {self.provides.__name__}: it has no "
                                   f"{', '.join(missing)}")
        return cast(T, plugin)

    def create_all(self, *args: Any) -> dict[str, T]:
        """Every installed plugin of the group, built with ``args``, by name."""
        return {name: self.create(name, *args) for name in self.names()}

    def error(self, name: str, problem: str) -> ConfigurationError:
        return ConfigurationError(f"{self.kind} {name} ({self.group}) {problem}")
