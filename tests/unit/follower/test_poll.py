"""One poll of Ironic's own inspections (follower/poll.py) over a real FollowerStore on
SQLite and an in-memory Ironic: watermark, paging, backfill bound, resume, 404, errors and
back-off, deleted nodes, no duplicates."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from metalscope.errors import IronicError
from metalscope.follower import backoff
from metalscope.follower.poll import Outcome, PollConfig, Poller
from metalscope.metrics import Metrics
from metalscope.metrics.follower import FollowerMetrics
from metalscope.storage.follower import FollowerStore, PendingInventory
from metalscope.storage.repository import Repository
from tests.unit.follower.inspecting_ironic import T0, InspectingIronic, iso

MINUTE = datetime.timedelta(minutes=1)


@dataclass
class Clock:
    now: datetime.datetime = T0 + datetime.timedelta(hours=1)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float = 30) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@dataclass
class Recorder:
    """Keeps what it was given; an inspection it has is ``ALREADY`` (as the history's
    check does), a node in ``busy`` is locked."""

    versions: list[tuple[str, datetime.datetime]] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)
    calls: int = 0

    async def __call__(self, pending: PendingInventory, answer: dict[str, Any]) -> Outcome:
        self.calls += 1
        assert "inventory" in answer
        if pending.uuid in self.busy:
            return Outcome.BUSY
        key = (pending.uuid, pending.finished_at)
        if key in self.versions:
            return Outcome.ALREADY
        self.versions.append(key)
        return Outcome.RECORDED

    def of(self, uuid: str) -> list[datetime.datetime]:
        return [at for node, at in self.versions if node == uuid]


@pytest.fixture
def ironic() -> InspectingIronic:
    return InspectingIronic()


@pytest.fixture
def store(repo: Repository) -> FollowerStore:
    return FollowerStore(repo.engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


PollerFactory = Callable[..., Poller]


@pytest.fixture
def make_poller(ironic: InspectingIronic, store: FollowerStore, recorder: Recorder,
                clock: Clock) -> PollerFactory:
    def make(page_size: int = 10, backfill: int = 3, metrics: FollowerMetrics | None = None,
             poller_store: FollowerStore | None = None) -> Poller:
        config = PollConfig(poll_interval=30, page_size=page_size, backfill_per_poll=backfill,
                            max_backoff=600)
        return Poller(ironic, poller_store or store, recorder, config, metrics, clock)
    return make


def inspected_fleet(ironic: InspectingIronic, count: int) -> list[str]:
    uuids = []
    for index in range(count):
        uuid = ironic.enroll(f"node-{index}")
        ironic.inspect(uuid, T0 + index * MINUTE)
        uuids.append(uuid)
    return uuids


async def test_first_poll_sets_the_watermark_and_backfills_a_bounded_number(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    uuids = inspected_fleet(ironic, 10)
    poller = make_poller(backfill=3)
    report = await poller.poll()
    state = await store.state()
    assert state.watermark == T0 + 9 * MINUTE
    assert state.backfill_until == state.watermark
    # The newest inspection, then the backfill's bounded share of the others.
    assert report.queued == 1 and report.backfilled == 3 and report.recorded == 4
    assert len(ironic.inventory_reads()) == 4
    for _ in range(5):
        clock.advance()
        report = await poller.poll()
        assert report.backfilled <= 3
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(uuids)
    assert (await store.state()).backfill_done
    assert Counter(ironic.inventory_reads()) == Counter(dict.fromkeys(uuids, 1))


async def test_a_new_inspection_is_recorded_at_the_next_poll_and_an_idle_poll_reads_none(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    old = inspected_fleet(ironic, 2)
    fresh = ironic.enroll("fresh")
    poller = make_poller(backfill=10)
    await poller.poll()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(old)
    ironic.inspect(fresh, clock.now)
    clock.advance()
    report = await poller.poll()
    assert report.queued == 1 and report.recorded == 1
    assert recorder.of(fresh) == [clock.now - datetime.timedelta(seconds=30)]
    assert (await store.state()).watermark == recorder.of(fresh)[0]
    reads, lists = len(ironic.inventory_reads()), ironic.list_requests()
    clock.advance()
    report = await poller.poll()
    assert report.recorded == 0 and len(ironic.inventory_reads()) == reads
    # An idle poll: one page from the top, one of the deletion sweep.
    assert ironic.list_requests() - lists == 2


async def test_a_second_inspection_of_a_node_is_a_second_version(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory) -> None:
    (uuid,) = inspected_fleet(ironic, 1)
    poller = make_poller()
    await poller.poll()
    for _ in range(2):
        clock.advance(300)
        ironic.inspect(uuid, clock.now, memory_mb=8192)
        clock.advance()
        await poller.poll()
    assert len(recorder.of(uuid)) == 3


async def test_many_new_inspections_are_paged_to_the_watermark_and_read_page_size_a_poll(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    uuids = [ironic.enroll(f"n{i}") for i in range(25)]
    poller = make_poller(page_size=10, backfill=10)
    await poller.poll()  # nothing inspected yet
    for index, uuid in enumerate(uuids):
        ironic.inspect(uuid, clock.now + index * datetime.timedelta(seconds=1))
    clock.advance(60)
    report = await poller.poll()
    assert report.queued == 25
    assert report.recorded == 10  # page_size inventories a poll
    assert (await store.state()).watermark == clock.now - datetime.timedelta(seconds=36)
    for _ in range(2):
        clock.advance()
        await poller.poll()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(uuids)
    assert len(ironic.inventory_reads()) == 25


async def test_a_restart_resumes_from_the_stored_watermark_without_reading_again(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, repo: Repository) -> None:
    uuids = inspected_fleet(ironic, 6)
    first = make_poller(backfill=2)
    await first.poll()
    clock.advance()
    await first.poll()
    assert len(recorder.versions) == 5
    # A new process: a new store and poller over the same database.
    restarted = make_poller(backfill=2, poller_store=FollowerStore(repo.engine))
    clock.advance()
    await restarted.poll()
    clock.advance()
    await restarted.poll()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(uuids)
    assert Counter(ironic.inventory_reads()) == Counter(dict.fromkeys(uuids, 1))


async def test_two_instances_polling_in_turn_record_each_inspection_once(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, repo: Repository) -> None:
    uuids = inspected_fleet(ironic, 8)
    one = make_poller(backfill=3)
    two = make_poller(backfill=3, poller_store=FollowerStore(repo.engine))
    for turn in range(8):
        if turn == 4:
            ironic.inspect(uuids[0], clock.now, memory_mb=1024)
        await (one if turn % 2 else two).poll()
        clock.advance()
    assert len(recorder.versions) == len(set(recorder.versions)) == 9
    assert recorder.calls == 9


async def test_the_lookback_reads_the_top_again_without_queuing_it_again(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory) -> None:
    uuids = inspected_fleet(ironic, 2)
    poller = make_poller()
    await poller.poll()
    late = ironic.enroll("late")
    # Committed late: its time is a little older than the watermark.
    ironic.inspect(late, T0 + MINUTE - datetime.timedelta(seconds=20))
    for _ in range(3):
        clock.advance()
        await poller.poll()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted([*uuids, late])
    assert recorder.calls == 3


async def test_nulls_sorted_first_are_walked_past(clock: Clock, store: FollowerStore,
                                                  recorder: Recorder) -> None:
    """Ironic on PostgreSQL: more nodes never inspected than a page, listed first; a page
    after one of them would skip nodes, so the walk goes up from the anchor."""
    ironic = InspectingIronic(nulls_first=True)
    inspected = [ironic.enroll(f"seen-{i}") for i in range(8)]
    never = [ironic.enroll(f"never-{i}") for i in range(12)]
    for index, uuid in enumerate(inspected):
        ironic.inspect(uuid, T0 + index * MINUTE)
    poller = Poller(ironic, store, recorder, PollConfig(page_size=5, backfill_per_poll=3),
                    None, clock)
    for _ in range(4):
        await poller.poll()
        clock.advance()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(inspected)
    state = await store.state()
    assert state.anchor_uuid is not None and state.backfill_done
    for uuid in (never[0], inspected[0], never[11]):
        ironic.inspect(uuid, clock.now)
        clock.advance()
    lists, reads = ironic.list_requests(), len(ironic.inventory_reads())
    await poller.poll()
    assert recorder.of(never[0]) and recorder.of(never[11]) and len(recorder.of(inspected[0])) == 2
    assert len(ironic.inventory_reads()) - reads == 3
    # Idle: the top page, the anchor read, one page up from it, the sweep's page.
    clock.advance()
    lists = ironic.list_requests()
    await poller.poll()
    assert ironic.list_requests() - lists == 3


async def test_an_anchor_inspected_again_is_replaced_without_losing_an_inspection(
        clock: Clock, store: FollowerStore, recorder: Recorder) -> None:
    ironic = InspectingIronic(nulls_first=True)
    inspected = [ironic.enroll(f"seen-{i}") for i in range(4)]
    for _ in range(6):
        ironic.enroll("never")
    for index, uuid in enumerate(inspected):
        ironic.inspect(uuid, T0 + index * MINUTE)
    poller = Poller(ironic, store, recorder, PollConfig(page_size=3, backfill_per_poll=10),
                    None, clock)
    await poller.poll()
    anchor = (await store.state()).anchor_uuid
    assert anchor is not None
    ironic.inspect(anchor, clock.now)
    other = next(uuid for uuid in inspected if uuid != anchor)
    ironic.inspect(other, clock.now - datetime.timedelta(seconds=5))
    for _ in range(2):
        clock.advance()
        await poller.poll()
    assert len(recorder.of(anchor)) == 2
    # Ironic keeps only the last inventory: the backfill meets the newer inspection.
    assert recorder.of(other)[-1] == clock.now - datetime.timedelta(seconds=65)
    state = await store.state()  # the anchor again one whose time Ironic still shows
    assert state.anchor_uuid is not None
    shown = ironic.nodes[state.anchor_uuid]["inspection_finished_at"]
    assert state.anchor_finished_at is not None and shown == iso(state.anchor_finished_at)
    assert sorted({uuid for uuid, _ in recorder.versions}) == sorted(inspected)


async def test_an_ironic_without_inspections_costs_two_lists_a_poll(
        ironic: InspectingIronic, clock: Clock, make_poller: PollerFactory) -> None:
    for index in range(40):
        ironic.enroll(f"n{index}")
    poller = make_poller(page_size=10)
    await poller.poll()
    lists = ironic.list_requests()
    clock.advance()
    await poller.poll()
    # The top page (all null), the other direction's first node, the sweep's page.
    assert ironic.list_requests() - lists == 3


async def test_inspections_of_the_inspector_interface_are_left_to_the_drop_in(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory) -> None:
    own = ironic.enroll("own", interface="inspector")
    ironic.inspect(own, T0)
    followed = ironic.enroll("followed")
    ironic.inspect(followed, T0 + MINUTE)
    poller = make_poller()
    await poller.poll()
    ironic.inspect(own, clock.now)
    clock.advance()
    await poller.poll()
    assert [uuid for uuid, _ in recorder.versions] == [followed]


async def test_an_inventory_ironic_does_not_keep_is_tried_with_back_off_then_given_up(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    poller = make_poller(metrics=FollowerMetrics(Metrics().registry))
    await poller.poll()
    kept, lost = ironic.enroll("kept"), ironic.enroll("lost")
    ironic.inspect(lost, clock.now, keep_inventory=False)
    ironic.inspect(kept, clock.now + datetime.timedelta(seconds=1))
    clock.advance()
    report = await poller.poll()
    assert report.recorded == 1 and report.failed == 1
    row = await store.node(lost)
    assert row.attempts == 1 and "inventory" in row.last_error
    assert row.next_attempt_at == clock.now + datetime.timedelta(seconds=30)
    waits = []
    for _ in range(60):
        clock.advance()
        before = len(ironic.inventory_reads())
        report = await poller.poll()
        if len(ironic.inventory_reads()) > before:
            waits.append(clock.now)
        if report.given_up:
            break
    assert report.given_up == 1
    assert len(waits) == backoff.MISSING_ATTEMPTS - 1
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(waits)]
    assert gaps == sorted(gaps) and gaps[-1] > gaps[0]  # the waits grow
    row = await store.node(lost)
    assert row.next_attempt_at is None and row.attempts == backoff.MISSING_ATTEMPTS
    reads = len(ironic.inventory_reads())
    clock.advance(3600)
    await poller.poll()
    assert len(ironic.inventory_reads()) == reads
    # A newer inspection of that node is followed as usual.
    ironic.inventories[lost] = ironic.inventories[kept]
    ironic.inspect(lost, clock.now)
    clock.advance()
    await poller.poll()
    assert recorder.of(lost)


async def test_a_node_stuck_failing_does_not_hold_the_others_back(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    poller = make_poller()
    await poller.poll()
    stuck = ironic.enroll("stuck")
    ironic.failing[stuck] = 500
    ironic.inspect(stuck, clock.now)
    clock.advance()
    await poller.poll()
    others = []
    for index in range(3):
        other = ironic.enroll(f"other-{index}")
        ironic.inspect(other, clock.now)
        others.append(other)
        clock.advance(120)
        await poller.poll()
        assert recorder.of(other)
    assert (await store.state()).watermark == clock.now - datetime.timedelta(seconds=120)
    row = await store.node(stuck)
    assert row.next_attempt_at is not None and row.attempts >= 2
    assert row.next_attempt_at - clock.now <= datetime.timedelta(seconds=600)
    del ironic.failing[stuck]
    clock.advance(600)
    await poller.poll()
    assert recorder.of(stuck)


@pytest.mark.parametrize("status", [None, 401, 403, 503])
async def test_ironic_failing_as_a_whole_stops_the_poll_and_nothing_is_lost(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore, status: int | None) -> None:
    poller = make_poller()
    await poller.poll()
    uuid = ironic.enroll("n")
    ironic.inspect(uuid, clock.now)
    ironic.down = True if status is None else status
    clock.advance()
    with pytest.raises(IronicError) as caught:
        await poller.poll()
    assert backoff.poll_failure(caught.value) is not None
    assert recorder.versions == []
    ironic.down = False
    clock.advance()
    await poller.poll()
    assert recorder.of(uuid)
    row = await store.node(uuid)
    assert row.attempts == 0 and row.next_attempt_at is None


async def test_ironic_failing_while_inventories_are_read_leaves_them_queued(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    poller = make_poller()
    await poller.poll()
    uuid = ironic.enroll("n")
    ironic.inspect(uuid, clock.now)
    original = ironic.get_inventory

    async def unreachable(node_id: str) -> dict[str, Any]:
        raise IronicError("Cannot reach Ironic: reset", None)

    ironic.get_inventory = unreachable  # type: ignore[method-assign]
    clock.advance()
    with pytest.raises(IronicError):
        await poller.poll()
    row = await store.node(uuid)
    assert row.next_attempt_at is not None and row.attempts == 0  # not the node's fault
    ironic.get_inventory = original  # type: ignore[method-assign]
    clock.advance()
    await poller.poll()
    assert recorder.of(uuid)


async def test_a_node_deleted_from_ironic_is_marked_by_the_sweep(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    uuids = inspected_fleet(ironic, 25)
    poller = make_poller(page_size=10, backfill=25)
    for _ in range(4):
        await poller.poll()
        clock.advance()
    assert len(recorder.versions) == 25
    gone = sorted(uuids)[13]
    ironic.delete(gone)
    marked = 0
    for _ in range(4):  # a whole sweep: 25 nodes, 10 a page
        marked += (await poller.poll()).deleted
        clock.advance()
    assert marked == 1
    assert set(await store.deleted()) == {gone}
    row = await store.node(gone)
    assert row is not None and row.deleted_at is not None  # marked, not dropped


async def test_a_node_deleted_before_its_inventory_is_read_is_marked(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    poller = make_poller()
    await poller.poll()
    uuid = ironic.enroll("short-lived")
    ironic.inspect(uuid, clock.now)
    ironic.failing[uuid] = 500
    clock.advance()
    await poller.poll()
    del ironic.failing[uuid]
    ironic.delete(uuid)
    clock.advance(120)
    report = await poller.poll()
    assert report.deleted == 1 and recorder.versions == []
    assert uuid in await store.deleted()


async def test_a_locked_node_waits_for_the_next_poll_without_an_attempt_counted(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    poller = make_poller()
    await poller.poll()
    uuid = ironic.enroll("locked")
    ironic.inspect(uuid, clock.now)
    recorder.busy.add(uuid)
    clock.advance()
    assert (await poller.poll()).busy == 1
    row = await store.node(uuid)
    assert row.attempts == 0 and row.next_attempt_at == clock.now + datetime.timedelta(
        seconds=30)
    recorder.busy.clear()
    clock.advance()
    await poller.poll()
    assert recorder.of(uuid)


async def test_the_backfill_starts_again_when_its_position_was_deleted(
        ironic: InspectingIronic, recorder: Recorder, clock: Clock,
        make_poller: PollerFactory, store: FollowerStore) -> None:
    uuids = inspected_fleet(ironic, 6)
    poller = make_poller(backfill=2)
    await poller.poll()
    marker = (await store.state()).backfill_marker
    assert marker is not None
    ironic.delete(marker)
    for _ in range(6):
        clock.advance()
        await poller.poll()
    assert sorted(uuid for uuid, _ in recorder.versions) == sorted(uuids)
    assert len(recorder.versions) == len(set(recorder.versions))
