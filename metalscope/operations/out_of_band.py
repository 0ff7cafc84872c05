"""Out-of-band introspection: the hardware read from the node's BMC over Redfish instead of
a booted ramdisk, then processed exactly as a ramdisk's data for a known node.

A start (:func:`start_out_of_band`) checks what an in-band start checks (the node in
Ironic, its provision state, plus ``available`` since nothing is powered or booted;
``active`` only with ``[processing]permit_active_introspection``; a record that allows a
start), resets the record with method ``redfish`` and moves it to ``waiting``: no lookup
attributes, nothing opened in the PXE filter, no boot device or power request. In the
background, holding the node lock throughout:

1. a collection slot (``[redfish]max_concurrent`` per instance) is waited for;
2. the node is read from Ironic with its ``driver_info`` (BMC address and credentials,
   which need Ironic's ``show_password`` policy; they are never logged nor stored);
3. the collector reads the BMC; the whole run is bounded by the introspection timeout
   (``[DEFAULT]timeout`` from the start: the timeout duty skips a locked node, so the run
   applies it itself and ends ``error`` "Introspection timeout");
4. the data goes through :func:`~metalscope.operations.callback.process_collected`: the
   hooks, stored data, history (source ``redfish``), rules, the Ironic update, the fleet
   summary, drift and metrics of a ramdisk callback.

A failure of the collection (BMC unreachable, credentials refused, a required resource
missing) ends the introspection in ``error`` with the collector's message, which names the
node and the Redfish resource. An abort on the instance running the collection
(:func:`~metalscope.operations.introspect.abort_introspection`) cancels it; the run then
aborts the introspection itself with the lock it holds ("Canceled by operator"). An instance
that stops during the collection leaves the record ``waiting`` with a free lock: the
recovery fails it (:func:`fail_interrupted`), since nothing was collected.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metalscope import log_context
from metalscope.coordination import HeldNode, take_lock
from metalscope.errors import MetalScopeError, NodeLocked, StateConflict
from metalscope.metrics import FailureReason, failure_reason
from metalscope.operations import callback, introspect
from metalscope.operations.nodes import check_provision_state, fail_record
from metalscope.redfish.collector import collect
from metalscope.redfish.credentials import bmc_access
from metalscope.redfish.errors import RedfishError
from metalscope.services import Services
from metalscope.settings.redfish import RedfishSection
from metalscope.state_machine import Event, State, next_state
from metalscope.storage.repository import NodeRecord, utcnow

LOG = logging.getLogger(__name__)
#: The method (and history source) of an out-of-band introspection.
REDFISH = "redfish"
#: The timeout duty's message, for a run that reaches ``[DEFAULT]timeout`` itself.
TIMEOUT_MESSAGE = "Introspection timeout"
INTERRUPTED = ("Out-of-band inspection of node {uuid} was interrupted: the MetalScope instance "
               "collecting from its BMC stopped; start the introspection again")
MASK = "******"


@dataclass(frozen=True)
class _Failed:
    """The collection did not give data: the record ends with ``message``."""

    message: str
    reason: FailureReason
    #: The collections counter's result: ``failed`` or ``timeout``.
    result: str


async def start_out_of_band(svc: Services, node_id: str) -> str:
    """Validate the node, reset its record (method ``redfish``, ``waiting``) and collect
    from its BMC in the background; returns the node UUID."""
    node = await svc.ironic.get_node(node_id)
    check_provision_state(node, svc.settings, out_of_band=True)
    uuid = str(node["uuid"])
    await introspect.check_startable(svc, uuid)
    held = await take_lock(svc.coordinator, uuid, timeout=introspect.START_LOCK_WAIT)
    if held is None:
        raise NodeLocked("Node is locked, please, retry later")
    async with held:
        previous = await svc.repo.get_node(uuid)
        if previous is not None:
            next_state(previous.state, Event.START)
        # Straight to ``waiting``: there is no boot sequence to run in ``starting``.
        record = await svc.repo.start_introspection(uuid, False, [], previous,
                                                    state=State.WAITING, method=REDFISH)
        svc.metrics.introspection_started()
        svc.background.spawn(_run(svc, held.with_record(record)), f"out-of-band-{uuid}")
    LOG.info("Out-of-band introspection of node %s started", uuid)
    return uuid


async def _run(svc: Services, held: HeldNode) -> None:
    """Collect, then process (or fail, or abort); releases the lock of ``held``."""
    async with held:
        record = held.record
        # Registered once running (a task cancelled before its first step would never
        # enter this block, so never release the lock): an abort until then gets 409.
        svc.out_of_band.add(record.uuid, _current_task())
        with log_context.bound(node=record.uuid):
            try:
                outcome = await _collected(svc, record)
            except asyncio.CancelledError:
                if not svc.out_of_band.abort_requested(record.uuid):
                    raise  # stopping: the record stays ``waiting``, for the recovery
                _uncancel()
                svc.out_of_band.collected(record.uuid)
                svc.metrics.out_of_band_collection("aborted")
                await introspect.abort_locked(svc, record.uuid)
                return
            svc.out_of_band.collected(record.uuid)
            if isinstance(outcome, _Failed):
                await _fail(svc, record, outcome)
                return
            try:
                await callback.process_collected(svc, held.hand_off(), outcome, REDFISH)
            except MetalScopeError as exc:  # the record ended in error, logged there
                LOG.debug("Processing of node %s out of band failed: %s", record.uuid, exc)


def _current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None  # a coroutine of the background work always runs in a task
    return task


def _uncancel() -> None:
    """The abort's cancellation is handled: later awaits (the abort itself) must run."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def _collected(svc: Services, record: NodeRecord) -> dict[str, Any] | _Failed:
    """The introspection data read from the BMC, or why there is none."""
    password: str | None = None
    started = time.monotonic()
    try:
        async with asyncio.timeout(_time_left(svc, record)) as deadline:
            async with svc.out_of_band.slots:
                started = time.monotonic()
                node = await svc.ironic.get_node(record.uuid)
                password = _password(node)
                collector = svc.out_of_band.collect or collect_from_bmc
                data = await collector(node, svc.settings.redfish)
    except TimeoutError:
        if deadline.expired():
            svc.metrics.out_of_band_collection("timeout", time.monotonic() - started)
            return _Failed(TIMEOUT_MESSAGE, FailureReason.TIMEOUT, "timeout")
        return _failure(svc, started, f"Out-of-band inspection of node {record.uuid} failed: "
                                      "the BMC did not answer in time", FailureReason.REDFISH)
    except MetalScopeError as exc:  # RedfishError, or Ironic's refusal to show the node
        reason = (FailureReason.REDFISH if isinstance(exc, RedfishError)
                  else failure_reason(exc))
        return _failure(svc, started, _masked(str(exc), password), reason)
    svc.metrics.out_of_band_collection("success", time.monotonic() - started)
    return data


async def collect_from_bmc(node: Mapping[str, Any],
                           settings: RedfishSection) -> dict[str, Any]:
    """The Redfish collector for ``node``: its BMC address and credentials from
    ``driver_info``, bounded by ``[redfish]timeout`` and ``collect_timeout``."""
    access = bmc_access(node, verify_default=settings.verify_ca_default)
    return await collect(access, node_uuid=str(node["uuid"]), timeout=settings.timeout,
                         collect_timeout=settings.collect_timeout)


def _failure(svc: Services, started: float, message: str, reason: FailureReason) -> _Failed:
    svc.metrics.out_of_band_collection("failed", time.monotonic() - started)
    return _Failed(message, reason, "failed")


def _time_left(svc: Services, record: NodeRecord) -> float | None:
    """Seconds until the introspection times out (None: ``[DEFAULT]timeout`` is 0)."""
    timeout = svc.settings.default.timeout
    if timeout <= 0 or record.started_at is None:
        return None
    ends = record.started_at + datetime.timedelta(seconds=timeout)
    return max(0.0, (ends - utcnow()).total_seconds())


def _password(node: dict[str, Any]) -> str | None:
    value = (node.get("driver_info") or {}).get("redfish_password")
    return value if isinstance(value, str) and value and value != MASK else None


def _masked(text: str, password: str | None) -> str:
    """``text`` without the BMC password, whatever a library put in its error."""
    return text.replace(password, MASK) if password else text


async def _fail(svc: Services, record: NodeRecord, failed: _Failed) -> None:
    current = await svc.repo.get_node(record.uuid)
    if current is None or current.finished:
        return
    if failed.reason is not FailureReason.TIMEOUT:
        await fail_record(svc, current, failed.message, reason=failed.reason)
        return
    LOG.error("Introspection of node %s timed out collecting from its BMC", record.uuid)
    try:
        await svc.repo.settle(current, Event.TIMEOUT, error=TIMEOUT_MESSAGE)
    except StateConflict as exc:
        LOG.error("Could not record the timeout of node %s: %s", record.uuid, exc)
        return
    svc.metrics.introspection_failed(FailureReason.TIMEOUT)


async def fail_interrupted(svc: Services) -> int:
    """Fail the out-of-band records whose collection stopped with its instance (``waiting``
    with a free lock); return how many. Nothing was collected, so there is nothing to
    resume from: the operator (or the refresh) starts them again."""
    failed = 0
    for candidate in await svc.repo.waiting_with_method(REDFISH):
        held = await take_lock(svc.coordinator, candidate.uuid, blocking=False)
        if held is None:
            continue  # an instance is collecting
        async with held:
            record = await svc.repo.get_node(candidate.uuid)
            if (record is None or record.method != REDFISH or record.state is not State.WAITING
                    or svc.out_of_band.running(record.uuid)):
                continue
            await fail_record(svc, record, INTERRUPTED.format(uuid=record.uuid),
                              reason=FailureReason.INTERRUPTED)
            failed += 1
    return failed
