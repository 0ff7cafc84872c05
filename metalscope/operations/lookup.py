"""Finding the introspection that incoming ramdisk data belongs to (spec section 4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from metalscope import inventory
from metalscope.coordination import HeldNode, take_lock
from metalscope.errors import LookupFailed, NodeNotFoundInLookup
from metalscope.operations import repeats
from metalscope.operations.repeats import Repeated
from metalscope.services import Services

LOG = logging.getLogger(__name__)

#: How long a callback waits for a node lock (held by a boot sequence or a previous callback).
LOOKUP_LOCK_WAIT = 120.0


@dataclass(frozen=True)
class NoNode:
    """No node to process the data with; ``reason`` is the line the 400 answer reports."""

    reason: str


def lookup_attributes(data: dict[str, Any]) -> dict[str, list[str]]:
    return {"bmc_address": inventory.bmc_addresses(data), "mac": inventory.lookup_macs(data)}


async def find_introspection(svc: Services, data: dict[str, Any],
                             digest: str | None = None) -> HeldNode | Repeated:
    """Score records by matching attributes, lock the winner and check it is in progress.

    Raises NodeNotFoundInLookup when nothing matches, LookupFailed for any other failure.
    """
    inventory.check_interface_count(data, svc.settings.processing.max_interfaces)
    wanted = {k: v for k, v in lookup_attributes(data).items() if v}
    scores = await svc.repo.score_by_attributes(wanted)
    if not scores:
        raise NodeNotFoundInLookup(f"Could not find a node for attributes {wanted!r}")
    best = max(scores.values())
    winners = sorted(uuid for uuid, score in scores.items() if score == best)
    if len(winners) > 1:
        raise LookupFailed(f"Multiple nodes match the same number of attributes {wanted!r}: "
                           f"{winners!r}")
    return await lock_unfinished(svc, winners[0], digest)


async def lock_unfinished(svc: Services, uuid: str,
                          digest: str | None = None) -> HeldNode | Repeated:
    """The node's lock and its unfinished record; for a finished one, a Repeated when this
    is a copy of the callback that finished it (a copy that waited behind the first),
    else LookupFailed."""
    held = await take_lock(svc.coordinator, uuid, timeout=LOOKUP_LOCK_WAIT)
    if held is None:
        raise LookupFailed(f"Node {uuid} is locked, please, retry later")
    async with held:
        record = await svc.repo.get_node(uuid)
        if record is not None and not record.finished:
            return held.with_record(record)
    if record is None:
        raise LookupFailed(f"Could not find node {uuid} in introspection cache, "
                           "probably it's not on introspection now")
    repeated = await repeats.repeat_of(svc, record, digest)
    if repeated is not None:
        return repeated
    raise LookupFailed(f"Introspection for node {uuid} already finished on "
                       f"{record.finished_at.isoformat() if record.finished_at else ''}")
