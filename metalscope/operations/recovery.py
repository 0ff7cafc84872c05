"""Finishing introspections whose instance stopped while working on them, and callbacks
deferred while Ironic was unreachable whose ramdisk gave up.

A record stays in ``starting``, ``processing``, ``reapplying``, ``aborting`` or
``enrolling`` only while an instance holds the node's lock. A record in one of those
states whose lock is free was therefore left behind by an instance that died (killed,
crashed, lost its host). :func:`recover` brings each such record to a reported end:

* ``processing`` — processed again from its stored unprocessed data (so it ends
  ``finished`` as it would have), or ``error`` when no data was stored;
* ``reapplying`` — the reapply runs again from the stored data;
* ``aborting`` — the abort completes (``error``, "Canceled by operator");
* ``starting`` and ``enrolling`` — ``error`` with the reason: nothing booted the node
  for sure, so the operator starts it again;
* an out-of-band introspection ``waiting`` (its collection runs under the node lock) —
  ``error`` naming the interruption: nothing was collected, so it is started again
  rather than resumed (:func:`~metalscope.operations.out_of_band.fail_interrupted`).

Ramdisk retries of the same callback are handled on ``/v1/continue`` (``repeats``); this
is the safety net for callbacks that were already answered and for the other states.

A callback that could not reach Ironic leaves its record ``waiting`` with its callback row
(dated when it was deferred) and, when data is stored, its unprocessed data.
:func:`recover_deferred` processes such a record from that data once Ironic answers, if the
ramdisk has not posted again for ``RAMDISK_RETRY_GAP`` seconds. Without stored data
(``store_data = none``) only the ramdisk's retries can complete it.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from metalscope.coordination import HeldLock, HeldNode, take_lock
from metalscope.errors import MetalScopeError
from metalscope.metrics import FailureReason
from metalscope.operations import callback, introspect, out_of_band, reapply
from metalscope.operations.ironic_wait import IronicUnavailable, is_unavailable
from metalscope.operations.nodes import fail_record
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import WORKING_STATES, NodeRecord, utcnow

LOG = logging.getLogger(__name__)
INTERRUPTED = ("Introspection was interrupted in state {state}: the MetalScope instance working "
               "on it stopped")
#: Seconds after a callback was deferred (answered 503) during which its ramdisk is expected
#: to post again: IPA waits at most 30 s between its attempts.
RAMDISK_RETRY_GAP = 30.0


async def recover_interrupted(svc: Services) -> int:
    """Recover every record left in a working state with a free lock; return how many."""
    recovered = 0
    for candidate in await svc.repo.unsettled():
        held = await take_lock(svc.coordinator, candidate.uuid, blocking=False)
        if held is None:
            continue  # an instance is working on it
        async with held:
            record = await svc.repo.get_node(candidate.uuid)
            if record is None or record.state not in WORKING_STATES:
                continue
            LOG.warning("Node %s was left in state %s by a stopped instance; recovering it",
                        record.uuid, record.state.value)
            try:
                await recover(svc, held.with_record(record))
            except IronicUnavailable:
                LOG.warning("Node %s waits for Ironic, which is unreachable", record.uuid)
            except MetalScopeError as exc:
                LOG.error("Recovering node %s ended in error: %s", record.uuid, exc)
        recovered += 1
    return recovered + await out_of_band.fail_interrupted(svc)


async def recover_deferred(svc: Services, grace: float = RAMDISK_RETRY_GAP) -> int:
    """Process the deferred callbacks whose ramdisk has not posted again for ``grace``
    seconds, from their stored data, if Ironic answers; return how many were processed.

    Each record is checked again under its lock, so a callback that came in the meantime
    (and processed the node, or was deferred again) is not processed a second time. The
    round stops when Ironic becomes unreachable again.
    """
    if not svc.data_store.enabled:
        return 0
    threshold = utcnow() - datetime.timedelta(seconds=grace)
    candidates = await svc.repo.deferred_before(threshold)
    if not candidates or not await _ironic_answers(svc, candidates[0].uuid):
        return 0
    processed = 0
    for candidate in candidates:
        held = await take_lock(svc.coordinator, candidate.uuid, blocking=False)
        if held is None:
            continue  # a callback is being processed
        try:
            processed += await _resume_deferred(svc, held, threshold)
        except IronicUnavailable:
            LOG.warning("Ironic became unreachable again; deferred callbacks wait")
            break
        except MetalScopeError as exc:
            LOG.error("Processing the deferred callback of node %s failed: %s",
                      candidate.uuid, exc)
            processed += 1
    return processed


async def _ironic_answers(svc: Services, uuid: str) -> bool:
    try:
        await svc.ironic.get_node(uuid, fields=["uuid"])
    except MetalScopeError as exc:
        if is_unavailable(exc):
            LOG.info("Deferred callbacks wait: Ironic is unreachable (%s)", exc)
            return False
    return True


async def _resume_deferred(svc: Services, held: HeldLock, threshold: datetime.datetime) -> int:
    """Process one deferred callback from its stored data (takes over the lock)."""
    async with held:
        stored = None
        if await svc.repo.deferred_before(threshold, held.uuid):
            stored = await _stored_data(svc, held.uuid)
        record = await svc.repo.get_node(held.uuid)
        if stored is None or record is None or record.state is not State.WAITING:
            return 0
        LOG.warning("The ramdisk of node %s did not post again after Ironic was unreachable; "
                    "processing its stored data", held.uuid)
        await callback.resume_processing(svc, held.with_record(record), stored)
    return 1


async def recover(svc: Services, held: HeldNode) -> None:
    """Bring one interrupted record to an end; takes over (and releases) the lock."""
    record = held.record
    async with held:
        if record.state is State.PROCESSING:
            stored = await _stored_data(svc, record.uuid)
            if stored is not None:
                await callback.resume_processing(svc, held.hand_off(), stored)
                return
        await _settle(svc, record)


async def _settle(svc: Services, record: NodeRecord) -> None:
    if record.state is State.REAPPLYING:
        stored = await _stored_data(svc, record.uuid)
        if stored is not None:
            await reapply.run_reapply(svc, record, stored)
            return
    if record.state is State.ABORTING:
        await introspect.complete_abort(svc, record)
        return
    reason = INTERRUPTED.format(state=record.state.value)
    if record.state in (State.PROCESSING, State.REAPPLYING):
        reason += "; no stored introspection data to resume from"
    await fail_record(svc, record, reason, reason=FailureReason.INTERRUPTED)


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
