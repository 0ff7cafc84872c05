"""The ``local_link_connection`` hook: switch port and chassis from LLDP onto Ironic ports.

For each interface with a port on the node, the switch's port ID becomes
``local_link_connection.port_id`` and its chassis MAC ``local_link_connection.switch_id``
(spec 5.4). The values come from ``lldp_processed`` when ``lldp_basic`` ran earlier,
otherwise from the raw TLVs.
"""

from __future__ import annotations

import logging
from typing import Any

from metalscope import lldp
from metalscope.inventory import get_inventory, is_valid_mac
from metalscope.node_changes import NodeChanges, PatchOp
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)

#: ``(local_link_connection key, lldp_processed name it is taken from)``.
PROCESSED_NAMES = (("port_id", "switch_port_id"), ("switch_id", "switch_chassis_id"))


class LocalLinkConnectionHook(BaseHook):
    """Sets ``port_id`` and ``switch_id`` in the ``local_link_connection`` of matching ports."""

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Patch the port of every valid interface that reported LLDP data."""
        all_interfaces = data.get("all_interfaces") or {}
        for iface in get_inventory(data)["interfaces"]:
            if not isinstance(iface, dict) or iface.get("name") not in all_interfaces:
                continue
            port = matching_port(node, iface)
            if port is None:
                continue
            ops = self.patch_for(data, iface, all_interfaces[iface["name"]], port)
            if ops:
                node.patch_port(port["address"], ops)

    def patch_for(self, data: dict[str, Any], iface: dict[str, Any], record: Any,
                  port: dict[str, Any]) -> list[PatchOp]:
        """The ``add`` operations for one interface's port (none without LLDP data)."""
        tlvs = lldp.interface_tlvs(data, iface)
        if not tlvs:
            LOG.warning("No LLDP data found for interface %s", iface["name"])
            return []
        processed = record.get("lldp_processed") if isinstance(record, dict) else None
        found = from_processed(processed) or from_raw(tlvs)
        existing = port.get("local_link_connection") or {}
        overwrite = self.settings.processing.overwrite_existing
        return [{"op": "add", "path": f"/local_link_connection/{key}", "value": value}
                for key, value in found.items() if overwrite or key not in existing]


def matching_port(node: NodeChanges, iface: dict[str, Any]) -> dict[str, Any] | None:
    """The node's port for the interface's MAC, or None.

    Upstream compares the address strings exactly; ports are keyed by lower-case MAC here,
    so an upper-case ``mac_address`` also matches (as PXE MACs do, quirk Q-HOOK-1).
    """
    mac = iface.get("mac_address")
    port = node.ports.get(mac.lower()) if isinstance(mac, str) else None
    if port is None:
        LOG.debug("No port of node %s has the MAC %s of interface %s",
                  node.uuid, mac, iface.get("name"))
    return port


def from_processed(processed: Any) -> dict[str, str]:
    """``port_id``/``switch_id`` from ``lldp_processed``; the switch ID only if it is a MAC."""
    if not isinstance(processed, dict):
        return {}
    found = {key: processed[name] for key, name in PROCESSED_NAMES
             if isinstance(processed.get(name), str) and processed[name]}
    if "switch_id" in found and not is_valid_mac(found["switch_id"]):
        del found["switch_id"]
    return found


def from_raw(tlvs: Any) -> dict[str, str]:
    """``port_id`` from the Port ID TLV (any subtype); ``switch_id`` from a MAC Chassis ID."""
    found: dict[str, str] = {}
    for tlv_type, value in lldp.iter_tlvs(tlvs):
        entry = raw_entry(tlv_type, value)
        if entry is not None and entry[1]:
            found.setdefault(*entry)
    return found


def raw_entry(tlv_type: int, value: bytes) -> tuple[str, str] | None:
    """``(key, value)`` for a Port ID or MAC Chassis ID TLV; None for others or bad ones."""
    try:
        if tlv_type == lldp.TLV_PORT_ID:
            return "port_id", lldp.port_id(value)
        if tlv_type == lldp.TLV_CHASSIS_ID and value[:1] == bytes([lldp.CHASSIS_SUBTYPE_MAC]):
            return "switch_id", lldp.chassis_id(value)
    except lldp.MalformedTlv as exc:
        LOG.warning("Skipping LLDP TLV of type %d: %s", tlv_type, exc)
    return None
