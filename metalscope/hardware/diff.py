"""Classifying the differences between two hardware views: added, removed, changed.

Components are matched by identity, never by position, and an attribute unknown on either
side (None) is never a change; lists are compared as sets, so reordering is no change. PCI
devices (and accelerators) whose bus address changed but whose vendor and product did not are
paired again, so a re-enumeration after a card was added elsewhere is not a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metalscope.hardware.view import CATEGORIES, Components, HardwareView

#: Categories whose identity includes a bus address that re-enumeration may change.
REPAIRED_BY_DEVICE = frozenset({"pci", "accelerators"})

#: The memory category's entry for the total, in ``changed``.
TOTAL_ID = "total"


@dataclass(frozen=True)
class Component:
    """An added or removed component."""

    id: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class ComponentChange:
    """A component present on both sides whose attributes differ: field -> (old, new)."""

    id: str
    changes: Mapping[str, tuple[Any, Any]]
    label: str | None = None  # the name (or slot) to show, not part of the document


@dataclass(frozen=True)
class CategoryDiff:
    added: tuple[Component, ...] = ()
    removed: tuple[Component, ...] = ()
    changed: tuple[ComponentChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_views(old: HardwareView, new: HardwareView) -> dict[str, CategoryDiff]:
    """The difference of every category (memory includes its total)."""
    result = {name: diff_components(old.categories.get(name), new.categories.get(name),
                                    repair=name in REPAIRED_BY_DEVICE)
              for name in CATEGORIES}
    total = total_change(old.total_mb, new.total_mb)
    if total is not None:
        memory = result["memory"]
        result["memory"] = CategoryDiff(memory.added, memory.removed, (total, *memory.changed))
    return result


def total_change(old: int | None, new: int | None) -> ComponentChange | None:
    if old is None or new is None or old == new:
        return None
    return ComponentChange(TOTAL_ID, {"total_mb": (old, new)})


def diff_components(old: Components | None, new: Components | None, *,
                    repair: bool = False) -> CategoryDiff:
    """Components added, removed and changed; nothing when either side was not collected."""
    if old is None or new is None:
        return CategoryDiff()
    changed = [change for key in sorted(old.keys() & new.keys())
               if (change := attribute_changes(key, old[key], new[key])) is not None]
    removed: dict[str, Mapping[str, Any]] = {key: old[key] for key in old.keys() - new.keys()}
    added: dict[str, Mapping[str, Any]] = {key: new[key] for key in new.keys() - old.keys()}
    if repair:
        changed += _repair(removed, added)
    return CategoryDiff(
        _listed(added),
        _listed(removed),
        tuple(sorted(changed, key=lambda change: change.id)))


def _listed(components: Mapping[str, Mapping[str, Any]]) -> tuple[Component, ...]:
    return tuple(Component(key, components[key]) for key in sorted(components))


def attribute_changes(identity: str, old: Mapping[str, Any], new: Mapping[str, Any], *,
                      ignore: Iterable[str] = ()) -> ComponentChange | None:
    """The attributes known on both sides whose values differ, or None."""
    skipped = set(ignore)
    changes = {field: (old[field], new[field]) for field in sorted(old.keys() & new.keys())
               if field not in skipped and _differs(old[field], new[field])}
    label = new.get("name") or new.get("locator")
    return ComponentChange(identity, changes, str(label) if label else None) if changes \
        else None


def _differs(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return False  # unknown on one side: not a change
    if isinstance(old, list) and isinstance(new, list):
        return sorted(map(str, old)) != sorted(map(str, new))
    return bool(old != new)


def _repair(removed: dict[str, Mapping[str, Any]],
            added: dict[str, Mapping[str, Any]]) -> list[ComponentChange]:
    """Pair removed and added devices of the same vendor and product (bus order), in place."""
    changes: list[ComponentChange] = []
    for old_key in sorted(removed):
        device = (removed[old_key].get("vendor_id"), removed[old_key].get("product_id"))
        match = next((key for key in sorted(added)
                      if (added[key].get("vendor_id"), added[key].get("product_id")) == device),
                     None)
        if match is None:
            continue
        change = attribute_changes(match, removed.pop(old_key), added.pop(match),
                                   ignore=("bus",))
        if change is not None:
            changes.append(change)
    return changes
