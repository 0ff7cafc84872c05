"""Periodic tasks (spec section 10), as plain async functions plus one runner.

Each periodic function does one round; :func:`run_periodically` repeats it, logs a failed
round and carries on. Leader-only tasks check the coordinator every round.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from metalscope.coordination import take_lock
from metalscope.errors import IronicError, MetalScopeError, NodeNotInIronic
from metalscope.follower.runner import follower_of
from metalscope.ironic_walks import RollingWalk
from metalscope.metrics import FailureReason
from metalscope.operations import fleet_backfill, recovery
from metalscope.operations.out_of_band import start_out_of_band
from metalscope.operations.refresh import Refresher, RefreshPolicy
from metalscope.services import Services
from metalscope.state_machine import Event, is_allowed
from metalscope.storage.repository import utcnow

LOG = logging.getLogger(__name__)
TIMEOUT_MESSAGE = "Introspection timeout"


async def time_out_introspections(svc: Services) -> int:
    """Finish every introspection older than ``[DEFAULT]timeout`` with an error."""
    timeout = svc.settings.default.timeout
    if timeout <= 0:
        return 0
    threshold = utcnow() - datetime.timedelta(seconds=timeout)
    timed_out = 0
    for record in await svc.repo.active_started_before(threshold):
        held = await take_lock(svc.coordinator, record.uuid, blocking=False)
        if held is None:
            continue
        async with held:
            timed_out += await _time_out(svc, record.uuid, threshold)
    return timed_out


async def _time_out(svc: Services, uuid: str, threshold: datetime.datetime) -> int:
    record = await svc.repo.get_node(uuid)
    if (record is None or record.finished or record.started_at is None
            or record.started_at >= threshold or not is_allowed(record.state, Event.TIMEOUT)):
        return 0
    LOG.error("Introspection of node %s timed out in state %s", uuid, record.state.value)
    _, macs = await svc.repo.settle(record, Event.TIMEOUT, error=TIMEOUT_MESSAGE)
    svc.metrics.introspection_failed(FailureReason.TIMEOUT)
    await svc.pxe_filter.deny(set(macs))
    return 1


def node_walk(svc: Services, clock: Callable[[], float] = time.monotonic) -> RollingWalk:
    """The walk of Ironic's nodes by UUID over ``[ironic]node_walk_period``."""
    async def page(query: Mapping[str, str]) -> tuple[list[dict[str, Any]], str | None]:
        return await svc.ironic.list_page("/v1/nodes", "nodes", query)

    return RollingWalk(page, [], period=svc.settings.ironic.node_walk_period, clock=clock)


async def forget_deleted_nodes(svc: Services, walk: RollingWalk) -> int:
    """Drop the records of nodes that no longer exist in Ironic (leader only).

    Reads the pages of ``walk`` that are due; a record whose UUID lies in a page's range
    and is not in the page is dropped once Ironic confirms the node is gone (a node
    created and introspected after the page was read is in neither).
    """
    if not svc.coordinator.is_leader():
        return 0
    dropped = 0
    async for page in walk.due_pages():
        present = {str(node.get("uuid")) for node in page.items}
        for uuid in await svc.repo.uuids_between(page.after, page.through):
            if uuid not in present and await _gone_from_ironic(svc, uuid):
                dropped += await _forget(svc, uuid)
    return dropped


async def _gone_from_ironic(svc: Services, uuid: str) -> bool:
    try:
        await svc.ironic.get_node(uuid, fields=["uuid"])
    except NodeNotInIronic:
        return True
    return False


async def _forget(svc: Services, uuid: str) -> int:
    held = await take_lock(svc.coordinator, uuid, timeout=60)
    if held is None:
        return 0
    async with held:
        LOG.warning("Node %s was deleted from Ironic, dropping it from the database", uuid)
        await svc.repo.delete_node(uuid)
        return 1


async def forget_old_records(svc: Services) -> int:
    """Delete records finished more than ``[DEFAULT]node_status_keep_time`` ago (when set)."""
    keep = svc.settings.default.node_status_keep_time
    if keep <= 0 or not svc.coordinator.is_leader():
        return 0
    forgotten = 0
    for uuid in await svc.repo.finished_before(utcnow() - datetime.timedelta(seconds=keep)):
        held = await take_lock(svc.coordinator, uuid, blocking=False)
        if held is None:
            continue
        async with held:
            record = await svc.repo.get_node(uuid)
            if record is not None and record.finished:
                await svc.repo.delete_node(uuid)
                forgotten += 1
    return forgotten


async def prune_history(svc: Services) -> int:
    """Delete the history versions ``[history]`` no longer keeps, of every node (leader
    only): by age, and by count after ``max_versions`` was lowered. A node deleted from
    Ironic keeps its history until it is ``max_age`` old."""
    if not svc.coordinator.is_leader():
        return 0
    retention = svc.repo.retention
    pruned = await svc.repo.prune_history(None, max_versions=retention.max_versions,
                                          max_age=retention.max_age)
    if pruned:
        LOG.info("Pruned %d hardware history versions", pruned)
    return pruned


async def recover_interrupted(svc: Services) -> int:
    """Bring introspections left behind by a stopped instance to an end, then process the
    callbacks deferred while Ironic was unreachable whose ramdisk gave up (leader only)."""
    if not svc.coordinator.is_leader():
        return 0
    recovered = await recovery.recover_interrupted(svc)
    return recovered + await recovery.recover_deferred(svc)


async def fill_hardware_summaries(svc: Services,
                                  backfill: fleet_backfill.SummaryBackfill | None = None) -> int:
    """Summarise records processed before the fleet pages existed, from their stored data,
    a bounded number per round (leader only; ``store_data = database`` only); ``backfill``
    remembers that a round found none left, and the rounds after it then read nothing."""
    if not svc.coordinator.is_leader():
        return 0
    return await (backfill or fleet_backfill.SummaryBackfill()).run_round(svc)


def refresher(svc: Services) -> Refresher:
    """The out-of-band refresh duty of ``[redfish]refresh_*`` (its passes are leader only)."""
    redfish = svc.settings.redfish
    policy = RefreshPolicy(interval=redfish.refresh_interval, jitter=redfish.refresh_jitter,
                           batch=redfish.refresh_batch)
    return Refresher(policy, start_out_of_band)


async def reconcile_pxe_filter(svc: Services) -> None:
    await svc.pxe_filter.reconcile()


async def run_periodically(name: str, interval: float,
                           round_: Callable[[], Awaitable[object]],
                           first_delay: float | None = None) -> None:
    """Run ``round_`` every ``interval`` seconds until cancelled; failures are logged.

    The first round comes after ``first_delay`` seconds (default: one interval).
    """
    delay = interval if first_delay is None else first_delay
    while True:
        await asyncio.sleep(delay)
        delay = interval
        try:
            await round_()
        except (MetalScopeError, IronicError) as exc:
            LOG.warning("Periodic task %s failed: %s", name, exc)
        except Exception:
            LOG.exception("Periodic task %s failed", name)


def periodic_tasks(svc: Services) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
    """The periodic tasks this configuration asks for."""
    tasks: list[tuple[str, float, Callable[[], Awaitable[object]]]] = []
    period = svc.settings.default.clean_up_period
    if period > 0:
        tasks.append(("timeout", period, lambda: time_out_introspections(svc)))
        walk = node_walk(svc)
        tasks.append(("sync-ironic", period, lambda: forget_deleted_nodes(svc, walk)))
        tasks.append(("forget-old", period, lambda: forget_old_records(svc)))
        tasks.append(("prune-history", period, lambda: prune_history(svc)))
        tasks.append(("recover", period, lambda: recover_interrupted(svc)))
        backfill = fleet_backfill.SummaryBackfill()
        tasks.append(("fleet-summaries", period,
                      lambda: fill_hardware_summaries(svc, backfill)))
    refresh = refresher(svc)
    if refresh.policy.enabled:
        tasks.append(("redfish-refresh", refresh.policy.pass_period,
                      lambda: refresh.run_pass(svc)))
    if svc.settings.follower.enabled:
        follower = follower_of(svc)
        tasks.append(("follow-ironic", follower.config.poll_interval, follower.run_round))
    sync = svc.settings.pxe_filter.sync_period
    if sync > 0 and svc.settings.pxe_filter.driver != "noop":
        tasks.append(("pxe-filter", sync, lambda: reconcile_pxe_filter(svc)))
    return tasks


@contextlib.asynccontextmanager
async def duties(svc: Services) -> AsyncIterator[None]:
    """The periodic tasks run while the block runs, after a recovery round at once: records
    an earlier run of this (or a lost) instance left half-way are settled now, not one
    clean-up period later. The tasks are cancelled on exit."""
    tasks = [asyncio.create_task(run_periodically(name, interval, round_), name=name)
             for name, interval, round_ in periodic_tasks(svc)]
    svc.background.spawn(recover_interrupted(svc), "recover-at-start")
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
