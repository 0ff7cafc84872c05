"""``/v1/continue`` and reapply: hooks, storage, rules, the Ironic update (spec 5.1, 5.6)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from metalscope import log_context
from metalscope.coordination import NodeLock
from metalscope.errors import (
    DataNotFound, IntrospectionNotFound, InvalidRequest, InvalidTransition, IronicError,
    LookupFailed, MetalScopeError, NodeLocked, NodeNotFoundInLookup, StateConflict,
)
from metalscope.node_changes import NodeChanges
from metalscope.operations import lookup, resumable_flush
from metalscope.operations.ironic_wait import (
    IronicUnavailable, IronicWait, callback_deadline, introspection_deadline,
)
from metalscope.operations.nodes import check_provision_state, fail_record, resolve_uuid
from metalscope.ramdisk_logs import save_ramdisk_logs
from metalscope.rules.engine import apply_rules_off_loop
from metalscope.rules.model import Rule
from metalscope.services import Services
from metalscope.state_machine import Event, State, is_allowed
from metalscope.storage.repository import NodeRecord, utcnow
from metalscope.storage.transactions import DatabaseFull

LOG = logging.getLogger(__name__)
PREPROCESSING_FAILED = "The following failures happened during running pre-processing hooks:\n"
REAPPLY_PREPROCESSING_FAILED = ("Pre-processing failures detected reapplying introspection on "
                                "stored data:\n")


class ProcessingFailed(MetalScopeError):
    """Processing failed after the node was found; carries the HTTP status upstream used."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def without_logs(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "logs"}


def data_text(data: dict[str, Any]) -> str:
    """Introspection data as stored: compact JSON, without the ramdisk logs."""
    return json.dumps(without_logs(data), separators=(",", ":"))


def run_before_processing(svc: Services, data: dict[str, Any]) -> list[str]:
    """Every hook's first phase; failures are collected, not raised (spec 5.1 step 2)."""
    failures = []
    for name, hook in svc.extensions.hooks:
        try:
            hook.before_processing(data)
        except MetalScopeError as exc:
            failures.append(f"Preprocessing hook {name}: {exc}")
        except Exception as exc:  # a hook bug must not lose the node: report it as a failure line
            LOG.exception("Hook %s failed in before_processing", name)
            failures.append(f"Unexpected exception {type(exc).__name__} during preprocessing "
                            f"in hook {name}: {exc}")
    return failures


def run_before_update(svc: Services, data: dict[str, Any], changes: NodeChanges) -> None:
    for _name, hook in svc.extensions.hooks:
        hook.before_update(data, changes)


# -- /v1/continue -----------------------------------------------------------------------------
def callback_digest(body: bytes) -> str:
    """What identifies a callback body: a ramdisk's retry sends the very same bytes."""
    return hashlib.sha256(body).hexdigest()


async def continue_introspection(svc: Services, data: dict[str, Any],
                                 digest: str | None = None) -> str:
    """Process ramdisk data; return the node UUID or raise (the node then ends in error).

    With the body's ``digest``, a retry of a callback already taken is recognised, on any
    instance: it is answered as the first one was (within
    ``[processing]ramdisk_retry_window`` seconds of the node's end; later it gets upstream's
    lookup failure), or, when the instance processing it stopped half-way, processing
    resumes from this copy of the data. An introspection waiting for these MACs or BMC
    always comes first: only data that no longer finds a node is checked against the
    digests.

    Ironic is waited for up to ``[processing]ironic_wait`` seconds from now; after that,
    IronicUnavailable (503) is raised and the node, if found, waits for the retry.
    """
    wait = IronicWait(callback_deadline(svc.settings))
    # Taken before the hooks change ``data``; not serialised at all when nothing is stored.
    unprocessed = data_text(data) if svc.data_store.enabled else None
    failures = run_before_processing(svc, data)
    try:
        found = await _find(svc, data, failures, wait, digest)
    except lookup.RepeatedCallback as repeat:
        return _answer_repeat(repeat.record)
    if found is None or failures:
        await _report_preprocessing(svc, data, failures, found, digest)
    assert found is not None
    record, lock = found
    resume = (record.state is State.PROCESSING and digest is not None
              and await svc.repo.callback_node(digest) == record.uuid)
    if resume:  # its lock was free: the instance that took this callback is gone
        LOG.warning("Resuming the processing of node %s, interrupted when its instance stopped",
                    record.uuid)
    with log_context.bound(node=record.uuid):
        return await _process_locked(svc, record, lock, data, wait, unprocessed, digest, resume)


async def _check_repeated(svc: Services, digest: str) -> None:
    """Raise RepeatedCallback when this very body finished a node within the retry window
    (otherwise the lookup failure stands: upstream's 400 for a finished node)."""
    uuid = await svc.repo.callback_node(digest)
    if uuid is None:
        return
    record = await svc.repo.get_node(uuid)
    if record is not None:
        await lookup.check_repeated(svc, record, digest)


def _answer_repeat(record: NodeRecord) -> str:
    """The answer to a callback processed already: the node UUID, or its error again."""
    if record.error:
        raise ProcessingFailed(f"Node processing already finished with error: {record.error}")
    LOG.info("Callback for node %s repeated after processing; answered again", record.uuid)
    return record.uuid


async def _find(svc: Services, data: dict[str, Any], failures: list[str], wait: IronicWait,
                digest: str | None = None) -> tuple[NodeRecord, NodeLock] | None:
    try:
        return await lookup.find_introspection(svc, data, digest)
    except NodeNotFoundInLookup as exc:
        if digest is not None:
            await _check_repeated(svc, digest)
        return await _not_found(svc, data, failures, exc, wait)
    except LookupFailed as exc:
        failures.append(f"Look up error: {exc}")
        return None


async def _not_found(svc: Services, data: dict[str, Any], failures: list[str],
                     exc: NodeNotFoundInLookup,
                     wait: IronicWait) -> tuple[NodeRecord, NodeLock] | None:
    """Active-node lookup, then the node_not_found_hook; both ask Ironic, so both are tried
    again while Ironic is unavailable (IronicUnavailable after the callback's deadline)."""
    if svc.settings.processing.permit_active_introspection:
        try:
            found = await wait.call(lambda: lookup.find_active_node(svc, data),
                                    "looking up an active node")
        except LookupFailed as error:  # aggregated, unlike upstream (Q-LOOK-1)
            failures.append(f"Look up error: {error}")
            return None
        if found is not None:
            return found
    hook = svc.extensions.not_found_hook
    if hook is None:
        failures.append(f"Look up error: {exc}")
        return None
    try:
        found = await wait.call(lambda: hook(data, svc), "running the node_not_found_hook")
    except IronicUnavailable:
        raise
    except Exception as error:
        LOG.exception("The node_not_found_hook failed")
        failures.append(f"Node not found hook failed: {error}")
        return None
    if found is None:
        failures.append("Node not found hook returned nothing")
    return found  # type: ignore[no-any-return]


async def _report_preprocessing(svc: Services, data: dict[str, Any], failures: list[str],
                                found: tuple[NodeRecord, NodeLock] | None,
                                digest: str | None = None) -> None:
    uuid = None
    if found is not None:
        record, lock = found
        uuid = record.uuid
        try:
            if digest is not None:
                await svc.repo.record_callback(uuid, digest)
            await fail_record(svc, record, "\n".join(failures))
        finally:
            await lock.release()
    _save_logs(svc, data, uuid)
    raise ProcessingFailed(PREPROCESSING_FAILED + "\n".join(failures))


async def _process_locked(svc: Services, record: NodeRecord, lock: NodeLock,
                          data: dict[str, Any], wait: IronicWait, unprocessed: str | None,
                          digest: str | None = None, resume: bool = False) -> str:
    handed_over = False
    outcome = _Outcome()
    try:
        if record.finished:
            raise ProcessingFailed(f"Node processing already finished with error: {record.error}")
        record, rules = await _begin(svc, record, unprocessed, digest, resume)
        changes, keep_power_on = await _run_processing(svc, record, data, rules, outcome, wait)
        handed_over = True
        svc.background.spawn(_finish(svc, record, lock, changes, keep_power_on, outcome),
                             f"finish-{record.uuid}")
    except IronicUnavailable:
        await _defer(svc, record, data)
        raise
    except DatabaseFull:
        raise  # nothing was written: the node is still waiting for the ramdisk's retry
    except MetalScopeError as exc:
        await _fail_processing(svc, record, data, exc, outcome)
    except Exception as exc:
        LOG.exception("Unexpected error while processing node %s", record.uuid)
        message = f"Unexpected exception {type(exc).__name__} during processing: {exc}"
        await _fail_processing(svc, record, data, ProcessingFailed(message, 500), outcome)
    finally:
        if not handed_over:
            await lock.release()
    if svc.settings.processing.always_store_ramdisk_logs:
        _save_logs(svc, data, record.uuid)
    return record.uuid


class _Outcome:
    """The processed data of one processing, once the hooks have produced it: stored with
    the record's final transition, whether it ends ``finished`` or ``error``."""

    def __init__(self) -> None:
        self.processed: str | None = None


async def _begin(svc: Services, record: NodeRecord, unprocessed: str | None,
                 digest: str | None, resume: bool) -> tuple[NodeRecord, list[Rule]]:
    """Store the unprocessed data and the body's digest, move to ``processing`` and read
    the rules: one transaction when the data lives in the database."""
    in_repository = svc.data_store.in_repository
    if unprocessed is not None and not in_repository:
        await _save_data(svc, record.uuid, False, json.loads(unprocessed))
    move = not (resume and record.state is State.PROCESSING)  # a resumed one is processing
    return await svc.repo.begin_processing(
        record, unprocessed if in_repository else None, digest, move)


async def _run_processing(svc: Services, record: NodeRecord, data: dict[str, Any],
                          rules: list[Rule], outcome: _Outcome,
                          wait: IronicWait) -> tuple[NodeChanges, bool]:
    node = await wait.call(lambda: svc.ironic.get_node(record.uuid), "reading the node")
    keep_power_on = check_provision_state(node, svc.settings)
    changes = NodeChanges(node, await _read_ports(svc, record.uuid, wait))
    run_before_update(svc, data, changes)
    await _keep_processed(svc, record.uuid, data, outcome)
    await _apply_rules(svc, rules, data, changes, wait)
    return await resumable_flush.flush(svc.ironic, changes, wait), keep_power_on


async def _read_ports(svc: Services, uuid: str, wait: IronicWait) -> list[dict[str, Any]]:
    return await wait.call(lambda: svc.ironic.list_node_ports(uuid), "reading the node's ports")


async def _defer(svc: Services, record: NodeRecord, data: dict[str, Any]) -> None:
    """Ironic stayed unreachable: the record goes back to ``waiting`` with nothing recorded
    as failed; the callback (its digest row, and the unprocessed data if stored) is kept for
    the ramdisk's retry or, when the ramdisk gives up, the leader's recovery."""
    current = await svc.repo.get_node(record.uuid)
    if current is None or current.state is not State.PROCESSING:
        return
    try:
        await svc.repo.defer_processing(current, lookup.lookup_attributes(data))
    except (StateConflict, InvalidTransition) as exc:
        LOG.error("Could not put node %s back to waiting: %s", record.uuid, exc)
        return
    LOG.warning("Ironic is unreachable: node %s waits for the ramdisk to post its data again",
                record.uuid)


async def _keep_processed(svc: Services, uuid: str, data: dict[str, Any],
                          outcome: _Outcome) -> None:
    """The processed data, stored before the rules run (as upstream): in the database it is
    written with the final transition; any other store gets it now."""
    if not svc.data_store.enabled:
        return
    if svc.data_store.in_repository:
        outcome.processed = data_text(data)
    else:
        await svc.data_store.save(uuid, True, without_logs(data))


async def _apply_rules(svc: Services, rules: list[Rule], data: dict[str, Any],
                       changes: NodeChanges, wait: IronicWait) -> None:
    if not rules:
        return
    try:
        await apply_rules_off_loop(rules, data, changes, svc.extensions.conditions,
                                   svc.extensions.actions,
                                   svc.settings.processing.rule_regex_timeout)
    except MetalScopeError:
        # Upstream has already sent the edits made before a failing action; so do we.
        await resumable_flush.flush(svc.ironic, changes, wait)
        raise


async def _fail_processing(svc: Services, record: NodeRecord, data: dict[str, Any],
                           exc: MetalScopeError, outcome: _Outcome) -> None:
    current = await svc.repo.get_node(record.uuid)
    if current is not None and not current.finished:
        await fail_record(svc, current, str(exc), processed=outcome.processed)
    _save_logs(svc, data, record.uuid)
    raise exc


async def _finish(svc: Services, record: NodeRecord, lock: NodeLock, changes: NodeChanges,
                  keep_power_on: bool, outcome: _Outcome) -> None:
    """After answering the ramdisk: power off if managed, then mark finished (with the
    processed data) and close the filter."""
    try:
        if record.manage_boot and svc.settings.processing.power_off and not keep_power_on:
            if not await _power_off(svc, record, changes, outcome):
                return
        _, macs = await svc.repo.settle(record, Event.FINISH, processed=outcome.processed)
        await svc.pxe_filter.deny(set(changes.ports) | set(macs))
        LOG.info("Introspection of node %s finished", record.uuid)
    except MetalScopeError as exc:
        await fail_record(svc, record, str(exc), processed=outcome.processed)
    finally:
        await lock.release()


async def _power_off(svc: Services, record: NodeRecord, changes: NodeChanges,
                     outcome: _Outcome) -> bool:
    """Power the node off; an unreachable Ironic is waited for as long as the introspection
    may last (the ramdisk has its answer already)."""
    wait = IronicWait(introspection_deadline(svc.settings, record.started_at))
    try:
        await wait.call(lambda: svc.ironic.set_power_state(record.uuid, "power off"),
                        f"powering off node {record.uuid}")
    except (IronicError, IronicUnavailable) as exc:
        if changes.provision_state == "enroll":
            return True
        reason = exc.detail if isinstance(exc, IronicUnavailable) else str(exc)
        await fail_record(svc, record, f"Failed to power off node {record.uuid}, check its power "
                                       f"management configuration: {reason}",
                          processed=outcome.processed)
        return False
    return True


async def _save_data(svc: Services, uuid: str, processed: bool, data: dict[str, Any]) -> None:
    try:
        await svc.data_store.save(uuid, processed, data)
    except Exception as exc:  # saving the unprocessed copy is best effort (spec 9.2)
        LOG.warning("Failed to store unprocessed data of node %s: %s", uuid, exc)


def _save_logs(svc: Services, data: dict[str, Any], uuid: str | None) -> None:
    processing = svc.settings.processing
    save_ramdisk_logs(processing.ramdisk_logs_dir, processing.ramdisk_logs_filename_format,
                      data, uuid)


async def resume_processing(svc: Services, record: NodeRecord, lock: NodeLock,
                            data: dict[str, Any]) -> str:
    """Process an interrupted ``processing`` record again from its stored unprocessed
    ``data`` (which the hooks change in place, as they change a callback's data).

    Takes over ``lock`` (released when done, as for a callback).
    """
    failures = run_before_processing(svc, data)
    if failures:
        await _report_preprocessing(svc, data, failures, (record, lock))
    wait = IronicWait(callback_deadline(svc.settings))
    with log_context.bound(node=record.uuid):
        return await _process_locked(svc, record, lock, data, wait, None, resume=True)


# -- reapply ----------------------------------------------------------------------------------
async def reapply(svc: Services, node_id: str, body: dict[str, Any] | None) -> None:
    """Accept a reapply (spec 2.4.9): save a given body as the unprocessed data, take the
    node lock without waiting and move the record to ``reapplying``; the hooks, rules and
    Ironic update then run in the background, which holds the lock until the record is
    ``finished`` or ``error`` (spec 5.6). The request is not held for the processing.
    """
    uuid = await resolve_uuid(svc, node_id)
    data = await _reapply_data(svc, uuid, body)
    if await svc.repo.get_node(uuid) is None:
        raise IntrospectionNotFound(uuid)
    lock = await svc.coordinator.acquire(uuid, blocking=False)
    if lock is None:
        raise NodeLocked("Node locked, please, try again later")
    try:
        record = await _enter_reapplying(svc, uuid)
    except BaseException:
        await lock.release()
        raise
    if record is None:
        await lock.release()
        return
    svc.background.spawn(_reapply_in_background(svc, record, lock, data), f"reapply-{uuid}")


async def _reapply_data(svc: Services, uuid: str, body: dict[str, Any] | None) -> dict[str, Any]:
    if body:
        await _save_data(svc, uuid, False, body)
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


async def _reapply_in_background(svc: Services, record: NodeRecord, lock: NodeLock,
                                 data: dict[str, Any]) -> None:
    try:
        with log_context.bound(node=record.uuid):
            await run_reapply(svc, record, data)
    finally:
        await lock.release()


async def run_reapply(svc: Services, record: NodeRecord, data: dict[str, Any]) -> None:
    """Hooks, rules and the Ironic update for a record in ``reapplying`` (lock held by the
    caller); the record ends ``finished``, or ``error`` with the failure. An unreachable
    Ironic is waited for as long as the introspection may last (``[DEFAULT]timeout`` from
    the reapply's start)."""
    outcome = _Outcome()
    wait = IronicWait(introspection_deadline(svc.settings, record.started_at))
    try:
        await _reapply_steps(svc, record.uuid, data, outcome, wait)
        await svc.repo.settle(record, Event.FINISH, processed=outcome.processed)
        LOG.info("Reapply of node %s finished", record.uuid)
    except (MetalScopeError, InvalidTransition) as exc:
        await fail_record(svc, record, str(exc), processed=outcome.processed)
    except Exception as exc:
        LOG.exception("Unexpected error while reapplying node %s", record.uuid)
        await fail_record(svc, record, f"Unexpected exception {type(exc).__name__} during "
                                       f"processing: {exc}", processed=outcome.processed)


async def _reapply_steps(svc: Services, uuid: str, data: dict[str, Any],
                         outcome: _Outcome, wait: IronicWait) -> None:
    failures = run_before_processing(svc, data)
    if failures:
        raise MetalScopeError(REAPPLY_PREPROCESSING_FAILED + "\n".join(failures))
    node = await wait.call(lambda: svc.ironic.get_node(uuid), "reading the node")
    changes = NodeChanges(node, await _read_ports(svc, uuid, wait))
    run_before_update(svc, data, changes)
    await _keep_processed(svc, uuid, data, outcome)
    await _apply_rules(svc, await svc.repo.list_rules(), data, changes, wait)
    await resumable_flush.flush(svc.ironic, changes, wait)
