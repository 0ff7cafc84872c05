"""Finding the introspection that incoming ramdisk data belongs to (spec section 4)."""

from __future__ import annotations

import datetime
import logging
from typing import Any

from metalscope import inventory
from metalscope.bmc import resolve_bmc_addresses
from metalscope.coordination import NodeLock
from metalscope.errors import LookupFailed, NodeNotFoundInLookup
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord, utcnow

LOG = logging.getLogger(__name__)

#: How long a callback waits for a node lock (held by a boot sequence or a previous callback).
LOOKUP_LOCK_WAIT = 120.0


def lookup_attributes(data: dict[str, Any]) -> dict[str, list[str]]:
    return {"bmc_address": inventory.bmc_addresses(data), "mac": inventory.lookup_macs(data)}


class RepeatedCallback(Exception):
    """The callback's very body was processed to the end already (a ramdisk retry)."""

    def __init__(self, record: NodeRecord) -> None:
        super().__init__(record.uuid)
        self.record = record


def retry_window_open(record: NodeRecord, window: int,
                      now: datetime.datetime | None = None) -> bool:
    """Whether a retry of the callback that finished ``record`` is still answered as that
    callback was: within ``window`` seconds (``[processing]ramdisk_retry_window``, 0 =
    never) of ``finished_at``, bounds included. Later, it gets upstream's answer."""
    if window <= 0 or record.finished_at is None:
        return False
    elapsed = (now or utcnow()) - record.finished_at
    return elapsed <= datetime.timedelta(seconds=window)


async def check_repeated(svc: Services, record: NodeRecord, digest: str | None) -> None:
    """Raise RepeatedCallback when ``digest`` is that of the callback that finished
    ``record`` and the retry window is still open."""
    if (digest is not None and record.finished
            and retry_window_open(record, svc.settings.processing.ramdisk_retry_window)
            and await svc.repo.callback_node(digest) == record.uuid):
        raise RepeatedCallback(record)


async def find_introspection(svc: Services, data: dict[str, Any],
                             digest: str | None = None) -> tuple[NodeRecord, NodeLock]:
    """Score records by matching attributes, lock the winner and check it is in progress."""
    inventory.check_interface_count(data, svc.settings.processing.max_interfaces)
    wanted = {k: v for k, v in lookup_attributes(data).items() if v}
    scores = await svc.repo.score_by_attributes(wanted)
    if not scores:
        raise NodeNotFoundInLookup(f"Could not find a node for attributes {wanted!r}")
    best = max(scores.values())
    winners = sorted(uuid for uuid, score in scores.items() if score == best)
    if len(winners) > 1:
        raise LookupFailed(f"Multiple nodes match the same number of attributes {wanted!r}: {winners!r}")
    return await lock_unfinished(svc, winners[0], digest)


async def lock_unfinished(svc: Services, uuid: str,
                          digest: str | None = None) -> tuple[NodeRecord, NodeLock]:
    lock = await svc.coordinator.acquire(uuid, timeout=LOOKUP_LOCK_WAIT)
    if lock is None:
        raise LookupFailed(f"Node {uuid} is locked, please, retry later")
    record = await svc.repo.get_node(uuid)
    if record is None:
        await lock.release()
        raise LookupFailed(f"Could not find node {uuid} in introspection cache, "
                           "probably it's not on introspection now")
    if record.finished:
        await lock.release()
        await check_repeated(svc, record, digest)  # a copy that waited behind the first
        raise LookupFailed(f"Introspection for node {uuid} already finished on "
                           f"{record.finished_at.isoformat() if record.finished_at else ''}")
    return record, lock


async def find_active_node(svc: Services, data: dict[str, Any]) -> tuple[NodeRecord, NodeLock] | None:
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
                              bmcs: list[str]) -> tuple[NodeRecord, NodeLock]:
    lock = await svc.coordinator.acquire(uuid, timeout=LOOKUP_LOCK_WAIT)
    if lock is None:
        raise LookupFailed(f"Node {uuid} is locked, please, retry later")
    try:
        previous = await svc.repo.get_node(uuid)
        record = await svc.repo.start_introspection(uuid, False, bmcs, previous, State.WAITING)
        await svc.repo.add_attributes(uuid, "mac", macs)
    except BaseException:
        await lock.release()
        raise
    return record, lock


async def _node_by_macs(svc: Services, macs: list[str]) -> str | None:
    nodes: set[str] = set()
    for mac in macs:
        nodes.update(p["node_uuid"] for p in await svc.ironic.find_ports_by_address(mac))
    if len(nodes) > 1:
        raise LookupFailed(f"MAC addresses {macs} correspond to more than one node: {sorted(nodes)}")
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
        raise LookupFailed(f"BMC addresses {bmcs} correspond to more than one node: {sorted(found)}")
    return found.pop() if found else None
