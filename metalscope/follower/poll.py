"""One poll of Ironic's own inspections.

A poll, in order:

1. **Fresh inspections.** Pages of ``GET /v1/nodes?sort_key=inspection_finished_at&
   sort_dir=desc&fields=...`` from the top, until the stored watermark (less
   :data:`~metalscope.follower.scan.LOOKBACK`): usually one page. The nodes whose
   inspection is newer than the one known of them are queued and the watermark moves to
   the newest time, in one transaction. The first poll only sets the watermark: every
   inspection finished before it is the backfill's.
2. **Backfill** (until done): one page below the first watermark, after the stored marker;
   at most ``backfill_per_poll`` inspections queued.
3. **Inventories.** ``GET /v1/nodes/{node}/inventory`` of the queued nodes that are due
   (the newest inspections first, at most ``page_size``), each handed to the recorder.
   A node whose read fails waits alone, with its own back-off; 404 for a node Ironic no
   longer has marks it deleted; 404 for an inventory Ironic does not keep is tried
   :data:`~metalscope.follower.backoff.MISSING_ATTEMPTS` times, then that inspection is
   given up.
4. **Deletion sweep.** One page of the node list sorted by UUID after the stored marker:
   the nodes MetalScope follows in that range that Ironic no longer lists are marked
   deleted. A whole sweep takes (nodes / page size) polls.

A failure of Ironic as a whole (no answer, 401, 403, 502-504) raises :class:`IronicError`
out of the poll: what was saved so far stays (each step saves its own progress), the rest
is done by the next poll. The cost of a poll is a few requests plus one per new inventory,
whatever the number of nodes.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from metalscope.errors import IronicError, MetalScopeError
from metalscope.follower import backoff, scan
from metalscope.follower.convert import LIST_FIELDS
from metalscope.metrics.follower import FollowerMetrics
from metalscope.storage.follower import FollowerState, FollowerStore, PendingInventory

LOG = logging.getLogger(__name__)
SORT_KEY = "inspection_finished_at"


class NodeLister(Protocol):
    async def list_nodes_page(self, *, fields: Any, sort_key: str, sort_dir: str = "asc",
                              limit: int, marker: str | None = None,
                              ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def get_inventory(self, node_id: str) -> dict[str, Any]: ...


class Outcome(enum.Enum):
    """What became of an inventory handed to the recorder."""

    #: A new version of the node's history.
    RECORDED = "recorded"
    #: That inspection had its version already (another instance, an earlier try).
    ALREADY = "already"
    #: The node is locked by other work: tried again at the next poll.
    BUSY = "busy"


#: Records one inventory: the queued inspection and Ironic's answer.
Recorder = Callable[[PendingInventory, dict[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True)
class PollConfig:
    poll_interval: float = 30.0
    page_size: int = 100
    backfill_per_poll: int = 20
    max_backoff: float = 600.0


@dataclass
class PollReport:
    """What one poll did (logged, and read by the tests and the benchmark)."""

    pages: int = 0
    queued: int = 0
    backfilled: int = 0
    recorded: int = 0
    already: int = 0
    busy: int = 0
    failed: int = 0
    given_up: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{field.name} {getattr(self, field.name)}"
                         for field in dataclasses.fields(self) if getattr(self, field.name))


class Poller:
    """Polls one Ironic; every position it needs between polls is in ``store``."""

    def __init__(self, ironic: NodeLister, store: FollowerStore, recorder: Recorder,
                 config: PollConfig, metrics: FollowerMetrics | None = None,
                 clock: Callable[[], datetime.datetime] | None = None) -> None:
        self.ironic = ironic
        self.store = store
        self.recorder = recorder
        self.config = config
        self.metrics = metrics
        self.clock = clock or _utcnow

    async def poll(self) -> PollReport:
        """One poll; IronicError when Ironic as a whole fails (see :mod:`backoff`)."""
        report = PollReport()
        now = self.clock()
        state = await self.store.state()
        if state.started:
            state = await self._fresh(state, now, report)
        else:
            state = await self._first(state, now, report)
        state = await self._backfill(state, now, report)
        await self._read_due(now, report)
        await self._sweep(state, now, report)
        if self.metrics is not None:
            self.metrics.pending(await self.store.pending_count())
            if state.watermark is not None:
                self.metrics.watermark(
                    state.watermark.replace(tzinfo=datetime.UTC).timestamp())
        return report

    # -- 1. fresh inspections --------------------------------------------------------------
    async def _walk_top(self, watermark: datetime.datetime | None, report: PollReport,
                        first: bool) -> scan.FreshPage:
        """The walk from the top: every inspection above the threshold (on the first poll,
        the first page with a time is enough)."""
        marker: str | None = None
        moved: list[Any] = []
        newest: datetime.datetime | None = None
        valued = False
        while True:
            nodes, following = await self._page("desc", marker)
            report.pages += 1
            page = scan.scan_fresh(nodes, watermark, valued)
            moved.extend(page.moved)
            valued = page.valued
            if page.newest is not None:
                newest = page.newest if newest is None else max(newest, page.newest)
            if page.done or following is None or (first and valued):
                return scan.FreshPage(moved, newest, True, valued)
            if not valued and marker is None and await self._nothing_inspected(report):
                return scan.FreshPage(moved, newest, True, valued)
            marker = following

    async def _nothing_inspected(self, report: PollReport) -> bool:
        """A first page of nulls: the nulls sort first here (PostgreSQL) or no node was
        ever inspected; the other direction's first node tells."""
        nodes, _ = await self.ironic.list_nodes_page(
            fields=LIST_FIELDS, sort_key=SORT_KEY, sort_dir="asc", limit=1)
        report.pages += 1
        return not nodes or not nodes[0].get("inspection_finished_at")

    async def _first(self, state: FollowerState, now: datetime.datetime,
                     report: PollReport) -> FollowerState:
        top = await self._walk_top(None, report, first=True)
        if top.newest is None:
            # Nothing inspected yet: every inspection to come is a fresh one.
            state = dataclasses.replace(state, backfill_done=True)
            LOG.info("Following Ironic: no node was inspected yet")
        else:
            state = dataclasses.replace(state, watermark=top.newest,
                                        backfill_until=top.newest, backfill_marker=None)
            LOG.info("Following Ironic from its inspections finished at %s; the earlier "
                     "ones are backfilled, %d per poll", top.newest.isoformat(),
                     self.config.backfill_per_poll)
        await self.store.save_state(state, now)
        return state

    async def _fresh(self, state: FollowerState, now: datetime.datetime,
                     report: PollReport) -> FollowerState:
        top = await self._walk_top(state.watermark, report, first=False)
        watermark = state.watermark
        if top.newest is not None and (watermark is None or top.newest > watermark):
            watermark = top.newest
        state = dataclasses.replace(state, watermark=watermark)
        queued = await self.store.queue(top.moved, now, state)
        report.queued += len(queued)
        for uuid in queued:
            LOG.info("Following Ironic: node %s has a new inspection", uuid)
        return state

    # -- 2. backfill -----------------------------------------------------------------------
    async def _backfill(self, state: FollowerState, now: datetime.datetime,
                        report: PollReport) -> FollowerState:
        until = state.backfill_until
        if state.backfill_done or until is None:
            return state
        try:
            nodes, following = await self._page("desc", state.backfill_marker)
        except IronicError as exc:
            if exc.status not in (400, 404) or state.backfill_marker is None:
                raise
            # The marker node was deleted: start again from the top (the queue keeps
            # whatever is known already from being read twice).
            LOG.info("Following Ironic: the backfill's position %s is gone, starting "
                     "the backfill again", state.backfill_marker)
            state = dataclasses.replace(state, backfill_marker=None)
            await self.store.save_state(state, now)
            return state
        report.pages += 1
        page = scan.scan_backfill(nodes, until, self.config.backfill_per_poll,
                                  state.backfill_marker, following is None)
        state = dataclasses.replace(state, backfill_marker=page.marker,
                                    backfill_done=page.done)
        queued = await self.store.queue(page.queued, now, state)
        report.backfilled += len(queued)
        if page.done:
            LOG.info("Following Ironic: backfill done")
        return state

    # -- 3. inventories --------------------------------------------------------------------
    async def _read_due(self, now: datetime.datetime, report: PollReport) -> None:
        for pending in await self.store.due(now, self.config.page_size):
            await self._read_one(pending, now, report)

    async def _read_one(self, pending: PendingInventory, now: datetime.datetime,
                        report: PollReport) -> None:
        try:
            answer = await self.ironic.get_inventory(pending.uuid)
        except IronicError as exc:
            if backoff.poll_failure(exc) is not None:
                raise
            await self._inventory_failed(pending, exc, now, report)
            return
        try:
            outcome = await self.recorder(pending, answer)
        except IronicError as exc:
            if backoff.poll_failure(exc) is not None:
                raise
            await self._failed(pending, f"recording failed: {exc}", now, report)
            return
        except MetalScopeError as exc:
            await self._failed(pending, f"recording failed: {exc}", now, report)
            return
        if outcome is Outcome.BUSY:
            report.busy += 1
            await self.store.postpone(pending.uuid, _later(now, self.config.poll_interval))
            return
        if outcome is Outcome.RECORDED:
            report.recorded += 1
        else:
            report.already += 1
        await self.store.recorded(pending.uuid, pending.finished_at)

    async def _inventory_failed(self, pending: PendingInventory, exc: IronicError,
                                now: datetime.datetime, report: PollReport) -> None:
        if backoff.node_gone(exc):
            await self._mark_deleted([pending.uuid], now, report)
            return
        if not backoff.inventory_missing(exc):
            await self._failed(pending, str(exc), now, report)
            return
        if self.metrics is not None:
            self.metrics.inventory_failed("missing")
        if pending.attempts + 1 >= backoff.MISSING_ATTEMPTS:
            report.given_up += 1
            LOG.error("Following Ironic: Ironic keeps no inventory of the inspection of node "
                      "%s finished at %s (%d attempts; is [inventory]data_backend = none?): "
                      "%s; that inspection is left out of the history", pending.uuid,
                      pending.finished_at.isoformat(), pending.attempts + 1, exc)
            if self.metrics is not None:
                self.metrics.inventory_given_up()
            await self.store.failed(pending.uuid, pending.finished_at, str(exc), None)
            return
        report.failed += 1
        retry = self._retry_at(pending, now)
        LOG.warning("Following Ironic: no inventory of node %s yet (%s); trying again at %s",
                    pending.uuid, exc, retry.isoformat())
        await self.store.failed(pending.uuid, pending.finished_at, str(exc), retry)

    async def _failed(self, pending: PendingInventory, error: str, now: datetime.datetime,
                      report: PollReport) -> None:
        report.failed += 1
        if self.metrics is not None:
            self.metrics.inventory_failed("error")
        retry = self._retry_at(pending, now)
        LOG.warning("Following Ironic: the inventory of node %s failed (%s); trying again "
                    "at %s", pending.uuid, error, retry.isoformat())
        await self.store.failed(pending.uuid, pending.finished_at, error, retry)

    def _retry_at(self, pending: PendingInventory, now: datetime.datetime) -> datetime.datetime:
        return _later(now, backoff.delay(pending.attempts + 1, self.config.poll_interval,
                                         self.config.max_backoff))

    # -- 4. deletion sweep -----------------------------------------------------------------
    async def _sweep(self, state: FollowerState, now: datetime.datetime,
                     report: PollReport) -> None:
        marker = state.sweep_marker
        try:
            nodes, following = await self.ironic.list_nodes_page(
                fields=("uuid",), sort_key="uuid", sort_dir="asc",
                limit=self.config.page_size, marker=marker)
        except IronicError as exc:
            if exc.status not in (400, 404) or marker is None:
                raise
            # The marker node is gone: the sweep starts again from the first UUID.
            latest = await self.store.state()
            await self.store.save_state(dataclasses.replace(latest, sweep_marker=None), now)
            return
        report.pages += 1
        last = str(nodes[-1]["uuid"]) if nodes and following is not None else None
        known = await self.store.known_between(marker, last)
        await self._mark_deleted(scan.gone(nodes, known), now, report)
        latest = await self.store.state()
        await self.store.save_state(dataclasses.replace(latest, sweep_marker=last), now)

    async def _mark_deleted(self, uuids: list[str], now: datetime.datetime,
                            report: PollReport) -> None:
        marked = await self.store.mark_deleted(uuids, now)
        for uuid in marked:
            LOG.warning("Following Ironic: node %s was deleted from Ironic; its history is "
                        "kept ([history] retention)", uuid)
        report.deleted += len(marked)
        if marked and self.metrics is not None:
            self.metrics.nodes_deleted(len(marked))

    async def _page(self, direction: str,
                    marker: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return await self.ironic.list_nodes_page(
            fields=LIST_FIELDS, sort_key=SORT_KEY, sort_dir=direction,
            limit=self.config.page_size, marker=marker)


def _later(now: datetime.datetime, seconds: float) -> datetime.datetime:
    return now + datetime.timedelta(seconds=seconds)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
