"""Finishing introspections whose instance stopped while working on them.

A record stays in ``starting``, ``processing``, ``reapplying``, ``aborting`` or
``enrolling`` only while an instance holds the node's lock. A record in one of those
states whose lock is free was therefore left behind by an instance that died (killed,
crashed, lost its host). :func:`recover` brings each such record to a reported end:

* ``processing`` — processed again from its stored unprocessed data (so it ends
  ``finished`` as it would have), or ``error`` when no data was stored;
* ``reapplying`` — the reapply runs again from the stored data;
* ``aborting`` — the abort completes (``error``, "Canceled by operator");
* ``starting`` and ``enrolling`` — ``error`` with the reason: nothing booted the node
  for sure, so the operator starts it again.

Ramdisk retries of the same callback are handled on ``/v1/continue`` (``process``); this
is the safety net for callbacks that were already answered and for the other states.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from metalscope.coordination import NodeLock
from metalscope.errors import MetalScopeError
from metalscope.operations import introspect, process
from metalscope.operations.nodes import fail_record
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import WORKING_STATES, NodeRecord

LOG = logging.getLogger(__name__)
INTERRUPTED = ("Introspection was interrupted in state {state}: the MetalScope instance working "
               "on it stopped")


async def recover_interrupted(svc: Services) -> int:
    """Recover every record left in a working state with a free lock; return how many."""
    recovered = 0
    for candidate in await svc.repo.unsettled():
        lock = await svc.coordinator.acquire(candidate.uuid, blocking=False)
        if lock is None:
            continue  # an instance is working on it
        record = await svc.repo.get_node(candidate.uuid)
        if record is None or record.state not in WORKING_STATES:
            await lock.release()
            continue
        LOG.warning("Node %s was left in state %s by a stopped instance; recovering it",
                    record.uuid, record.state.value)
        try:
            await recover(svc, record, lock)
        except MetalScopeError as exc:
            LOG.error("Recovering node %s ended in error: %s", record.uuid, exc)
        recovered += 1
    return recovered


async def recover(svc: Services, record: NodeRecord, lock: NodeLock) -> None:
    """Bring one interrupted record to an end; takes over (and releases) ``lock``."""
    if record.state is State.PROCESSING:
        stored = await _stored_data(svc, record.uuid)
        if stored is not None:
            await process.resume_processing(svc, record, lock, stored)
            return
    try:
        await _settle(svc, record)
    finally:
        await lock.release()


async def _settle(svc: Services, record: NodeRecord) -> None:
    if record.state is State.REAPPLYING:
        stored = await _stored_data(svc, record.uuid)
        if stored is not None:
            await process.run_reapply(svc, record, stored)
            return
    if record.state is State.ABORTING:
        await introspect.complete_abort(svc, record)
        return
    reason = INTERRUPTED.format(state=record.state.value)
    if record.state in (State.PROCESSING, State.REAPPLYING):
        reason += "; no stored introspection data to resume from"
    await fail_record(svc, record, reason)


async def _stored_data(svc: Services, uuid: str) -> dict[str, Any] | None:
    if not svc.data_store.enabled:
        return None
    try:
        text = await svc.data_store.get(uuid, False)
    except MetalScopeError as exc:
        LOG.warning("Cannot read the stored data of node %s: %s", uuid, exc)
        return None
    if text is None:
        return None
    data = json.loads(text)
    return data if isinstance(data, dict) else None
