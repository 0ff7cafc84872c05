"""The ``physnet_cidr_map`` hook: a port's physical network from its interface's IP address.

``[port_physnet]cidr_map`` lists ``CIDR:physnet`` pairs; the first network (in configured
order) containing the interface's address names the physical network (spec 5.4).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from metalscope.inventory import get_inventory
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``(network, physnet)`` in configured order.
CidrMap = list[tuple[Network, str]]


class PhysnetCidrMapHook(BaseHook):
    """Sets ``physical_network`` on the ports whose interface address is in a mapped CIDR."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.cidr_map = parse_cidr_map(settings.port_physnet.cidr_map)

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Patch the port of every valid interface whose address maps to a physnet."""
        all_interfaces = data.get("all_interfaces") or {}
        for iface in get_inventory(data)["interfaces"]:
            if not isinstance(iface, dict) or iface.get("name") not in all_interfaces:
                continue
            mac = iface.get("mac_address")
            port = node.ports.get(mac.lower()) if isinstance(mac, str) else None
            physnet = physnet_for(iface, self.cidr_map)
            if port is not None and physnet is not None:
                self.update_port(node, port, physnet)

    def update_port(self, node: NodeChanges, port: dict[str, Any], physnet: str) -> None:
        """Set the physnet; only with ``overwrite_existing``, even on a port without one."""
        if not self.settings.processing.overwrite_existing:
            LOG.debug("Not setting physical network %s on port %s, overwrite_existing is off",
                      physnet, port["address"])
            return
        if port.get("physical_network") != physnet:
            node.patch_port(port["address"], [{"op": "add", "path": "/physical_network",
                                               "value": physnet}])


def parse_cidr_map(entries: list[str]) -> CidrMap:
    """Parse ``CIDR:physnet`` entries (split on the last colon); invalid ones are logged."""
    result: CidrMap = []
    for entry in entries:
        cidr, _, physnet = entry.strip().rpartition(":")
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            LOG.error("Ignoring invalid [port_physnet]cidr_map entry %r", entry)
            continue
        if not physnet.strip():
            LOG.error("Ignoring [port_physnet]cidr_map entry %r without a physical network", entry)
            continue
        result.append((network, physnet.strip()))
    return result


def physnet_for(iface: dict[str, Any], cidr_map: CidrMap) -> str | None:
    """The physnet of the first mapped network containing the interface's first address.

    Quirk Q-HOOK-3, kept because it is predictable: only the first address that parses
    (IPv4 before IPv6) is tried, so an unmapped IPv4 address hides a mapped IPv6 one.
    """
    addresses = interface_addresses(iface)
    if not addresses:
        return None
    return next((physnet for network, physnet in cidr_map if addresses[0] in network), None)


def interface_addresses(iface: dict[str, Any]) -> list[Address]:
    """The interface's ``ipv4_address`` and ``ipv6_address`` that parse, in that order."""
    result: list[Address] = []
    for key in ("ipv4_address", "ipv6_address"):
        try:
            result.append(ipaddress.ip_address(str(iface.get(key)).split("%", 1)[0]))
        except ValueError:
            continue
    return result
