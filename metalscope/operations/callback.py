"""``/v1/continue``: ramdisk data through hooks, lookup, storage, rules and the Ironic
update (spec 5.1), as a straight pipeline of steps that return values.

A callback's answer is the node UUID or a :class:`Rejected` value; the one place that raises
a rejection is :func:`continue_introspection` (and :func:`resume_processing`). An
unreachable Ironic (IronicUnavailable) and a full database (DatabaseFull) are not answers
of the processing: they propagate as 503, the node left ``waiting`` for the retry.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from metalscope import log_context
from metalscope.coordination import HeldNode
from metalscope.errors import (
    InvalidTransition,
    LookupFailed,
    MetalScopeError,
    NodeNotFoundInLookup,
    ProcessingFailed,
    StateConflict,
    UnexpectedProcessingError,
)
from metalscope.metrics import FailureReason, failure_reason
from metalscope.node_changes import NodeChanges
from metalscope.operations import finish, history, lookup, not_found, repeats
from metalscope.operations.ironic_wait import (
    Deadline,
    IronicUnavailable,
    IronicWait,
    callback_deadline,
)
from metalscope.operations.lookup import NoNode
from metalscope.operations.nodes import check_provision_state, fail_record
from metalscope.operations.processing import (
    apply_rules_and_flush,
    data_text,
    hardware_summary,
    keep_processed_data,
    read_node,
    read_ports,
    run_before_processing,
    run_before_update,
    save_data,
    save_logs,
    save_summary,
    without_logs,
)
from metalscope.operations.repeats import Repeated
from metalscope.rules.model import Rule
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord
from metalscope.storage.transactions import DatabaseFull

LOG = logging.getLogger(__name__)
PREPROCESSING_FAILED = "The following failures happened during running pre-processing hooks:\n"


@dataclass(frozen=True)
class Callback:
    """One ramdisk callback, as received."""

    #: The ramdisk data; the hooks change it in place.
    data: dict[str, Any]
    #: The body's digest (None when processing resumes from stored data).
    digest: str | None
    #: The data as received, JSON text, when data is stored (taken before the hooks run).
    unprocessed: str | None
    #: Until when Ironic is waited for.
    deadline: Deadline
    #: Where the data comes from: ``inband`` (the ramdisk) or ``redfish`` (out of band,
    #: :mod:`~metalscope.operations.out_of_band`); the history version's source.
    source: str = history.SOURCE


@dataclass(frozen=True)
class Rejected:
    """The callback is answered with ``error`` (the node, if found, ends in ``error``)."""

    error: MetalScopeError


@dataclass(frozen=True)
class _Prepared:
    record: NodeRecord
    rules: list[Rule]
    changes: NodeChanges
    keep_power_on: bool


async def continue_introspection(svc: Services, data: dict[str, Any],
                                 digest: str | None = None) -> str:
    """Process ramdisk data; return the node UUID or raise (the node then ends in error).

    With the body's ``digest``, a retry of a callback already taken is recognised, on any
    instance (:mod:`~metalscope.operations.repeats`): it is answered as the first one was
    (within ``[processing]ramdisk_retry_window`` seconds of the node's end; later it gets
    upstream's lookup failure), or, when the instance processing it stopped half-way,
    processing resumes from this copy of the data. An introspection waiting for these MACs
    or BMC always comes first: only data that no longer finds a node is checked against
    the digests.

    Ironic is waited for up to ``[processing]ironic_wait`` seconds from now; after that,
    IronicUnavailable (503) is raised and the node, if found, waits for the retry.
    """
    # The unprocessed copy is taken before the hooks change ``data``; not serialised at
    # all when nothing is stored.
    unprocessed = data_text(data) if svc.data_store.enabled else None
    callback = Callback(data, digest, unprocessed, callback_deadline(svc.settings))
    return _given(await _answer(svc, callback))


async def resume_processing(svc: Services, held: HeldNode, data: dict[str, Any]) -> str:
    """Process an interrupted or deferred record again from its stored unprocessed ``data``
    (which the hooks change in place, as they change a callback's data); takes over the
    lock of ``held`` (released when done, as for a callback)."""
    callback = Callback(data, None, None, callback_deadline(svc.settings))
    failures = run_before_processing(svc, data)
    if failures:
        return _given(await _reject_preprocessing(svc, callback, failures, held))
    async with held:
        return _given(await _process(svc, callback, held, IronicWait(callback.deadline), True))


async def process_collected(svc: Services, held: HeldNode, data: dict[str, Any],
                            source: str) -> str:
    """Process data collected for the ``waiting`` record of ``held`` by another way than
    a ramdisk (``source``, e.g. ``redfish``) exactly as a callback's for a known node:
    hooks, stored data, history, rules, the Ironic update, then the finishing step in the
    background (summary, version, ``finished``, drift). Takes over the lock of ``held``;
    raises the error the node ended with."""
    unprocessed = data_text(data) if svc.data_store.enabled else None
    callback = Callback(data, None, unprocessed, callback_deadline(svc.settings), source)
    failures = run_before_processing(svc, data)
    if failures:
        return _given(await _reject_preprocessing(svc, callback, failures, held))
    async with held:
        return _given(await _process(svc, callback, held, IronicWait(callback.deadline), False))


def _given(answer: str | Rejected) -> str:
    if isinstance(answer, Rejected):
        raise answer.error
    return answer


async def _answer(svc: Services, callback: Callback) -> str | Rejected:
    failures = run_before_processing(svc, callback.data)
    wait = IronicWait(callback.deadline)
    found = await _find(svc, callback, wait)
    if isinstance(found, Repeated):
        return _answer_repeat(found.record)
    if isinstance(found, NoNode):
        return await _reject_preprocessing(svc, callback, [*failures, found.reason], None)
    if failures:
        return await _reject_preprocessing(svc, callback, failures, found)
    async with found as held:
        resume = await repeats.is_resumed(svc, held.record, callback.digest)
        if resume:  # its lock was free: the instance that took this callback is gone
            LOG.warning("Resuming the processing of node %s, interrupted when its instance "
                        "stopped", held.uuid)
        return await _process(svc, callback, held, wait, resume)


async def _find(svc: Services, callback: Callback,
                wait: IronicWait) -> HeldNode | Repeated | NoNode:
    try:
        return await lookup.find_introspection(svc, callback.data, callback.digest)
    except NodeNotFoundInLookup as exc:
        repeated = await repeats.repeat_by_digest(svc, callback.digest)
        return repeated or await not_found.find_unknown(svc, callback.data, exc, wait)
    except LookupFailed as exc:
        return NoNode(f"Look up error: {exc}")


def _answer_repeat(record: NodeRecord) -> str | Rejected:
    """The answer to a callback processed already: the node UUID, or its error again."""
    if record.error:
        return Rejected(ProcessingFailed(
            f"Node processing already finished with error: {record.error}"))
    LOG.info("Callback for node %s repeated after processing; answered again", record.uuid)
    return record.uuid


async def _reject_preprocessing(svc: Services, callback: Callback, failures: list[str],
                                held: HeldNode | None) -> Rejected:
    """The hooks' first phase or the lookup failed: the node, if found, ends in error."""
    uuid = None
    if held is not None:
        async with held:
            if callback.digest is not None:
                await svc.repo.record_callback(held.uuid, callback.digest)
            await fail_record(svc, held.record, "\n".join(failures),
                              reason=FailureReason.PROCESSING_HOOK)
        uuid = held.uuid
    save_logs(svc, callback.data, uuid)
    return Rejected(ProcessingFailed(PREPROCESSING_FAILED + "\n".join(failures)))


async def _process(svc: Services, callback: Callback, held: HeldNode, wait: IronicWait,
                   resume: bool) -> str | Rejected:
    """Process the node of ``held``; the finishing step runs in the background and takes
    the lock over."""
    with log_context.bound(node=held.uuid), svc.metrics.processing_timer():
        processed: dict[str, Any] | None = None
        comparison: history.Comparison | None = None
        prepared: _Prepared | None = None
        try:
            prepared = await _prepare(svc, callback, held.record, wait, resume)
            processed = await keep_processed_data(svc, held.uuid, callback.data)
            comparison = await history.compare_with_previous(
                svc, prepared.record, without_logs(callback.data),
                prepared.changes.node.get("name"), source=callback.source)
            changes, matched = await apply_rules_and_flush(
                svc, prepared.rules, callback.data, prepared.changes, wait,
                diff=comparison.document() if comparison else None)
        except IronicUnavailable:
            await _defer(svc, held.uuid, callback.data)
            raise
        except DatabaseFull:
            raise  # nothing was written: the node is still waiting for the ramdisk's retry
        except Exception as exc:
            if prepared is not None:  # processed, then failed: the fleet lists its hardware
                await save_summary(svc, held.uuid, prepared.changes.node.get("name"),
                                   hardware_summary(callback.data))
            return await _reject_processing(
                svc, held.uuid, callback.data, exc,
                None if processed is None else data_text(processed), comparison)
        # The summary, the processed data's JSON and the version are made after the answer.
        result = finish.Processed(changes, prepared.keep_power_on, processed, comparison,
                                  callback.data, matched, prepared.changes.node.get("name"),
                                  callback.unprocessed if svc.data_store.in_repository
                                  else None)
        svc.background.spawn(finish.finish(svc, held.with_record(prepared.record), result),
                             f"finish-{held.uuid}")
        if svc.settings.processing.always_store_ramdisk_logs:
            save_logs(svc, callback.data, held.uuid)
        return held.uuid


async def _prepare(svc: Services, callback: Callback, record: NodeRecord, wait: IronicWait,
                   resume: bool) -> _Prepared:
    """Move to ``processing``, read the node and run the hooks' second phase."""
    if record.finished:
        raise ProcessingFailed(f"Node processing already finished with error: {record.error}")
    record, rules = await _begin(svc, record, callback, resume)
    node = await read_node(svc, record.uuid, wait)
    keep_power_on = check_provision_state(node, svc.settings,
                                          out_of_band=callback.source != history.SOURCE)
    changes = NodeChanges(node, await read_ports(svc, record.uuid, wait))
    run_before_update(svc, callback.data, changes)
    return _Prepared(record, rules, changes, keep_power_on)


async def _begin(svc: Services, record: NodeRecord, callback: Callback,
                 resume: bool) -> tuple[NodeRecord, list[Rule]]:
    """Store the unprocessed data and the body's digest, move to ``processing`` and read
    the rules: one transaction when the data lives in the database."""
    in_repository = svc.data_store.in_repository
    if callback.unprocessed is not None and not in_repository:
        await save_data(svc, record.uuid, False, json.loads(callback.unprocessed))
    move = not (resume and record.state is State.PROCESSING)  # a resumed one is processing
    return await svc.repo.begin_processing(
        record, callback.unprocessed if in_repository else None, callback.digest, move)


async def _reject_processing(svc: Services, uuid: str, data: dict[str, Any], exc: Exception,
                             processed: str | None,
                             comparison: history.Comparison | None) -> Rejected:
    """The node ends in error (with the processed data, once produced, and then its
    version in the history)."""
    if isinstance(exc, MetalScopeError):
        error: MetalScopeError = exc
    else:
        LOG.error("Unexpected error while processing node %s", uuid, exc_info=exc)
        error = UnexpectedProcessingError(
            f"Unexpected exception {type(exc).__name__} during processing: {exc}")
    current = await svc.repo.get_node(uuid)
    if current is not None and not current.finished:
        version = await history.record_end(svc, current, comparison, str(error))
        await fail_record(svc, current, str(error), processed=processed,
                          reason=failure_reason(exc))
        history.emit_drift(svc, current, comparison, version)
    save_logs(svc, data, uuid)
    return Rejected(error)


async def _defer(svc: Services, uuid: str, data: dict[str, Any]) -> None:
    """Ironic stayed unreachable: the record goes back to ``waiting`` with nothing recorded
    as failed; the callback (its digest row, and the unprocessed data if stored) is kept for
    the ramdisk's retry or, when the ramdisk gives up, the leader's recovery."""
    current = await svc.repo.get_node(uuid)
    if current is None or current.state is not State.PROCESSING:
        return
    try:
        await svc.repo.defer_processing(current, lookup.lookup_attributes(data))
    except (StateConflict, InvalidTransition) as exc:
        LOG.error("Could not put node %s back to waiting: %s", uuid, exc)
        return
    LOG.warning("Ironic is unreachable: node %s waits for the ramdisk to post its data again",
                uuid)
