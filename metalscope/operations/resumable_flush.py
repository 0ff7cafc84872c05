"""Sending a NodeChanges to an Ironic that may drop away half-way.

``flush_changes`` sends the node PATCH, then trait and port calls. When Ironic becomes
unreachable in between, some of them were applied and some not, and the one in flight may
have been applied or not. Sending the same edits again could fail where the first try
succeeded (a second ``remove`` of a property, a second delete of a port) or send a PATCH
that changes nothing. So each new try reads the node and its ports again and sends only the
edits they do not show yet (:func:`rebase`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from metalscope.errors import IronicError
from metalscope.json_patch import find
from metalscope.node_changes import NodeChanges, PendingChanges, normalize_path
from metalscope.operations.ironic_wait import IronicWait, is_unavailable
from metalscope.operations.node_update import flush_changes

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient


async def flush(ironic: IronicClient, changes: NodeChanges, wait: IronicWait) -> NodeChanges:
    """Send ``changes``, trying again while Ironic is unavailable; returns the changes that
    were sent last (a fresh snapshot after a retry), every edit applied."""
    while True:
        try:
            await wait.attempt(functools.partial(flush_changes, ironic, changes))
            return changes
        except IronicError as exc:
            if not is_unavailable(exc):
                raise
            await wait.pause(exc, f"updating node {changes.uuid}")
        node = await wait.call(functools.partial(ironic.get_node, changes.uuid),
                               "reading the node again")
        ports = await wait.call(functools.partial(ironic.list_node_ports, changes.uuid),
                                "reading the node's ports again")
        changes = rebase(changes.pending, node, ports)


def rebase(pending: PendingChanges, node: dict[str, Any],
           ports: list[dict[str, Any]]) -> NodeChanges:
    """A snapshot of ``node`` and ``ports`` as Ironic has them now, with the edits of
    ``pending`` that they do not show yet."""
    fresh = NodeChanges(node, ports)
    ops = [op for op in pending.node_patch
           if op["op"] != "remove" or find(fresh.node, normalize_path(op["path"]))[0]]
    fresh.patch(ops, pending.reset_interfaces)
    for trait in pending.traits_added:
        fresh.add_trait(trait)
    for trait in pending.traits_removed:
        fresh.remove_trait(trait)
    _rebase_ports(fresh, pending)
    return fresh


def _rebase_ports(fresh: NodeChanges, pending: PendingChanges) -> None:
    address_of = {port["uuid"]: address for address, port in fresh.ports.items()}
    for port_uuid in pending.ports_deleted:
        if port_uuid in address_of:
            fresh.delete_port(address_of[port_uuid])
    for created in pending.ports_created:
        if created.address in fresh.ports:  # created before Ironic went away
            fresh.patch_port(created.address, [
                {"op": "add", "path": "/extra", "value": created.extra},
                {"op": "add", "path": "/pxe_enabled", "value": created.pxe_enabled},
                *created.ops])
        else:
            fresh.create_port(created.address, created.extra, created.pxe_enabled)
            fresh.patch_port(created.address, created.ops)
    for port_uuid, ops in pending.ports_patched.items():
        if port_uuid in address_of and address_of[port_uuid] in fresh.ports:
            fresh.patch_port(address_of[port_uuid], ops)
