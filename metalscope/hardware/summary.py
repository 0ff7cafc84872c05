"""The one line that says what changed, e.g.
``memory 64 GiB → 48 GiB (DIMM A3 16 GiB removed); disk sdb replaced (serial S1 → S2, 1.8 TB)``.

Phrases follow the category order; a kind of change seen more than :data:`MAX_LISTED` times
in one category is counted instead of listed. A removed and an added component with the same
name (a disk, a NIC) or slot (a DIMM) read as "replaced".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metalscope.hardware import units
from metalscope.hardware.diff import TOTAL_ID, CategoryDiff, Component, ComponentChange

UNCHANGED = "no hardware change"
MAX_LISTED = 3
ARROW = "→"


def summarise(diffs: Mapping[str, CategoryDiff]) -> str:
    """One line for the whole difference; :data:`UNCHANGED` when there is none."""
    accelerator_ids = {c.id for c in _entries(diffs.get("accelerators"))}
    phrases: list[str] = []
    for name, diff in diffs.items():
        if diff.empty:
            continue
        if name == "pci":
            diff = _without(diff, accelerator_ids)
        phrases += _PHRASES.get(name, _generic(name))(diff)
    return "; ".join(phrases) if phrases else UNCHANGED


def _entries(diff: CategoryDiff | None) -> list[Component | ComponentChange]:
    return [*diff.added, *diff.removed, *diff.changed] if diff else []


def _without(diff: CategoryDiff, ids: set[str]) -> CategoryDiff:
    return CategoryDiff(tuple(c for c in diff.added if c.id not in ids),
                        tuple(c for c in diff.removed if c.id not in ids),
                        tuple(c for c in diff.changed if c.id not in ids))


def _value(field: str, value: Any) -> str:
    if value is None:
        return "?"
    if field == "size_bytes":
        return units.disk_size(int(value))
    if field in ("size_mb", "total_mb"):
        return units.memory_size(int(value))
    if field == "speed_mbps":
        return units.speed(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _fields(changes: Mapping[str, tuple[Any, Any]], labels: Mapping[str, str]) -> str:
    return ", ".join(f"{labels.get(field, field.replace('_', ' '))} "
                     f"{_value(field, old)} {ARROW} {_value(field, new)}"
                     for field, (old, new) in changes.items())


def _label(change: ComponentChange) -> str:
    if change.label and change.id.count(":") == 5:  # a NIC: its name and MAC
        return f"{change.label} ({change.id})"
    return (change.label or change.id.split(":", 1)[-1]).removeprefix("/dev/")


def _capped(phrases: list[str], count_phrase: str) -> list[str]:
    return phrases if len(phrases) <= MAX_LISTED else [count_phrase.format(n=len(phrases))]


# -- per category -------------------------------------------------------------------------

def _generic(label: str) -> Callable[[CategoryDiff], list[str]]:
    def phrases(diff: CategoryDiff) -> list[str]:
        return ([f"{label} {c.id} added" for c in diff.added]
                + [f"{label} {c.id} removed" for c in diff.removed]
                + [f"{label} {_fields(c.changes, {})}" for c in diff.changed])
    return phrases


def _firmware(diff: CategoryDiff) -> list[str]:
    phrases = []
    for change in diff.changed:
        label = "BIOS" if change.id == "bios" else "BMC firmware" if change.id == "bmc" \
            else change.id
        changes = dict(change.changes)
        if "version" in changes:  # the date and revision follow the version
            changes = {"version": changes["version"]}
        phrases.append(f"{label} {_fields(changes, {'version': ''})}".replace("  ", " "))
    phrases += [f"{c.id} firmware {c.attributes.get('version') or ''} added".replace("  ", " ")
                for c in diff.added]
    phrases += [f"{c.id} firmware removed" for c in diff.removed]
    return phrases


def _cpu(diff: CategoryDiff) -> list[str]:
    phrases = []
    for change in diff.changed:
        changes = dict(change.changes)
        flags = changes.pop("flags", None)
        parts = [_fields(changes, {"frequency_mhz": "frequency (MHz)"})] if changes else []
        if flags is not None:
            old, new = set(flags[0]), set(flags[1])
            parts.append("flags " + " ".join([*(f"+{f}" for f in sorted(new - old)),
                                              *(f"-{f}" for f in sorted(old - new))]))
        phrases.append("CPU " + ", ".join(parts))
    return phrases + _generic("CPU")(CategoryDiff(diff.added, diff.removed))


def _dimm(component: Component | ComponentChange) -> str:
    if isinstance(component, ComponentChange):
        slot = _label(component)
    else:
        slot = str(component.attributes.get("locator") or component.id.split(":", 1)[-1])
    # Some vendors name their slots "DIMM 3" already.
    return slot if slot.upper().startswith("DIMM") else f"DIMM {slot}"


def _memory(diff: CategoryDiff) -> list[str]:
    total = next((c for c in diff.changed if c.id == TOTAL_ID), None)
    replaced, removed, added = _replacements(diff, "locator")
    details = (
        [f"{_dimm(new)} replaced ({_serials(old, new)})" for old, new in replaced]
        + _capped([f"{_dimm(c)} {_size(c, 'size_mb')} removed".replace("  ", " ")
                   for c in removed], "{n} DIMMs removed")
        + _capped([f"{_dimm(c)} {_size(c, 'size_mb')} added".replace("  ", " ")
                   for c in added], "{n} DIMMs added")
        + _capped([f"{_dimm(c)} {_fields(c.changes, {})}"
                   for c in diff.changed if c.id != TOTAL_ID], "{n} DIMMs changed"))
    if total is None:
        return details
    old, new = total.changes["total_mb"]
    head = f"memory {units.memory_size(old)} {ARROW} {units.memory_size(new)}"
    return [f"{head} ({', '.join(details)})" if details else head]


def _size(component: Component, field: str) -> str:
    value = component.attributes.get(field)
    return _value(field, value) if value is not None else ""


def _serials(old: Component, new: Component) -> str:
    if old.id.startswith("serial:") and new.id.startswith("serial:"):
        return f"serial {old.id[7:]} {ARROW} {new.id[7:]}"
    return f"{_identity(old)} {ARROW} {_identity(new)}"


def _identity(component: Component) -> str:
    kind, _, value = component.id.partition(":")
    return f"{kind} {value}" if value else component.id


def _replacements(diff: CategoryDiff, field: str) -> tuple[
        list[tuple[Component, Component]], list[Component], list[Component]]:
    """Removed and added components with the same ``field`` value, paired."""
    added = list(diff.added)
    pairs, removed = [], []
    for old in diff.removed:
        key = old.attributes.get(field)
        match = next((new for new in added if key and new.attributes.get(field) == key), None)
        if match is None:
            removed.append(old)
        else:
            added.remove(match)
            pairs.append((old, match))
    return pairs, removed, added


def _disk_name(component: Component | ComponentChange, names: Mapping[str, str]) -> str:
    attributes = component.attributes if isinstance(component, Component) else {}
    name = attributes.get("name") or names.get(component.id) or component.id
    return str(name).removeprefix("/dev/")


def _disk_detail(component: Component) -> str:
    parts = [f"serial {component.attributes['serial']}"] if component.attributes.get(
        "serial") else []
    if component.attributes.get("size_bytes"):
        parts.append(units.disk_size(int(component.attributes["size_bytes"])))
    return f" ({', '.join(parts)})" if parts else ""


def _disks(diff: CategoryDiff) -> list[str]:
    replaced, removed, added = _replacements(diff, "name")
    phrases = []
    for old, new in replaced:
        size = new.attributes.get("size_bytes")
        size_text = f", {units.disk_size(int(size))}" if size else ""
        phrases.append(f"disk {_disk_name(new, {})} replaced ({_serials(old, new)}{size_text})")
    phrases += _capped([f"disk {_disk_name(c, {})} removed{_disk_detail(c)}" for c in removed],
                       "{n} disks removed")
    phrases += _capped([f"disk {_disk_name(c, {})} added{_disk_detail(c)}" for c in added],
                       "{n} disks added")
    labels = {"size_bytes": "size"}
    phrases += _capped([f"disk {_label(c)} {_fields(c.changes, labels)}"
                        for c in diff.changed], "{n} disks changed")
    return phrases


_NIC_LABELS = {"speed_mbps": "speed", "switch_port_id": "switch port",
               "switch_system_name": "switch", "switch_chassis_id": "switch chassis"}


def _nic(component: Component) -> str:
    name = component.attributes.get("name")
    return f"{name} ({component.id})" if name else component.id


def _nics(diff: CategoryDiff) -> list[str]:
    replaced, removed, added = _replacements(diff, "name")
    phrases = [f"NIC {new.attributes.get('name')} replaced (MAC {old.id} {ARROW} {new.id})"
               for old, new in replaced]
    phrases += _capped([f"NIC {_nic(c)} removed" for c in removed], "{n} NICs removed")
    phrases += _capped([f"NIC {_nic(c)} added" for c in added], "{n} NICs added")
    phrases += _capped([f"NIC {_label(c)} {_fields(c.changes, _NIC_LABELS)}" for c in diff.changed],
                       "{n} NICs changed")
    return phrases


def _devices(label: str) -> Callable[[CategoryDiff], list[str]]:
    def phrases(diff: CategoryDiff) -> list[str]:
        def name(c: Component | ComponentChange) -> str:
            device, _, bus = c.id.partition("@")
            return f"{device} ({bus})" if bus and bus != "?" else device
        return (_capped([f"{label} {name(c)} added" for c in diff.added],
                        f"{{n}} {label}s added")
                + _capped([f"{label} {name(c)} removed" for c in diff.removed],
                          f"{{n}} {label}s removed")
                + _capped([f"{label} {name(c)} {_fields(c.changes, {})}" for c in diff.changed],
                          f"{{n}} {label}s changed"))
    return phrases


def _boot(diff: CategoryDiff) -> list[str]:
    return [_fields(c.changes, {"current_boot_mode": "boot mode",
                                "pxe_interface": "PXE interface"}) for c in diff.changed]


_PHRASES: Mapping[str, Callable[[CategoryDiff], list[str]]] = {
    "system": _generic("system"),
    "firmware": _firmware,
    "cpu": _cpu,
    "memory": _memory,
    "disks": _disks,
    "nics": _nics,
    "pci": _devices("PCI device"),
    "accelerators": _devices("accelerator"),
    "boot": _boot,
}
