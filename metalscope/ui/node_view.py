"""One node's page: its hardware grouped by category, its matched rules and stored data.

The hardware comes from the stored processed data through
:func:`metalscope.hardware.view.build_view` when the data store has it; otherwise (``store_data
= none``, or nothing stored yet) from the node's fleet summary, which knows less. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metalscope.hardware.view import HardwareView, build_view
from metalscope.ui import formatting
from metalscope.ui.formatting import UNKNOWN

if TYPE_CHECKING:
    from metalscope.fleet.query import FleetRow
    from metalscope.fleet.summary import HardwareSummary


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class DimmRow:
    locator: str
    size: str
    type: str
    speed: str
    manufacturer: str
    part_number: str
    serial: str


@dataclass(frozen=True)
class DiskRow:
    name: str
    size: str
    model: str
    serial: str
    rotational: str


@dataclass(frozen=True)
class NicRow:
    name: str
    mac: str
    product: str
    speed: str
    switch: str
    port: str


@dataclass(frozen=True)
class PciRow:
    bus: str
    device: str
    device_class: str
    revision: str


@dataclass(frozen=True)
class RuleView:
    uuid: str
    description: str


@dataclass(frozen=True)
class StoredData:
    """The processed data as stored (pretty JSON), or why it is not shown."""

    text: str | None
    note: str


@dataclass(frozen=True)
class NodeView:
    uuid: str
    title: str
    state: str
    error: str | None
    started: str
    finished: str
    #: Where the hardware comes from: "stored data" or "summary" (or None: nothing known).
    source: str | None
    system: list[Field] = field(default_factory=list)
    cpu: list[Field] = field(default_factory=list)
    memory: list[Field] = field(default_factory=list)
    dimms: list[DimmRow] = field(default_factory=list)
    disks: list[DiskRow] = field(default_factory=list)
    nics: list[NicRow] = field(default_factory=list)
    pci: list[PciRow] = field(default_factory=list)
    rules: list[RuleView] = field(default_factory=list)
    stored: StoredData = StoredData(None, "not stored")


def node_view(row: FleetRow, processed: Mapping[str, Any] | None, stored: StoredData) -> NodeView:
    """The page of ``row``; ``processed`` is its stored processed data, if any."""
    base = NodeView(uuid=row.uuid, title=row.name or row.uuid, state=row.state,
                    error=row.error, started=formatting.timestamp(row.started_at),
                    finished=formatting.timestamp(row.finished_at), source=None,
                    rules=rules(row.summary), stored=stored)
    if processed is not None:
        return from_view(base, row, build_view(processed))
    if row.summary is not None:
        return from_summary(base, row, row.summary)
    return base


def stored_data(text: str | None, *, enabled: bool, failure: str | None = None) -> StoredData:
    """What the stored-data panel shows for the store's answer ``text``."""
    if failure is not None:
        return StoredData(None, f"could not be read: {failure}")
    if not enabled:
        return StoredData(None, "not stored ([processing]store_data = none)")
    if text is None:
        return StoredData(None, "nothing stored for this node")
    try:
        pretty = json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        pretty = text
    return StoredData(pretty, "")


def parsed(text: str | None) -> dict[str, Any] | None:
    """The stored JSON text as a dict, or None when absent or not a JSON object."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def rules(summary: HardwareSummary | None) -> list[RuleView]:
    if summary is None:
        return []
    return [RuleView(rule.uuid, rule.description or "") for rule in summary.rules]


def from_view(base: NodeView, row: FleetRow, view: HardwareView) -> NodeView:
    categories = view.categories
    system = _one(categories.get("system"))
    firmware = categories.get("firmware") or {}
    boot = _one(categories.get("boot"))
    summary = row.summary
    return _replace(
        base, source="stored data",
        system=_fields([
            ("Vendor", system.get("vendor")), ("Model", system.get("product")),
            ("Serial", system.get("serial")), ("System UUID", system.get("uuid")),
            ("BIOS", _firmware(firmware.get("bios"))),
            ("BMC firmware", (firmware.get("bmc") or {}).get("version")),
            ("Boot mode", boot.get("current_boot_mode") or (summary and summary.boot_mode)),
            ("PXE interface", boot.get("pxe_interface"))]),
        cpu=_attribute_fields(_one(categories.get("cpu"))),
        memory=[Field("Total", formatting.memory(view.total_mb))],
        dimms=[dimm_row(identity, a) for identity, a in (categories.get("memory") or {}).items()],
        disks=[disk_row(a) for a in (categories.get("disks") or {}).values()],
        nics=[nic_row(mac, a) for mac, a in (categories.get("nics") or {}).items()],
        pci=[pci_row(a) for a in (categories.get("pci") or {}).values()])


def from_summary(base: NodeView, row: FleetRow, summary: HardwareSummary) -> NodeView:
    disks = [] if summary.disk_count is None else [Field("Disks", str(summary.disk_count))]
    if summary.disk_bytes is not None:
        disks.append(Field("Total size", formatting.disk(summary.disk_bytes)))
    return _replace(
        base, source="summary",
        system=_fields([("Vendor", summary.vendor), ("Model", summary.model),
                        ("Serial", summary.serial), ("Boot mode", summary.boot_mode)]),
        cpu=_fields([("Model", summary.cpu_model), ("Count", summary.cpu_count),
                     ("Architecture", summary.cpu_arch)]),
        memory=[Field("Total", formatting.memory(summary.memory_mib)), *disks],
        nics=[NicRow(UNKNOWN, mac, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN) for mac in summary.macs])


def _replace(base: NodeView, **changes: Any) -> NodeView:
    return NodeView(**{**base.__dict__, **changes})


def _one(components: Mapping[str, Mapping[str, Any]] | None) -> Mapping[str, Any]:
    return next(iter(components.values()), {}) if components else {}


def _fields(pairs: list[tuple[str, Any]]) -> list[Field]:
    return [Field(name, formatting.attribute(name, value)) for name, value in pairs]


def _attribute_fields(attributes: Mapping[str, Any]) -> list[Field]:
    return [Field(formatting.label(name), formatting.attribute(name, value))
            for name, value in attributes.items()]


def _firmware(bios: Mapping[str, Any] | None) -> str | None:
    if not bios:
        return None
    parts = [bios.get("vendor"), bios.get("version"), bios.get("build_date")]
    return " ".join(str(part) for part in parts if part) or None


def _text(name: str, attributes: Mapping[str, Any]) -> str:
    return formatting.attribute(name, attributes.get(name))


def dimm_row(identity: str, attributes: Mapping[str, Any]) -> DimmRow:
    bank, locator = attributes.get("bank"), attributes.get("locator")
    place = " / ".join(str(part) for part in (bank, locator) if part) or UNKNOWN
    serial = identity.removeprefix("serial:") if identity.startswith("serial:") else UNKNOWN
    return DimmRow(place, _text("size_mb", attributes), _text("type", attributes),
                   _text("speed", attributes), _text("manufacturer", attributes),
                   _text("part_number", attributes), serial)


def disk_row(attributes: Mapping[str, Any]) -> DiskRow:
    model = " ".join(str(p) for p in (attributes.get("vendor"), attributes.get("model")) if p)
    return DiskRow(_text("name", attributes), _text("size_bytes", attributes),
                   model or UNKNOWN, _text("serial", attributes),
                   _kind(attributes.get("rotational")))


def nic_row(identity: str, attributes: Mapping[str, Any]) -> NicRow:
    mac = identity.partition("#")[0]
    product = " ".join(str(p) for p in (attributes.get("vendor"), attributes.get("product"),
                                        attributes.get("driver") and
                                        f"({attributes['driver']})") if p)
    switch = attributes.get("switch_system_name") or attributes.get("switch_chassis_id")
    return NicRow(_text("name", attributes), mac, product or UNKNOWN,
                  _text("speed_mbps", attributes), formatting.attribute("switch", switch),
                  _text("switch_port_id", attributes))


def pci_row(attributes: Mapping[str, Any]) -> PciRow:
    device = f"{attributes.get('vendor_id') or '?'}:{attributes.get('product_id') or '?'}"
    return PciRow(_text("bus", attributes), device, _text("class", attributes),
                  _text("revision", attributes))


def _kind(rotational: Any) -> str:
    if rotational is None:
        return UNKNOWN
    return "HDD" if rotational else "SSD"
