"""Starting and aborting introspection (spec 2.4.4, 2.4.7, 3.4)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from metalscope import log_context
from metalscope.bmc import resolve_bmc_addresses
from metalscope.coordination import HeldLock, HeldNode, take_lock
from metalscope.errors import IntrospectionNotFound, IronicError, MetalScopeError, NodeLocked
from metalscope.metrics import FailureReason
from metalscope.operations.nodes import check_provision_state, fail_record, resolve_uuid
from metalscope.services import Services
from metalscope.state_machine import Event, State, is_allowed, next_state
from metalscope.storage.repository import NodeRecord

LOG = logging.getLogger(__name__)

#: How long a start waits for a node lock held by another start's boot sequence.
START_LOCK_WAIT = 60.0
NO_LOOKUP_ATTRIBUTES = (
    "No lookup attributes were found, inspector won't be able to find it after introspection, "
    "consider creating ironic ports or providing an IPMI address")
CANCELED = "Canceled by operator"
#: States in which a start waits for the node lock rather than being refused (see below).
_WAIT_FOR_LOCK = frozenset({State.STARTING, State.ABORTING})


async def start_introspection(svc: Services, node_id: str, manage_boot: bool) -> str:
    """Validate the node, reset its record and run (or schedule) the boot sequence."""
    node = await svc.ironic.get_node(node_id)
    check_provision_state(node, svc.settings)
    if manage_boot:
        await _validate_power(svc, node["uuid"])
    bmc = await resolve_bmc_addresses(node.get("driver_info") or {},
                                      svc.settings.default.ipmi_address_fields)
    await check_startable(svc, node["uuid"])
    held = await take_lock(svc.coordinator, node["uuid"], timeout=START_LOCK_WAIT)
    if held is None:
        raise NodeLocked("Node is locked, please, retry later")
    async with held:
        record = await _reset_record(svc, node["uuid"], manage_boot, bmc)
        svc.metrics.introspection_started()
        boot = _boot_sequence(svc, held.with_record(record), bmc)
        if manage_boot:
            svc.background.spawn(boot, f"boot-{record.uuid}")
        else:
            await boot
    return record.uuid


async def check_startable(svc: Services, uuid: str) -> None:
    """Refuse at once, as upstream, a start from a state that does not allow one (400
    invalid transition, spec 3.5: ``processing``, ``reapplying``, ``enrolling``), rather
    than holding the request up to a minute for the lock of the work in progress.

    ``starting`` and ``aborting`` are waited for instead: their work is short and always
    ends in a state a start may leave, and upstream's functional test starts again right
    after a start and right after an abort (spec 13.2 steps 56-57, 13.3)."""
    record = await svc.repo.get_node(uuid)
    if record is not None and record.state not in _WAIT_FOR_LOCK:
        next_state(record.state, Event.START)


async def _validate_power(svc: Services, uuid: str) -> None:
    result = (await svc.ironic.validate_node(uuid)).get("power") or {}
    if not result.get("result", True):
        raise MetalScopeError(f"Failed validation of power interface: {result.get('reason')}")


async def _reset_record(svc: Services, uuid: str, manage_boot: bool, bmc: list[str]) -> NodeRecord:
    previous = await svc.repo.get_node(uuid)
    if previous is not None:
        next_state(previous.state, Event.START)
    return await svc.repo.start_introspection(uuid, manage_boot, bmc, previous)


async def _boot_sequence(svc: Services, held: HeldNode, bmc: list[str]) -> None:
    """Record MACs, open the PXE filter, boot the node if managed, then wait; releases the
    lock of ``held``."""
    async with held:
        await _boot_locked(svc, held.record, bmc)


async def _boot_locked(svc: Services, record: NodeRecord, bmc: list[str]) -> None:
    try:
        macs = await _record_macs(svc, record.uuid)
        if not macs and not bmc and svc.extensions.not_found_hook is None:
            raise MetalScopeError(NO_LOOKUP_ATTRIBUTES)
        if record.manage_boot:
            await _boot_node(svc, record.uuid)
        await svc.repo.transition(record, Event.WAIT)
    except MetalScopeError as exc:
        await fail_record(svc, record, str(exc), reason=FailureReason.BOOT)
        await svc.pxe_filter.deny(set(await _macs_of_ports(svc, record.uuid, quiet=True)))
        if not record.manage_boot:
            raise


async def _record_macs(svc: Services, uuid: str) -> list[str]:
    macs = await _macs_of_ports(svc, uuid)
    if macs:
        await svc.repo.add_attributes(uuid, "mac", macs)
        await svc.pxe_filter.allow(set(macs))
    return macs


async def _macs_of_ports(svc: Services, uuid: str, quiet: bool = False) -> list[str]:
    try:
        return [p["address"].lower() for p in await svc.ironic.list_node_ports(uuid)]
    except IronicError:
        if quiet:
            return []
        raise


async def _boot_node(svc: Services, uuid: str) -> None:
    node = await svc.ironic.get_node(uuid, fields=["uuid", "driver_info"])
    driver_info = node.get("driver_info") or {}
    persistent = _persistent_boot(driver_info.get("force_persistent_boot_device"))
    try:
        await svc.ironic.set_boot_device(uuid, "pxe", persistent)
    except IronicError as exc:
        raise MetalScopeError(f"Failed to set boot device to PXE: {exc}") from exc
    await svc.pacer.wait_turn()
    try:
        await svc.ironic.set_power_state(uuid, "rebooting")
    except IronicError as exc:
        raise MetalScopeError("Failed to power on the node, check its power management "
                              f"configuration: {exc}") from exc


def _persistent_boot(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    return text in ("always", "1", "t", "true", "on", "y", "yes")


async def abort_introspection(svc: Services, node_id: str) -> None:
    """Accept an abort: take the node lock without waiting and hand it to the background
    abort (spec 2.4.7). Answered at once, as upstream: the power-off may have to wait for
    Ironic, which holds its own node lock while it calls this API."""
    uuid = await resolve_uuid(svc, node_id)
    if await svc.repo.get_node(uuid) is None:
        raise IntrospectionNotFound(uuid)
    if svc.out_of_band.abort(uuid):
        return  # the out-of-band run cancels its collection and aborts with the lock it holds
    held = await take_lock(svc.coordinator, uuid, blocking=False)
    if held is None:
        raise NodeLocked("Node is locked, please, retry later")
    async with held:
        svc.background.spawn(_abort_in_background(svc, held.hand_off()), f"abort-{uuid}")


async def _abort_in_background(svc: Services, held: HeldLock) -> None:
    async with held:
        try:
            with log_context.bound(node=held.uuid):
                await abort_locked(svc, held.uuid)
        except MetalScopeError as exc:
            LOG.error("Abort of node %s failed: %s", held.uuid, exc)


async def abort_locked(svc: Services, uuid: str) -> None:
    """``aborting``, power off if managed, then ``error`` "Canceled by operator"."""
    record = await svc.repo.get_node(uuid)
    # From ``error`` upstream accepts the abort but changes nothing visible (Q-FSM-2).
    if record is None or record.state is State.ERROR or not is_allowed(record.state, Event.ABORT):
        LOG.info("Abort of node %s ignored in state %s", uuid, record and record.state.value)
        return
    record = await svc.repo.transition(record, Event.ABORT)
    if record.manage_boot:
        await power_off_after_abort(svc, uuid)
    await complete_abort(svc, record)
    LOG.info("Introspection of node %s aborted", uuid)


async def power_off_after_abort(svc: Services, uuid: str) -> bool:
    """Power the node off, trying again while Ironic answers 409 NodeLocked, at most
    ``[ironic]max_retries`` more times, ``[ironic]retry_interval`` seconds apart.

    Any other failure ends the attempts at once. Failures are only logged (as upstream):
    the abort goes on. Returns whether the node was powered off.
    """
    retries = max(0, svc.settings.ironic.max_retries)
    for attempt in range(retries + 1):
        try:
            await svc.ironic.set_power_state(uuid, "power off")
            return True
        except IronicError as exc:
            if not exc.node_locked or attempt == retries:
                LOG.warning("Failed to power off node %s after abort: %s", uuid, exc)
                return False
            LOG.debug("Node %s is locked in Ironic; powering it off again in %s s",
                      uuid, svc.settings.ironic.retry_interval)
        await asyncio.sleep(max(0, svc.settings.ironic.retry_interval))
    return False


async def complete_abort(svc: Services, record: NodeRecord) -> None:
    """The end of an abort: ``error`` "Canceled by operator", the node's MACs denied again."""
    _, macs = await svc.repo.settle(record, Event.ABORT_END, error=CANCELED)
    svc.metrics.introspection_failed(FailureReason.ABORTED)
    await svc.pxe_filter.deny(set(macs))
