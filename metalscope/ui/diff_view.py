"""A node's hardware history and the side-by-side diff of two of its versions. Pure.

The diff comes from :func:`metalscope.hardware.compare` (:class:`HardwareDiff`); each side
lists, per category, the components added, removed or changed, with the changed values
marked, so that the old column and the new one read line by line.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from metalscope.hardware import CATEGORIES, HardwareDiff
from metalscope.ui import formatting

TITLES = {"system": "System", "firmware": "Firmware", "cpu": "CPU", "memory": "Memory",
          "disks": "Disks", "nics": "NICs", "pci": "PCI devices",
          "accelerators": "Accelerators", "boot": "Boot"}


class Version(Protocol):
    """What the pages read of a recorded version (``storage.history.HistoryVersion``)."""

    @property
    def version(self) -> int: ...
    @property
    def finished_at(self) -> datetime.datetime: ...
    @property
    def source(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def changed(self) -> bool | None: ...
    @property
    def summary(self) -> str | None: ...


@dataclass(frozen=True)
class VersionRow:
    version: int
    finished: str
    source: str
    changed: str
    summary: str
    error: str
    #: The diff of this version with the one before it, when there is one.
    diff_href: str | None
    shown: bool


@dataclass(frozen=True)
class Value:
    name: str
    value: str
    changed: bool


@dataclass(frozen=True)
class Entry:
    """One component on one side: its values, or None when absent on that side."""

    component: str
    kind: str
    values: tuple[Value, ...] | None


@dataclass(frozen=True)
class CategorySide:
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class DiffView:
    old_version: int
    new_version: int
    old_finished: str
    new_finished: str
    summary: str
    changed: bool
    old: tuple[CategorySide, ...]
    new: tuple[CategorySide, ...]


def history_rows(node_path: str, versions: Sequence[Version],
                 shown: tuple[int, int] | None) -> list[VersionRow]:
    """The history table, newest first; ``shown`` is the pair the diff shows."""
    numbers = [version.version for version in versions]
    rows = []
    for index, version in enumerate(versions):
        older = numbers[index + 1] if index + 1 < len(numbers) else None
        href = f"{node_path}?from={older}&to={version.version}#diff" if older else None
        rows.append(VersionRow(
            version=version.version, finished=formatting.timestamp(version.finished_at),
            source=version.source,
            changed=_yes_no(version.changed),
            summary=version.summary or "", error=version.error or "", diff_href=href,
            shown=shown is not None and version.version in shown))
    return rows


def diff_view(old: Version, new: Version, diff: HardwareDiff) -> DiffView:
    old_sides, new_sides = [], []
    for name in CATEGORIES:
        category = diff.categories.get(name)
        if category is None or category.empty:
            continue
        pairs = [*((c.id, "removed", c.attributes, None) for c in category.removed),
                 *((c.id, "added", None, c.attributes) for c in category.added),
                 *((c.label or c.id, "changed", _side(c.changes, 0), _side(c.changes, 1))
                   for c in category.changed)]
        old_sides.append(CategorySide(TITLES[name], tuple(
            Entry(component, kind, _values(attributes, kind == "changed"))
            for component, kind, attributes, _ in pairs)))
        new_sides.append(CategorySide(TITLES[name], tuple(
            Entry(component, kind, _values(attributes, kind == "changed"))
            for component, kind, _, attributes in pairs)))
    return DiffView(old.version, new.version, formatting.timestamp(old.finished_at),
                    formatting.timestamp(new.finished_at), diff.summary, diff.changed,
                    tuple(old_sides), tuple(new_sides))


def _side(changes: Mapping[str, tuple[Any, Any]], index: int) -> dict[str, Any]:
    return {name: values[index] for name, values in changes.items()}


def _values(attributes: Mapping[str, Any] | None, changed: bool) -> tuple[Value, ...] | None:
    if attributes is None:
        return None
    return tuple(Value(formatting.label(name), formatting.attribute(name, value), changed)
                 for name, value in attributes.items() if value is not None or changed)


def _yes_no(value: bool | None) -> str:
    return formatting.UNKNOWN if value is None else ("yes" if value else "no")
