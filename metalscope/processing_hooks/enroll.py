"""The ``enroll`` node-not-found hook: create unknown machines in Ironic (spec 4.5).

When ramdisk data matches no introspection, the machine is created in Ironic (in the
``enroll`` provision state) with the fields of ``[discovery]`` and its BMC address; the
hook returns its UUID and processing continues on a fresh ``enrolling`` record. Machines
that look already known to Ironic (a MAC that is a port, a BMC address that a node has) are
refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from metalscope import inventory
from metalscope.bmc import resolve_bmc_addresses
from metalscope.errors import HookError, IronicError
from metalscope.settings import DiscoverySection, Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)

#: ``[discovery]enabled_bmc_address_version`` item -> reader of that BMC address.
BMC_READERS: Mapping[str, Callable[[dict[str, Any]], str | None]] = MappingProxyType(
    {"4": inventory.bmc_v4, "6": inventory.bmc_v6})


class EnrollHook:
    """Creates the node in Ironic and returns its UUID."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, data: dict[str, Any], ironic: IronicClient) -> str | None:
        """Enroll the machine; None when Ironic refuses it, HookError for duplicates."""
        fields = node_fields(data, self.settings.discovery)
        await refuse_duplicates(ironic, data, fields["driver_info"].get("ipmi_address"),
                                self.settings.default.ipmi_address_fields)
        # Rules can tell discovered nodes apart with data://auto_discovered.
        data["auto_discovered"] = True
        LOG.debug("Enrolling a discovered node with fields %s", fields)
        try:
            node = await ironic.create_node(**fields)
        except IronicError as exc:
            LOG.error("Ironic refused to create the discovered node: %s", exc)
            return None
        LOG.info("Enrolled discovered node %s", node["uuid"])
        return str(node["uuid"])


def node_fields(data: dict[str, Any], discovery: DiscoverySection) -> dict[str, Any]:
    """The create request: ``enroll_node_fields``, the driver and ``driver_info``.

    Ironic decides the initial provision state (``enroll`` at the microversion the client
    negotiates), so a configured ``provision_state`` is dropped rather than sent.
    """
    fields: dict[str, Any] = dict(discovery.enroll_node_fields)
    fields.pop("provision_state", None)
    fields["driver"] = discovery.enroll_node_driver
    fields["driver_info"] = driver_info(data, discovery.enabled_bmc_address_version)
    return fields


def driver_info(data: dict[str, Any], versions: list[str]) -> dict[str, Any]:
    """``{"ipmi_address": ...}`` from the first BMC address version that the data has."""
    for version in versions:
        reader = BMC_READERS.get(version.strip())
        address = reader(data) if reader is not None else None
        if address:
            return {"ipmi_address": address}
    LOG.warning("No BMC address was reported, the discovered node is created without one")
    return {}


async def refuse_duplicates(ironic: IronicClient, data: dict[str, Any],
                            bmc_address: str | None, address_fields: list[str]) -> None:
    """Raise HookError when a reported MAC or the BMC address already belongs to Ironic."""
    macs = inventory.lookup_macs(data)
    if not macs:
        LOG.warning("No valid interfaces in the data of the discovered node; is the "
                    "validate_interfaces hook enabled?")
    for mac in macs:
        ports = await ironic.find_ports_by_address(mac)
        if ports:
            raise HookError(f"Port {mac} already exists, uuid: {ports[0].get('uuid')}")
    if bmc_address:
        await refuse_known_bmc(ironic, bmc_address, address_fields)


async def refuse_known_bmc(ironic: IronicClient, bmc_address: str,
                           address_fields: list[str]) -> None:
    """Raise HookError when an Ironic node already has this BMC address (spec 4.1 rules)."""
    for node in await ironic.list_nodes(fields=["uuid", "driver_info"]):
        addresses = await resolve_bmc_addresses(node.get("driver_info") or {}, address_fields)
        if bmc_address in addresses:
            raise HookError(f"Node {node['uuid']} already has BMC address {bmc_address}")
