"""The ``lldp_basic`` hook: decode each interface's LLDP TLVs into ``lldp_processed`` (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

from metalscope import lldp
from metalscope.inventory import get_inventory
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)


class LldpBasicHook(BaseHook):
    """Stores the decoded TLVs as ``all_interfaces.<name>.lldp_processed``; Ironic is not
    touched."""

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Decode the TLVs of every inventory interface that has some."""
        all_interfaces = data.get("all_interfaces")
        if not isinstance(all_interfaces, dict):
            all_interfaces = {}
        for iface in get_inventory(data)["interfaces"]:
            processed = processed_lldp(data, iface, node.uuid)
            if not processed:
                continue
            record = all_interfaces.get(iface["name"])
            if not isinstance(record, dict):
                # Upstream fails with an unexpected error here (quirk Q-HOOK-2): the
                # interface had no valid MAC, so validate_interfaces left it out.
                LOG.warning("Not storing LLDP data of interface %s of node %s, it is not "
                            "among the valid interfaces", iface["name"], node.uuid)
                continue
            record["lldp_processed"] = processed


def processed_lldp(data: dict[str, Any], iface: Any, node_uuid: str) -> dict[str, Any]:
    """The decoded TLVs of one inventory interface (empty when it has none)."""
    if not isinstance(iface, dict) or not iface.get("name"):
        return {}
    tlvs = lldp.interface_tlvs(data, iface)
    if not tlvs:
        LOG.warning("No LLDP data found for interface %s of node %s", iface["name"], node_uuid)
        return {}
    return lldp.parse_tlvs(tlvs)
