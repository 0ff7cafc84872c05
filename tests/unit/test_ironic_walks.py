"""ChangesFeed and RollingWalk over an in-memory collection that pages as Ironic does."""

from __future__ import annotations

import datetime

import pytest

from metalscope.errors import IronicError
from metalscope.ironic_walks import ChangesFeed, RollingWalk, WalkPage, parse_time
from tests.unit.fake_collection import START, FakeCollection


def feed_of(ports: FakeCollection, **options: float) -> ChangesFeed:
    return ChangesFeed(ports.list_page, ["address"],  # type: ignore[arg-type]
                       clock=lambda: ports.now, **options)


def uuids(items: list[dict[str, object]]) -> set[str]:
    return {str(item["uuid"]) for item in items}


def fleet(size: int) -> FakeCollection:
    ports = FakeCollection()
    for i in range(size):
        ports.create(address=f"52:54:00:00:{i // 256:02x}:{i % 256:02x}")
        ports.tick(2)
    return ports


class TestParseTime:
    def test_forms(self) -> None:
        assert parse_time("2026-12-06T12:00:00+00:00") == START
        assert parse_time("2026-12-06T12:00:00") == START
        assert parse_time("2026-12-06T12:00:00Z") == START
        assert parse_time(None) is None and parse_time("garbage") is None


class TestChangesFeed:
    async def test_idle_rounds_are_two_small_requests_whatever_the_size(self) -> None:
        for size in (10, 3000):
            ports = fleet(size)
            feed = feed_of(ports)
            await feed.changes()
            ports.tick(15)
            ports.requests.clear()
            assert await feed.changes() == []
            assert feed.requests == 2
            assert [(r["sort_key"], r["sort_dir"], r["limit"]) for r in ports.requests] == [
                ("updated_at", "desc", "50"), ("id", "desc", "50")]
            assert ports.requests[0]["fields"] == "uuid,address,updated_at,created_at"

    async def test_first_round_primes_from_one_page(self) -> None:
        ports = fleet(200)
        feed = feed_of(ports)
        assert not feed.primed
        first = await feed.changes()
        assert feed.requests == 2 and len(first) == 50 and feed.primed
        # The round's start minus the overlap: what is older is for the whole walk.
        overlap = datetime.timedelta(seconds=60)
        assert feed.watermark("created_at") == feed.watermark("updated_at") == ports.now - overlap
        assert await feed.changes() == []

    async def test_a_bulk_enrollment_is_read_once_then_rounds_are_small_again(self) -> None:
        """The watermark follows the clock, not the newest item: after a burst, rounds go
        back to one page per sort key once the overlap has passed."""
        ports = fleet(10)
        feed = feed_of(ports)
        await feed.changes()
        ports.tick(15)
        burst = [ports.create(address=f"52:54:00:07:{i // 256:02x}:{i % 256:02x}")["uuid"]
                 for i in range(1000)]
        assert uuids(await feed.changes()) == set(burst)
        reads = []
        for _ in range(6):
            ports.tick(15)
            assert await feed.changes() == []
            reads.append(feed.requests)
        # Read again (unchanged, so not returned) by the rounds that began less than an
        # overlap after it, and by the next one; then one page per sort key.
        assert reads == [6, 6, 6, 6, 2, 2]

    async def test_new_and_updated_items_are_returned_once(self) -> None:
        ports = fleet(100)
        feed = feed_of(ports)
        await feed.changes()
        ports.tick(15)
        old = next(iter(ports.items))
        ports.update(old, address="52:54:00:aa:bb:cc")
        new = ports.create(address="52:54:00:dd:ee:ff")
        changed = await feed.changes()
        assert uuids(changed) == {old, new["uuid"]}
        assert {str(i["address"]) for i in changed} == {"52:54:00:aa:bb:cc",
                                                        "52:54:00:dd:ee:ff"}
        ports.tick(15)
        assert await feed.changes() == []  # still inside the overlap, but unchanged

    async def test_same_second_writes(self) -> None:
        """Timestamps without sub-second precision: a second write in the same second
        after a round is read at the next round (the overlap), and returned because it
        changed."""
        ports = FakeCollection()
        feed = feed_of(ports)
        await feed.changes()
        port = ports.create(address="52:54:00:00:00:01")
        assert uuids(await feed.changes()) == {port["uuid"]}
        ports.update(port["uuid"], address="52:54:00:00:00:02")
        other = ports.create(address="52:54:00:00:00:03")  # same second too
        changed = await feed.changes()
        assert {str(i["address"]) for i in changed} == {"52:54:00:00:00:02",
                                                        "52:54:00:00:00:03"}
        assert uuids(changed) == {port["uuid"], other["uuid"]}

    async def test_late_write_inside_the_overlap_is_seen(self) -> None:
        """A write stamped before the newest one seen (another host's clock behind, a
        late commit) is still read, while within the overlap."""
        ports = fleet(10)
        feed = feed_of(ports)
        await feed.changes()
        ports.tick(30)
        ports.create(address="52:54:00:00:10:01")
        await feed.changes()
        ports.tick(-45)  # a host 45 s behind
        late = ports.create(address="52:54:00:00:10:02")
        assert uuids(await feed.changes()) == {late["uuid"]}

    async def test_paging_stops_at_the_watermark(self) -> None:
        ports = fleet(500)
        feed = feed_of(ports)
        await feed.changes()
        await feed.changes()  # the rest of the overlap
        ports.tick(120)
        created = [ports.create(address=f"52:54:00:01:00:{i:02x}")["uuid"] for i in range(60)]
        ports.requests.clear()
        changed = await feed.changes()
        assert uuids(changed) == set(created)
        created_reads = [r for r in ports.requests if r["sort_key"] == "id"]
        # 50, then 100 (pages grow): the second page holds the 10 other new ports, the 30
        # enrolled in the 60 s before the newest one seen last time, then older ones.
        assert [r["limit"] for r in created_reads] == ["50", "100"]
        assert created_reads[1]["marker"] == created[-50]

    async def test_never_updated_items_stop_the_updated_at_pages(self) -> None:
        """A new item has updated_at null, sorted after the others in descending order:
        the updated_at reading stops there; the reading by creation returns it."""
        ports = FakeCollection()
        feed = feed_of(ports)
        await feed.changes()
        ports.tick(1)
        fresh = [ports.create(address=f"52:54:00:02:00:{i:02x}")["uuid"] for i in range(60)]
        ports.requests.clear()
        assert uuids(await feed.changes()) == set(fresh)
        updated_reads = [r for r in ports.requests if r["sort_key"] == "updated_at"]
        assert len(updated_reads) == 1

    async def test_empty_ironic_then_a_burst(self) -> None:
        """Primed on an empty collection, every item created later is read, however many."""
        ports = FakeCollection()
        feed = feed_of(ports)
        assert await feed.changes() == []
        assert feed.primed
        ports.tick(5)
        burst = [ports.create(address=f"52:54:00:03:{i // 256:02x}:{i % 256:02x}")["uuid"]
                 for i in range(300)]
        assert uuids(await feed.changes()) == set(burst)

    async def test_ironic_error_skips_the_round_and_keeps_the_state(self) -> None:
        ports = fleet(20)
        feed = feed_of(ports)
        await feed.changes()
        marks = (feed.watermark("updated_at"), feed.watermark("created_at"))
        ports.tick(15)
        new = ports.create(address="52:54:00:04:00:01")
        ports.fail = IronicError("Cannot reach Ironic: connection refused")
        with pytest.raises(IronicError):
            await feed.changes()
        assert (feed.watermark("updated_at"), feed.watermark("created_at")) == marks
        ports.fail = None
        assert uuids(await feed.changes()) == {new["uuid"]}

    async def test_failure_of_the_second_reading_keeps_the_first_unchanged(self) -> None:
        ports = fleet(5)
        feed = feed_of(ports)
        await feed.changes()
        ports.tick(100)
        port = next(iter(ports.items))
        ports.update(port, address="52:54:00:05:00:01")
        ports.fail = IronicError("Service Unavailable", 503)
        ports.fail_sort_key = "id"
        before = feed.watermark("updated_at")
        with pytest.raises(IronicError):
            await feed.changes()
        assert ports.requests[-2]["sort_key"] == "updated_at"  # read, then not kept
        assert feed.watermark("updated_at") == before
        ports.fail = None
        assert uuids(await feed.changes()) == {port}


def walk_of(ports: FakeCollection, clock: list[float], period: float,
            page_size: int = 100) -> RollingWalk:
    return RollingWalk(ports.list_page, ["address"], period=period,  # type: ignore[arg-type]
                       page_size=page_size, clock=lambda: clock[0])


async def due(walk: RollingWalk) -> list[WalkPage]:
    return [page async for page in walk.due_pages()]


class TestRollingWalk:
    async def test_first_walk_is_whole_then_pages_are_paced(self) -> None:
        ports, clock = fleet(450), [0.0]
        walk = walk_of(ports, clock, period=100)
        pages = await due(walk)
        assert [len(p.items) for p in pages] == [100, 100, 100, 100, 50]
        assert walk.walks == 1 and walk.expected_pages == 5
        assert pages[0].after is None and pages[-1].last
        assert {i["uuid"] for p in pages for i in p.items} == set(ports.items)
        # A page every 20 s; the next walk starts 20 s after the last page.
        seen = []
        for t in range(0, 201, 5):
            clock[0] = float(t)
            seen += [(t, len(p.items)) for p in await due(walk)]
        assert [t for t, _ in seen] == [20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
        assert walk.walks == 3

    async def test_pages_are_consecutive_ranges(self) -> None:
        ports, clock = fleet(250), [0.0]
        walk = walk_of(ports, clock, period=0)
        pages = await due(walk)
        assert [(p.after is None, p.last) for p in pages] == [(True, False), (False, False),
                                                              (False, True)]
        assert pages[1].after == pages[0].through and pages[2].after == pages[1].through
        for page in pages:
            assert all(page.covers(str(i["uuid"])) for i in page.items)
        assert sum(p.covers(u) for p in pages for u in ports.items) == 250

    async def test_period_zero_walks_whole_every_time(self) -> None:
        ports, clock = fleet(250), [0.0]
        walk = walk_of(ports, clock, period=0)
        for _ in range(3):
            assert len(await due(walk)) == 3
        assert walk.walks == 3

    async def test_deletions_found_in_the_range_of_a_page(self) -> None:
        ports, clock = fleet(300), [0.0]
        walk = walk_of(ports, clock, period=0)
        known = set(ports.items)
        gone = sorted(known)[::37]
        for uuid in gone:
            ports.delete(uuid)
        missing = set()
        for page in await due(walk):
            missing |= page.missing(known)
        assert missing == set(gone)

    async def test_items_created_during_the_walk_are_not_deletions(self) -> None:
        """A page only speaks for its own range, read at its own time: an item known
        (from the feed) after an earlier page was read is never counted missing."""
        ports, clock = fleet(300), [0.0]
        walk = walk_of(ports, clock, period=300)
        await due(walk)  # first walk, whole
        known = set(ports.items)
        missing: set[str] = set()
        for t in range(100, 401, 100):
            clock[0] = float(t)
            for page in await due(walk):
                missing |= page.missing(known)
            created = ports.create(address=f"52:54:00:06:00:{t // 100:02x}")
            known.add(created["uuid"])
        assert missing == set()

    async def test_error_resumes_from_the_same_marker(self) -> None:
        ports, clock = fleet(250), [0.0]
        walk = walk_of(ports, clock, period=0)
        read: list[WalkPage] = []
        ports.fail = None
        with pytest.raises(IronicError):
            async for page in walk.due_pages():
                read.append(page)
                ports.fail = IronicError("Cannot reach Ironic: timed out")
        assert len(read) == 1
        ports.fail = None
        rest = await due(walk)
        assert rest[0].after == read[0].through and len(rest) == 2
        assert walk.walks == 1

    async def test_lost_marker_restarts_the_walk(self) -> None:
        ports, clock = fleet(300), [0.0]
        walk = walk_of(ports, clock, period=0)
        first: list[WalkPage] = []
        with pytest.raises(IronicError, match="could not be found"):
            async for page in walk.due_pages():
                first.append(page)
                assert page.through is not None
                ports.delete(page.through)
        assert len(first) == 1
        again = await due(walk)
        assert again[0].after is None and again[-1].last
        assert walk.walks == 1

    async def test_empty_collection_is_one_empty_last_page(self) -> None:
        ports, clock = FakeCollection(), [0.0]
        walk = walk_of(ports, clock, period=60)
        pages = await due(walk)
        assert len(pages) == 1 and pages[0].last and pages[0].items == []
        assert pages[0].missing({"a", "b"}) == {"a", "b"}

    async def test_walk_all_reads_the_rest_at_once(self) -> None:
        ports, clock = fleet(250), [0.0]
        walk = walk_of(ports, clock, period=1000)
        await due(walk)
        clock[0] = 1.0
        assert len(await walk.walk_all()) == 3 and walk.requests == 3
