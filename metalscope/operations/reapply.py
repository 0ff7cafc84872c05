"""Reapply: processing run again on stored or given data (spec 2.4.9, 5.6).

The request saves a given body as the unprocessed data, takes the node lock without waiting
and moves the record to ``reapplying``; the hooks, rules and Ironic update then run in the
background, which holds the lock until the record is ``finished`` or ``error``.

With history kept, the rules' ``diff://`` fields compare the reapplied data with the version
before the latest one (the latest being the introspection's own). A reapply records no
version and changes none: the history keeps what each introspection saw, while the stored
processed data (``GET .../data``) and the fleet's hardware summary are the reapply's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from metalscope import log_context
from metalscope.coordination import HeldNode, take_lock
from metalscope.errors import (
    DataNotFound,
    HookError,
    IntrospectionNotFound,
    InvalidRequest,
    InvalidTransition,
    MetalScopeError,
    NodeLocked,
)
from metalscope.metrics import failure_reason
from metalscope.node_changes import NodeChanges
from metalscope.operations import history
from metalscope.operations.ironic_wait import IronicWait, introspection_deadline
from metalscope.operations.nodes import fail_record, resolve_uuid
from metalscope.operations.processing import (
    apply_rules_and_flush,
    hardware_summary,
    keep_processed,
    read_node,
    read_ports,
    run_before_processing,
    run_before_update,
    save_summary,
    without_logs,
)
from metalscope.services import Services
from metalscope.state_machine import Event, is_allowed
from metalscope.storage.repository import NodeRecord, utcnow

LOG = logging.getLogger(__name__)
REAPPLY_PREPROCESSING_FAILED = ("Pre-processing failures detected reapplying introspection on "
                                "stored data:\n")


async def reapply(svc: Services, node_id: str, body: dict[str, Any] | None) -> None:
    """Accept a reapply; the request is not held for the processing (202 at once)."""
    uuid = await resolve_uuid(svc, node_id)
    data = await _reapply_data(svc, uuid, body)
    if await svc.repo.get_node(uuid) is None:
        raise IntrospectionNotFound(uuid)
    held = await take_lock(svc.coordinator, uuid, blocking=False)
    if held is None:
        raise NodeLocked("Node locked, please, try again later")
    async with held:
        record = await _enter_reapplying(svc, uuid)
        if record is not None:
            svc.background.spawn(_reapply_in_background(svc, held.with_record(record), data),
                                 f"reapply-{uuid}")


async def _reapply_data(svc: Services, uuid: str, body: dict[str, Any] | None) -> dict[str, Any]:
    if body:
        # Stored first, and a store failure answers the request (Swift's 400), as upstream.
        await svc.data_store.save(uuid, False, body)
        return body
    if not svc.data_store.enabled:
        raise InvalidRequest("Inspector is not configured to store introspection data. Set the "
                             "[processing]store_data configuration option to change this.")
    text = await svc.data_store.get(uuid, False)
    if text is None:
        raise DataNotFound(uuid, False)
    return json.loads(text)  # type: ignore[no-any-return]


async def _enter_reapplying(svc: Services, uuid: str) -> NodeRecord | None:
    """``reapplying`` with ``started_at`` = now and the old ``finished_at`` kept (so the
    status still says finished, as upstream); None when the state does not allow a reapply
    (then nothing changes, as upstream's silent background no-op)."""
    record = await svc.repo.get_node(uuid)
    if record is None or not is_allowed(record.state, Event.REAPPLY):
        LOG.warning("Reapply of node %s ignored in state %s", uuid, record and record.state.value)
        return None
    return await svc.repo.transition(record, Event.REAPPLY, started_at=utcnow())


async def _reapply_in_background(svc: Services, held: HeldNode, data: dict[str, Any]) -> None:
    async with held:
        with log_context.bound(node=held.uuid), svc.metrics.processing_timer():
            await run_reapply(svc, held.record, data)


async def run_reapply(svc: Services, record: NodeRecord, data: dict[str, Any]) -> None:
    """Hooks, rules and the Ironic update for a record in ``reapplying`` (lock held by the
    caller); the record ends ``finished``, or ``error`` with the failure. An unreachable
    Ironic is waited for as long as the introspection may last (``[DEFAULT]timeout`` from
    the reapply's start)."""
    wait = IronicWait(introspection_deadline(svc.settings, record.started_at))
    processed: str | None = None
    changes: NodeChanges | None = None
    try:
        changes = await _prepare(svc, record.uuid, data, wait)
        processed = await keep_processed(svc, record.uuid, data)
        comparison = await history.compare_with_previous(
            svc, record, without_logs(data), changes.node.get("name"), reapply=True)
        _, matched = await apply_rules_and_flush(
            svc, await svc.repo.list_rules(), data, changes, wait,
            diff=comparison.document() if comparison else None)
        await save_summary(svc, record.uuid, changes.node.get("name"),
                           hardware_summary(data, matched))
        await svc.repo.settle(record, Event.FINISH, processed=processed)
        svc.metrics.introspection_finished()
        LOG.info("Reapply of node %s finished", record.uuid)
    except (MetalScopeError, InvalidTransition) as exc:
        await _summary_after_failure(svc, record.uuid, changes, data)
        await fail_record(svc, record, str(exc), processed=processed,
                          reason=failure_reason(exc))
    except Exception as exc:
        LOG.exception("Unexpected error while reapplying node %s", record.uuid)
        await _summary_after_failure(svc, record.uuid, changes, data)
        await fail_record(svc, record, f"Unexpected exception {type(exc).__name__} during "
                                       f"processing: {exc}", processed=processed)


async def _summary_after_failure(svc: Services, uuid: str, changes: NodeChanges | None,
                                 data: dict[str, Any]) -> None:
    """The hooks ran (``changes`` read): the fleet lists the hardware of the failed reapply."""
    if changes is not None:
        await save_summary(svc, uuid, changes.node.get("name"), hardware_summary(data))


async def _prepare(svc: Services, uuid: str, data: dict[str, Any],
                   wait: IronicWait) -> NodeChanges:
    """The hooks' first phase, the node read, the hooks' second phase."""
    failures = run_before_processing(svc, data)
    if failures:
        raise HookError(REAPPLY_PREPROCESSING_FAILED + "\n".join(failures))
    changes = NodeChanges(await read_node(svc, uuid, wait), await read_ports(svc, uuid, wait))
    run_before_update(svc, data, changes)
    return changes
