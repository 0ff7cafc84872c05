"""A node's hardware in one line: what the fleet table shows and sorts by.

:func:`summarise` reads processed introspection data through the hardware view
(:mod:`metalscope.hardware.view`), so the fleet table and the hardware diff agree on what
the data says; a fact the data lacks is None, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metalscope.hardware.view import Components, HardwareView, build_view
from metalscope.rules.model import Rule

#: The categories of the hardware view a summary reads (CPU flags and LLDP neighbours are not
#: read either: the summary has none).
SUMMARY_CATEGORIES = ("system", "cpu", "disks", "nics", "boot")


@dataclass(frozen=True)
class MatchedRule:
    """An introspection rule whose conditions the node's data matched."""

    uuid: str
    description: str | None


@dataclass(frozen=True)
class HardwareSummary:
    """The facts of one processed introspection the fleet table lists (None: unknown)."""

    vendor: str | None
    model: str | None
    serial: str | None
    cpu_model: str | None
    cpu_count: int | None
    cpu_arch: str | None
    memory_mib: int | None
    disk_count: int | None
    disk_bytes: int | None
    nic_count: int | None
    macs: tuple[str, ...]
    boot_mode: str | None
    rules: tuple[MatchedRule, ...]


def summarise(processed: Mapping[str, Any], *, rules: Sequence[Rule] = ()) -> HardwareSummary:
    """The summary of processed introspection data and the rules it matched; never raises,
    whatever the data's shape."""
    return from_view(build_view(processed, cpu_flags=(), only=SUMMARY_CATEGORIES,
                                neighbours=False), rules)


def from_view(view: HardwareView, rules: Sequence[Rule] = ()) -> HardwareSummary:
    """The summary of a hardware view (whole, or of ``SUMMARY_CATEGORIES`` only)."""
    system = _single(view, "system")
    cpu = _single(view, "cpu")
    disks = view.categories.get("disks")
    nics = view.categories.get("nics")
    return HardwareSummary(
        vendor=system.get("vendor"), model=system.get("product"), serial=system.get("serial"),
        cpu_model=cpu.get("model"), cpu_count=cpu.get("count"),
        cpu_arch=cpu.get("architecture"), memory_mib=view.total_mb,
        disk_count=None if disks is None else len(disks), disk_bytes=_disk_bytes(disks),
        nic_count=None if nics is None else len(nics), macs=_macs(nics),
        boot_mode=_single(view, "boot").get("current_boot_mode"),
        rules=tuple(MatchedRule(rule.uuid, rule.description) for rule in rules))


def _single(view: HardwareView, category: str) -> Mapping[str, Any]:
    components = view.categories.get(category) or {}
    return components.get(category) or {}


def _disk_bytes(disks: Components | None) -> int | None:
    """The sum of the known disk sizes; None when no size is known (0 with no disks)."""
    if disks is None:
        return None
    sizes = [d["size_bytes"] for d in disks.values() if d.get("size_bytes") is not None]
    return sum(sizes) if sizes or not disks else None


def _macs(nics: Components | None) -> tuple[str, ...]:
    """The NICs' MACs in inventory order (an identity may carry a ``#2`` suffix)."""
    return tuple(dict.fromkeys(identity.split("#")[0] for identity in nics or {}))
