"""Data that matches no introspection: the active-node lookup, then the node_not_found_hook.

Both ask Ironic, so both are tried again while Ironic is unavailable (IronicUnavailable after
the callback's deadline). Whatever node they find, the record is opened here, under the
node's lock: a new ``waiting`` one for an active node (spec 4.4), a new ``enrolling`` one
(managed boot, no lookup attributes) for the node the hook returns (spec 4.5).
"""

from __future__ import annotations

import logging
from typing import Any

from metalscope import inventory
from metalscope.bmc import resolve_bmc_addresses
from metalscope.coordination import HeldNode, take_lock
from metalscope.errors import LookupFailed, NodeNotFoundInLookup
from metalscope.operations.ironic_wait import IronicUnavailable, IronicWait
from metalscope.operations.lookup import LOOKUP_LOCK_WAIT, NoNode
from metalscope.processing_hooks.spec import NodeNotFoundHook
from metalscope.services import Services
from metalscope.state_machine import State

LOG = logging.getLogger(__name__)


async def find_unknown(svc: Services, data: dict[str, Any], not_found: NodeNotFoundInLookup,
                       wait: IronicWait) -> HeldNode | NoNode:
    """An active node, or the hook's node, locked with a fresh record; else NoNode."""
    if svc.settings.processing.permit_active_introspection:
        try:
            found = await wait.call(lambda: find_active_node(svc, data),
                                    "looking up an active node")
        except LookupFailed as error:  # aggregated, unlike upstream (Q-LOOK-1)
            return NoNode(f"Look up error: {error}")
        if found is not None:
            return found
    hook: NodeNotFoundHook | None = svc.extensions.not_found_hook
    if hook is None:
        return NoNode(f"Look up error: {not_found}")
    return await _run_hook(svc, hook, data, wait)


async def _run_hook(svc: Services, hook: NodeNotFoundHook, data: dict[str, Any],
                    wait: IronicWait) -> HeldNode | NoNode:
    try:
        uuid = await wait.call(lambda: hook(data, svc.ironic), "running the node_not_found_hook")
        if uuid is None:
            return NoNode("Node not found hook returned nothing")
        return await open_enrolling_record(svc, uuid)
    except IronicUnavailable:
        raise
    except Exception as error:
        LOG.exception("The node_not_found_hook failed")
        return NoNode(f"Node not found hook failed: {error}")


async def open_enrolling_record(svc: Services, uuid: str) -> HeldNode:
    """Lock the node and create its ``enrolling`` record (managed boot, no attributes)."""
    held = await take_lock(svc.coordinator, uuid)
    if held is None:
        raise LookupFailed(f"Node {uuid} is locked, please, retry later")
    async with held:
        record = await svc.repo.start_introspection(uuid, True, [], None, State.ENROLLING)
        return held.with_record(record)


async def find_active_node(svc: Services, data: dict[str, Any]) -> HeldNode | None:
    """Active-node introspection: look the node up in Ironic and open a record (spec 4.4)."""
    macs, bmcs = inventory.lookup_macs(data), inventory.bmc_addresses(data)
    if not macs and not bmcs:
        return None
    by_mac = await _node_by_macs(svc, macs)
    by_bmc = await _node_by_bmc(svc, bmcs)
    if by_mac and by_bmc and by_mac != by_bmc:
        raise LookupFailed(f"MAC addresses {macs} and BMC addresses {bmcs} correspond to "
                           f"different nodes: {by_mac} and {by_bmc}")
    uuid = by_mac or by_bmc
    if uuid is None:
        return None
    node = await svc.ironic.get_node(uuid, fields=["uuid", "provision_state"])
    if node.get("provision_state") not in ("active", "rescue"):
        raise LookupFailed(f"Node {uuid} is not active, its provision state is "
                           f"{node.get('provision_state')}")
    return await _open_active_record(svc, uuid, macs, bmcs)


async def _open_active_record(svc: Services, uuid: str, macs: list[str],
                              bmcs: list[str]) -> HeldNode:
    held = await take_lock(svc.coordinator, uuid, timeout=LOOKUP_LOCK_WAIT)
    if held is None:
        raise LookupFailed(f"Node {uuid} is locked, please, retry later")
    async with held:
        previous = await svc.repo.get_node(uuid)
        record = await svc.repo.start_introspection(uuid, False, bmcs, previous, State.WAITING)
        await svc.repo.add_attributes(uuid, "mac", macs)
        return held.with_record(record)


async def _node_by_macs(svc: Services, macs: list[str]) -> str | None:
    nodes: set[str] = set()
    for mac in macs:
        nodes.update(p["node_uuid"] for p in await svc.ironic.find_ports_by_address(mac))
    if len(nodes) > 1:
        raise LookupFailed(f"MAC addresses {macs} correspond to more than one node: "
                           f"{sorted(nodes)}")
    return nodes.pop() if nodes else None


async def _node_by_bmc(svc: Services, bmcs: list[str]) -> str | None:
    if not bmcs:
        return None
    found: set[str] = set()
    for node in await svc.ironic.list_nodes(fields=["uuid", "driver_info"]):
        addresses = await resolve_bmc_addresses(node.get("driver_info") or {},
                                                svc.settings.default.ipmi_address_fields)
        if set(addresses) & set(bmcs):
            found.add(node["uuid"])
    if len(found) > 1:
        raise LookupFailed(f"BMC addresses {bmcs} correspond to more than one node: "
                           f"{sorted(found)}")
    return found.pop() if found else None
