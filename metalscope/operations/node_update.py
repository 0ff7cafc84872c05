"""Sending a NodeChanges to Ironic: one node PATCH, then traits and ports.

Every call may be repeated by the client after a lost answer (the idempotent ones as they
are, the node and port PATCHes and the port creation after reading Ironic back, see
``ironic_reconcile.py``), so the outcomes a repetition can meet count as done here: a port
already deleted (404), a trait already removed (404, in the client).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from metalscope.errors import IronicError
from metalscope.node_changes import NodeChanges

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)


async def flush_changes(ironic: IronicClient, changes: NodeChanges) -> None:
    """Apply and clear the pending edits; port conflicts are logged and skipped (spec 5.4)."""
    pending = changes.pending
    uuid = changes.uuid
    if pending.node_patch:
        await ironic.patch_node(uuid, pending.node_patch, reset_interfaces=pending.reset_interfaces)
    for trait in pending.traits_added:
        await ironic.add_trait(uuid, trait)
    for trait in pending.traits_removed:
        await ironic.remove_trait(uuid, trait)
    for port_uuid in pending.ports_deleted:
        await _delete_port(ironic, port_uuid)
    for port in pending.ports_created:
        created = await _create_port(ironic, uuid, port.address, port.extra, port.pxe_enabled)
        if created is not None and port.ops:
            await _patch_port(ironic, created["uuid"], port.ops)
    for port_uuid, ops in pending.ports_patched.items():
        await _patch_port(ironic, port_uuid, ops)
    changes.pending = type(pending)()


async def _delete_port(ironic: IronicClient, port_uuid: str) -> None:
    """Delete a port; one already gone is fine (a DELETE repeated because its first answer
    was lost meets a 404)."""
    try:
        await ironic.delete_port(port_uuid)
    except IronicError as exc:
        if exc.status != 404:
            raise
        LOG.debug("Port %s was already deleted", port_uuid)


async def _create_port(ironic: IronicClient, uuid: str, address: str, extra: dict[str, object],
                       pxe_enabled: bool) -> dict[str, Any] | None:
    """The created port, or None when its MAC belongs to another node (409)."""
    try:
        return await ironic.create_port(uuid, address, extra, pxe_enabled)
    except IronicError as exc:
        if exc.status != 409:
            raise
        LOG.warning("Port %s of node %s was not created, its MAC is already in use: %s",
                    address, uuid, exc)
        return None


async def _patch_port(ironic: IronicClient, port_uuid: str, ops: list[dict[str, object]]) -> None:
    try:
        await ironic.patch_port(port_uuid, ops)
    except IronicError as exc:
        if exc.status != 400:
            raise
        LOG.warning("Ironic refused to update port %s: %s", port_uuid, exc)
