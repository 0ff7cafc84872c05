"""The ``enroll`` node-not-found hook: create unknown machines in Ironic (spec 4.5).

When ramdisk data matches no introspection, the machine is created in Ironic (in the
``enroll`` provision state) with the fields of ``[discovery]`` and its BMC address, and
processing continues on a fresh ``enrolling`` record. Machines that look already known to
Ironic (a MAC that is a port, a BMC address that a node has) are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from metalscope import inventory
from metalscope.bmc import resolve_bmc_addresses
from metalscope.coordination import NodeLock
from metalscope.errors import HookError, IronicError
from metalscope.settings import DiscoverySection, Settings
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord

if TYPE_CHECKING:
    from metalscope.services import Services

LOG = logging.getLogger(__name__)

#: ``[discovery]enabled_bmc_address_version`` item -> reader of that BMC address.
BMC_READERS: Mapping[str, Callable[[dict[str, Any]], str | None]] = MappingProxyType(
    {"4": inventory.bmc_v4, "6": inventory.bmc_v6})


class EnrollHook:
    """Creates the node in Ironic and an ``enrolling`` record for it, its lock held."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, data: dict[str, Any],
                       services: Services) -> tuple[NodeRecord, NodeLock] | None:
        """Enroll the machine; None when Ironic refuses it, HookError for duplicates."""
        fields = node_fields(data, self.settings.discovery)
        await refuse_duplicates(services, data, fields["driver_info"].get("ipmi_address"),
                                self.settings.default.ipmi_address_fields)
        # Rules can tell discovered nodes apart with data://auto_discovered.
        data["auto_discovered"] = True
        LOG.debug("Enrolling a discovered node with fields %s", fields)
        try:
            node = await services.ironic.create_node(**fields)
        except IronicError as exc:
            LOG.error("Ironic refused to create the discovered node: %s", exc)
            return None
        LOG.info("Enrolled discovered node %s", node["uuid"])
        return await open_enrolling_record(services, str(node["uuid"]))


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


async def refuse_duplicates(services: Services, data: dict[str, Any],
                            bmc_address: str | None, address_fields: list[str]) -> None:
    """Raise HookError when a reported MAC or the BMC address already belongs to Ironic."""
    macs = inventory.lookup_macs(data)
    if not macs:
        LOG.warning("No valid interfaces in the data of the discovered node; is the "
                    "validate_interfaces hook enabled?")
    for mac in macs:
        ports = await services.ironic.find_ports_by_address(mac)
        if ports:
            raise HookError(f"Port {mac} already exists, uuid: {ports[0].get('uuid')}")
    if bmc_address:
        await refuse_known_bmc(services, bmc_address, address_fields)


async def refuse_known_bmc(services: Services, bmc_address: str,
                           address_fields: list[str]) -> None:
    """Raise HookError when an Ironic node already has this BMC address (spec 4.1 rules)."""
    for node in await services.ironic.list_nodes(fields=["uuid", "driver_info"]):
        addresses = await resolve_bmc_addresses(node.get("driver_info") or {}, address_fields)
        if bmc_address in addresses:
            raise HookError(f"Node {node['uuid']} already has BMC address {bmc_address}")


async def open_enrolling_record(services: Services,
                                uuid: str) -> tuple[NodeRecord, NodeLock]:
    """Lock the new node and create its ``enrolling`` record (managed boot, no attributes)."""
    lock = await services.coordinator.acquire(uuid)
    if lock is None:
        raise HookError(f"Node {uuid} is locked, please, retry later")
    try:
        record = await services.repo.start_introspection(uuid, True, [], None, State.ENROLLING)
    except BaseException:
        await lock.release()
        raise
    return record, lock
