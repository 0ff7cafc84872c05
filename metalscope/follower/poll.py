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
from metalscope.follower.convert import LIST_FIELDS, parse_time
from metalscope.metrics.follower import FollowerMetrics
from metalscope.storage.follower import (
    FollowerState,
    FollowerStore,
    PendingInventory,
    SeenInspection,
)

LOG = logging.getLogger(__name__)
SORT_KEY = "inspection_finished_at"


class NodeLister(Protocol):
    async def get_node(self, node_id: str, fields: Any = None) -> dict[str, Any]: ...

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


@dataclass
class Walk:
    """What the pages of one walk found, together."""

    moved: list[SeenInspection] = dataclasses.field(default_factory=list)
    times: list[tuple[str, datetime.datetime]] = dataclasses.field(default_factory=list)

    def add(self, page: scan.FreshPage) -> None:
        self.moved.extend(page.moved)
        self.times.extend(page.times)

    @property
    def newest(self) -> datetime.datetime | None:
        return max((at for _, at in self.times), default=None)

    def top(self) -> tuple[str, datetime.datetime] | None:
        """The node with the newest time (the first listed of equal ones)."""
        newest = self.newest
        return next(((uuid, at) for uuid, at in self.times if at == newest), None)


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
    async def _walk_down(self, threshold: datetime.datetime | None, report: PollReport,
                         first: bool = False) -> tuple[Walk, bool]:
        """The walk down from the top to ``threshold`` (on the first poll, to the first
        page with a time); and whether it was blocked by a first page of nodes never
        inspected with more pages after it (it must go up from the anchor instead)."""
        walk = Walk()
        marker: str | None = None
        valued = False
        while True:
            nodes, following = await self._page("desc", marker)
            report.pages += 1
            page = scan.scan_fresh(nodes, threshold, valued)
            walk.add(page)
            valued = page.valued
            if page.done or following is None or (first and valued):
                return walk, False
            if not valued:
                return walk, True
            marker = following  # a node with a time: the page's last

    async def _walk_up(self, state: FollowerState, threshold: datetime.datetime | None,
                       report: PollReport) -> Walk:
        """The walk up from the anchor, or, when it is gone or was inspected again, from
        the node inspected first (every node with a time is then listed, once)."""
        walk = Walk()
        marker = await self._usable_anchor(state)
        if marker is None:
            oldest, _ = await self.ironic.list_nodes_page(
                fields=LIST_FIELDS, sort_key=SORT_KEY, sort_dir="asc", limit=1)
            report.pages += 1
            if not oldest or not oldest[0].get("inspection_finished_at"):
                return walk  # no node was ever inspected
            LOG.warning("Following Ironic: the first page of Ironic's node list is nodes never "
                        "inspected and no anchor is known; walking every inspected node once")
            walk.add(scan.scan_upwards(oldest, threshold))
            marker = str(oldest[0]["uuid"])
        while True:
            nodes, following = await self._page("asc", marker)
            report.pages += 1
            walk.add(scan.scan_upwards(nodes, threshold))
            if following is None:
                return walk
            marker = following

    async def _usable_anchor(self, state: FollowerState) -> str | None:
        """The anchor, when Ironic still has it with the time it had."""
        if state.anchor_uuid is None or state.anchor_finished_at is None:
            return None
        try:
            node = await self.ironic.get_node(state.anchor_uuid,
                                              fields=["uuid", "inspection_finished_at"])
        except IronicError as exc:
            if backoff.poll_failure(exc) is not None:
                raise
            return None
        if parse_time(node.get("inspection_finished_at")) != state.anchor_finished_at:
            return None
        return state.anchor_uuid

    async def _walk(self, state: FollowerState, threshold: datetime.datetime | None,
                    report: PollReport, first: bool = False) -> Walk:
        walk, blocked = await self._walk_down(threshold, report, first)
        if blocked:
            walk = await self._walk_up(state, threshold, report)
        return walk

    def _anchored(self, state: FollowerState, walk: Walk) -> FollowerState:
        anchor = scan.choose_anchor(walk.times, state.watermark)
        if anchor is None or (state.anchor_finished_at is not None
                              and anchor[1] <= state.anchor_finished_at):
            return state
        return dataclasses.replace(state, anchor_uuid=anchor[0], anchor_finished_at=anchor[1])

    async def _first(self, state: FollowerState, now: datetime.datetime,
                     report: PollReport) -> FollowerState:
        walk = await self._walk(state, None, report, first=True)
        top = walk.top()
        if top is None:
            # Nothing inspected yet: every inspection to come is a fresh one.
            state = dataclasses.replace(state, backfill_done=True)
            LOG.info("Following Ironic: no node was inspected yet")
            await self.store.save_state(state, now)
            return state
        uuid, newest = top
        # The backfill walks down after the newest node: it (and any other of that very
        # time) is queued now.
        state = self._anchored(dataclasses.replace(
            state, watermark=newest, backfill_until=newest, backfill_marker=uuid), walk)
        tied = [seen for seen in walk.moved if seen.finished_at == newest]
        queued = await self.store.queue(tied, now, state)
        report.queued += len(queued)
        LOG.info("Following Ironic from its inspections finished at %s; the earlier ones are "
                 "backfilled, %d per poll", newest.isoformat(), self.config.backfill_per_poll)
        return state

    async def _fresh(self, state: FollowerState, now: datetime.datetime,
                     report: PollReport) -> FollowerState:
        threshold = None if state.watermark is None else state.watermark - scan.LOOKBACK
        walk = await self._walk(state, threshold, report)
        watermark = state.watermark
        newest = walk.newest
        if newest is not None and (watermark is None or newest > watermark):
            watermark = newest
        state = self._anchored(dataclasses.replace(state, watermark=watermark), walk)
        queued = await self.store.queue(walk.moved, now, state)
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
            # The marker node was deleted: start again from the anchor, else from the top
            # (the queue keeps whatever is known already from being read twice).
            LOG.info("Following Ironic: the backfill's position %s is gone, starting "
                     "the backfill again", state.backfill_marker)
            restart = (state.anchor_uuid if state.anchor_uuid != state.backfill_marker
                       else None)
            state = dataclasses.replace(state, backfill_marker=restart)
            await self.store.save_state(state, now)
            return state
        report.pages += 1
        page = scan.scan_backfill(nodes, until, self.config.backfill_per_poll,
                                  state.backfill_marker, following is None)
        done = page.done
        if page.marker is None and not done:
            # A first page of nodes never inspected (PostgreSQL) and no anchor to start from.
            LOG.warning("Following Ironic: the backfill cannot start below a page of nodes "
                        "never inspected; inspections finished before %s are left out",
                        until.isoformat())
            done = True
        state = dataclasses.replace(state, backfill_marker=page.marker, backfill_done=done)
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
