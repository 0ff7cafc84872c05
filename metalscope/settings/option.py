"""Option declarations: one line per option yields its oslo.config ``Opt`` and its typed field.

A settings section is a frozen dataclass decorated with :func:`section`; each field is
declared with :func:`option` (a default), :func:`optional` (no default: ``None``),
:func:`computed` (a default worked out when settings load) or :func:`library` (an option
that a library such as keystoneauth registers itself; MetalScope only reads it). The field's
annotation is the Python type; the :class:`Kind` names the oslo.config type, and mypy checks
that the two agree (``option(INTEGER, ...)`` is an ``int``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast, dataclass_transform

from oslo_config import cfg

T = TypeVar("T")
C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """An oslo.config option class and the Python type of its values."""

    opt_class: Callable[..., Any]
    python_type: type


STRING: Kind[str] = Kind(cfg.StrOpt, str)
INTEGER: Kind[int] = Kind(cfg.IntOpt, int)
PORT: Kind[int] = Kind(cfg.PortOpt, int)
FLOAT: Kind[float] = Kind(cfg.FloatOpt, float)
BOOLEAN: Kind[bool] = Kind(cfg.BoolOpt, bool)
LIST: Kind[list[str]] = Kind(cfg.ListOpt, list)
DICT: Kind[dict[str, str]] = Kind(cfg.DictOpt, dict)
#: Given once per line, every line kept (``[pci_devices]alias``).
MULTI_STRING: Kind[list[str]] = Kind(cfg.MultiStrOpt, list)


@dataclass(frozen=True)
class Declaration:
    """What a field's declaration says about its option (kept in the field's metadata)."""

    kind: Kind[Any]
    help: str
    default: Any = None
    #: Computes the default when settings load (instead of ``default``).
    default_factory: Callable[[], Any] | None = None
    #: What the sample configuration shows as the default of a computed option.
    sample_default: str | None = None
    #: The library that registers the option itself; None for MetalScope's own.
    owner: str | None = None
    #: Whether ``default`` replaces the owning library's default.
    sets_default: bool = False
    #: Whether MetalScope registers the option itself when the library no longer does.
    fallback: bool = False
    #: Further keyword arguments of the oslo.config option (min, choices, secret, ...).
    details: tuple[tuple[str, Any], ...] = ()

    def opt(self, name: str, **extra: Any) -> Any:
        """The oslo.config option MetalScope registers for this declaration (for a library's
        option, the one registered when the library does not: see ``fallback``); ``extra``
        goes to the option too (``short``, ``dest`` of a command-line option)."""
        return self.kind.opt_class(name, default=self.default, help=self.help,
                                   **dict(self.details), **extra)


@dataclass(frozen=True)
class Declared:
    """A declared option with its name: a field of a section."""

    name: str
    declaration: Declaration

    @property
    def has_default(self) -> bool:
        """Whether the declaration states the default (not computed, not left to a library)."""
        kind = self.declaration
        return kind.default_factory is None and (kind.owner is None or kind.sets_default)


def _field(declaration: Declaration) -> Any:
    return dataclasses.field(metadata={"option": declaration})


def option(kind: Kind[T], default: T, /, *, help: str, **details: Any) -> T:
    """A MetalScope option with a default; ``details`` go to the oslo.config option.

    The dataclass field itself has no default (the loader fills every field), which is why
    the default is passed by position.
    """
    return cast(T, _field(Declaration(kind, help, default,
                                      details=tuple(sorted(details.items())))))


def optional(kind: Kind[T], *, help: str, **details: Any) -> T | None:
    """A MetalScope option that is unset (``None``) unless a file sets it."""
    return cast("T | None", _field(Declaration(kind, help, None,
                                               details=tuple(sorted(details.items())))))


def computed(kind: Kind[T], default_factory: Callable[[], T], /, *, sample_default: str,
             help: str, **details: Any) -> T:
    """A MetalScope option whose default is computed each time settings load."""
    return cast(T, _field(Declaration(kind, help, None, default_factory=default_factory,
                                      sample_default=sample_default,
                                      details=tuple(sorted(details.items())))))


def library(kind: Kind[T], default: Any = None, /, *, owner: str, help: str,
            sets_default: bool = False, fallback: bool = False) -> T:
    """An option ``owner`` registers; with ``sets_default``, ``default`` replaces its default.

    ``help`` says what MetalScope does with it (the sample shows the library's own text).
    With ``fallback``, MetalScope registers it (with ``default``) when ``owner`` does not.
    """
    return cast(T, _field(Declaration(kind, help, default, owner=owner,
                                      sets_default=sets_default, fallback=fallback)))


@dataclass_transform(frozen_default=True, field_specifiers=(option, optional, computed, library))
def section(cls: C) -> C:
    """Make ``cls`` a frozen settings section of declared options."""
    made = cast(C, dataclass(frozen=True)(cls))
    for item in dataclasses.fields(made):
        if not isinstance(item.metadata.get("option"), Declaration):
            raise TypeError(f"{cls.__name__}.{item.name} is not a declared option")
    return made


def declared(section_type: type) -> Iterator[Declared]:
    """The declared options of a section, in declaration order."""
    for item in dataclasses.fields(section_type):
        yield Declared(item.name, item.metadata["option"])


def own_opts(section_type: type) -> list[Any]:
    """The oslo.config options MetalScope registers for a section."""
    return [item.declaration.opt(item.name) for item in declared(section_type)
            if item.declaration.owner is None]

