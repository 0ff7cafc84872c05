"""The ``validate_interfaces`` hook: interfaces, MACs and BMC addresses, then Ironic ports.

Before lookup it builds ``all_interfaces`` (every NIC with a valid MAC), ``interfaces``
(those eligible for a port under ``[processing]add_ports``) and ``macs``, and normalises
the BMC keys; an inventory listing more than ``[processing]max_interfaces`` interfaces is
refused there (each would be a lookup parameter and an Ironic port). After lookup it creates
the missing ports, deletes unwanted ones (``[processing]keep_ports``) and fixes
``pxe_enabled`` (spec 5.4).
"""

from __future__ import annotations

import logging
from typing import Any

from metalscope.errors import ConfigurationError, HookError
from metalscope.inventory import (
    bmc_v4,
    bmc_v6,
    get_inventory,
    interface_ip,
    interface_limit_message,
    is_loopback,
    is_valid_mac,
    pxe_mac,
)
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook
from metalscope.settings import ProcessingSection, Settings

LOG = logging.getLogger(__name__)

#: Provision states of deployed nodes, whose existing ports are never touched.
DEPLOYED_STATES = frozenset({"active", "rescue"})

#: An interface record as stored under ``all_interfaces`` / ``interfaces``.
Interfaces = dict[str, dict[str, Any]]


class ValidateInterfacesHook(BaseHook):
    """Validates the reported NICs and keeps the node's Ironic ports in line with them."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        check_port_options(settings.processing)

    def before_processing(self, data: dict[str, Any]) -> None:
        """Set ``ipmi_address``/``ipmi_v6address``, ``all_interfaces``, ``interfaces``, ``macs``."""
        data["ipmi_address"] = bmc_v4(data)
        data["ipmi_v6address"] = bmc_v6(data)
        check_inventory_size(data, self.settings.processing.max_interfaces)
        all_interfaces = collect_interfaces(data)
        selected = select_interfaces(all_interfaces, self.settings.processing.add_ports,
                                     pxe_known=pxe_mac(data) is not None,
                                     needs_ip=data.get("inspection_method") != "redfish")
        data["all_interfaces"] = all_interfaces
        data["interfaces"] = selected
        data["macs"] = [record["mac"] for record in selected.values()]

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Create missing ports; unless the node is deployed, delete and fix existing ones."""
        options = self.settings.processing
        interfaces: Interfaces = data.get("interfaces") or {}
        if options.add_ports != "disabled":
            create_ports(node, interfaces, options.update_pxe_enabled)
        if node.provision_state in DEPLOYED_STATES:
            LOG.info("Node %s is %s, leaving its existing ports alone",
                     node.uuid, node.provision_state)
            return
        expected = expected_macs(data, options.keep_ports)
        if expected is not None:
            delete_unexpected_ports(node, expected)
        if options.overwrite_existing and options.update_pxe_enabled:
            sync_pxe_enabled(node, interfaces)


def check_port_options(options: ProcessingSection) -> None:
    """Refuse ``add_ports=disabled`` with ``keep_ports=added`` (every port would go)."""
    if options.add_ports == "disabled" and options.keep_ports == "added":
        raise ConfigurationError(
            "Configuration error: add_ports set to disabled and keep_ports set to added. "
            "Please change keep_ports to all.")


# -- before_processing -----------------------------------------------------------------

def check_inventory_size(data: dict[str, Any], limit: int) -> None:
    """HookError when the inventory lists more than ``limit`` interfaces."""
    count = len(get_inventory(data)["interfaces"])
    if count > limit:
        raise HookError(interface_limit_message(count, limit))


def collect_interfaces(data: dict[str, Any]) -> Interfaces:
    """``all_interfaces``: every inventory NIC with a name and a valid MAC, by name."""
    pxe = pxe_mac(data)
    result: Interfaces = {}
    for iface in get_inventory(data)["interfaces"]:
        record = interface_record(iface, pxe)
        if record is not None:
            result[iface["name"]] = record
    if not result:
        raise HookError("No interfaces supplied by the ramdisk")
    return result


def interface_record(iface: Any, pxe: str | None) -> dict[str, Any] | None:
    """The stored form of one inventory interface, or None when it must be skipped."""
    if not isinstance(iface, dict) or not iface.get("name"):
        LOG.error("Skipping an interface without a name: %s", iface)
        return None
    mac = iface.get("mac_address")
    if not mac:
        LOG.debug("Skipping interface %s without a MAC address", iface["name"])
        return None
    if not is_valid_mac(mac):
        LOG.warning("Skipping interface %s with an invalid MAC address %r", iface["name"], mac)
        return None
    mac = mac.lower()
    return {"ip": interface_ip(iface), "mac": mac,
            "client_id": iface.get("client_id") or None, "pxe": mac == pxe}


def select_interfaces(all_interfaces: Interfaces, add_ports: str, pxe_known: bool,
                      needs_ip: bool = True) -> Interfaces:
    """The interfaces eligible for a port under ``add_ports``; fails when there are none.

    Out-of-band data (``needs_ip`` False) has no IP addresses: a BMC does not know the
    host's, so the address is not required there; the other rules hold."""
    mode = add_ports
    if mode == "pxe" and not pxe_known:
        LOG.warning("The ramdisk did not report the PXE boot interface, "
                    "selecting interfaces as with add_ports=active")
        mode = "active"
    selected = {name: record for name, record in all_interfaces.items()
                if is_eligible(name, record, mode, needs_ip)}
    if not selected:
        raise HookError(f"No suitable interfaces found in {all_interfaces}")
    return selected


def is_eligible(name: str, record: dict[str, Any], mode: str, needs_ip: bool = True) -> bool:
    """Whether one interface may get a port in selection ``mode`` (spec 5.4 step 3)."""
    if name == "lo" or is_loopback(record["ip"]):
        return False
    if mode == "all":
        return True
    if mode == "pxe" and not record["pxe"]:
        return False
    # "active", "disabled" and "pxe" all require an IP address (when the data can have one).
    return bool(record["ip"]) or not needs_ip


# -- before_update ---------------------------------------------------------------------

def create_ports(node: NodeChanges, interfaces: Interfaces, update_pxe_enabled: bool) -> None:
    """Create a port for every selected interface the node has no port for."""
    for record in interfaces.values():
        if record["mac"] in node.ports:
            LOG.warning("Port %s already exists for node %s, not creating it",
                        record["mac"], node.uuid)
            continue
        pxe_enabled = bool(record.get("pxe", True)) if update_pxe_enabled else True
        node.create_port(record["mac"], extra=port_extra(record), pxe_enabled=pxe_enabled)


def port_extra(record: dict[str, Any]) -> dict[str, Any]:
    """``{"client-id": ...}`` for InfiniBand interfaces, else empty."""
    return {"client-id": record["client_id"]} if record.get("client_id") else {}


def expected_macs(data: dict[str, Any], keep_ports: str) -> set[str] | None:
    """The MACs whose ports survive ``keep_ports``; None means keep every port."""
    if keep_ports == "present":
        return {record["mac"] for record in (data.get("all_interfaces") or {}).values()}
    if keep_ports == "added":
        return set(data.get("macs") or [])
    return None


def delete_unexpected_ports(node: NodeChanges, expected: set[str]) -> None:
    """Delete every port of the node whose address is not in ``expected``."""
    for address in list(node.ports):
        if address not in expected:
            LOG.info("Deleting port %s of node %s, its MAC is not among %s",
                     address, node.uuid, sorted(expected))
            node.delete_port(address)


def sync_pxe_enabled(node: NodeChanges, interfaces: Interfaces) -> None:
    """Make ``pxe_enabled`` of each selected interface's port match the data."""
    for record in interfaces.values():
        port = node.ports.get(record["mac"])
        flag = bool(record.get("pxe", True))
        if port is not None and port.get("pxe_enabled") != flag:
            LOG.info("Setting pxe_enabled=%s on port %s of node %s", flag, record["mac"], node.uuid)
            node.patch_port(record["mac"], [{"op": "replace", "path": "/pxe_enabled",
                                             "value": flag}])
