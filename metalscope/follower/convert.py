"""Ironic's inventory answer and node fields as MetalScope's data, pure.

``GET /v1/nodes/{node}/inventory`` answers ``{"inventory": ..., "plugin_data": ...}``:
the ramdisk's inventory as Ironic keeps it, and what Ironic's inspection hooks added
(``root_disk``, ``all_interfaces``, ``valid_interfaces``, LLDP, PCI devices...). MetalScope's
processed data is ironic-inspector's shape: the plugin data's keys at the top level with
the inventory under ``inventory``, which is what the hardware diff, the fleet summary and
the rules' ``data://`` fields read.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from metalscope.storage.follower import SeenInspection

#: The history source of an inventory Ironic collected in band (its ramdisk, the ``agent``
#: inspect interface) and out of band (its ``redfish`` inspect interface).
IRONIC_AGENT = "ironic-agent"
IRONIC_REDFISH = "ironic-redfish"
#: The node fields the follower lists.
LIST_FIELDS = ("uuid", "name", "inspection_started_at", "inspection_finished_at",
               "inspect_interface")
#: Inspect interfaces whose inspections are MetalScope's own (the drop-in records them).
OWN_INTERFACES = frozenset({"inspector"})
#: Keys of the plugin data left out of the processed data (Ironic's bookkeeping).
_DROPPED = frozenset({"logs"})


def processed_data(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The inventory answer in MetalScope's processed-data shape."""
    plugin = answer.get("plugin_data")
    data: dict[str, Any] = {key: value for key, value in (plugin or {}).items()
                            if key not in _DROPPED} if isinstance(plugin, Mapping) else {}
    inventory = answer.get("inventory")
    data["inventory"] = dict(inventory) if isinstance(inventory, Mapping) else {}
    return data


def source_of(inspect_interface: str | None, answer: Mapping[str, Any]) -> str:
    """``ironic-redfish`` for an out-of-band inspection, ``ironic-agent`` otherwise: from
    the node's inspect interface, else from the data (an inventory with no interfaces
    came from a BMC, a ramdisk always reports them)."""
    interface = (inspect_interface or "").lower()
    if interface in ("redfish", "idrac-redfish", "ilo", "idrac", "irmc"):
        return IRONIC_REDFISH
    if interface == "agent":
        return IRONIC_AGENT
    plugin = answer.get("plugin_data")
    if isinstance(plugin, Mapping) and str(plugin.get("inspection_method", "")) == "redfish":
        return IRONIC_REDFISH
    inventory = answer.get("inventory")
    if isinstance(inventory, Mapping) and not inventory.get("interfaces") \
            and not (isinstance(plugin, Mapping) and plugin.get("all_interfaces")):
        return IRONIC_REDFISH
    return IRONIC_AGENT


def parse_time(value: Any) -> datetime.datetime | None:
    """An Ironic timestamp (ISO 8601, with or without an offset) as naive UTC, the form
    MetalScope stores; None when absent or not a timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def seen_inspection(node: Mapping[str, Any]) -> SeenInspection | None:
    """A node of the list as its newest finished inspection; None when it has none (never
    inspected) or when the inspection is MetalScope's own (``inspector`` interface)."""
    finished = parse_time(node.get("inspection_finished_at"))
    uuid = node.get("uuid")
    if finished is None or not isinstance(uuid, str):
        return None
    interface = node.get("inspect_interface")
    interface = interface if isinstance(interface, str) else None
    if interface in OWN_INTERFACES:
        return None
    name = node.get("name")
    return SeenInspection(uuid=uuid, name=name if isinstance(name, str) else None,
                          finished_at=finished,
                          started_at=parse_time(node.get("inspection_started_at")),
                          inspect_interface=interface)
