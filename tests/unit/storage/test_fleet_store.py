"""FleetStore on SQLite: paging, sorts, filters, search, the outer join, replacement and
deletion. Collected again on PostgreSQL and MariaDB by
tests/integration/server_databases/test_fleet.py (its ``repo`` fixture)."""

from __future__ import annotations

import datetime
from dataclasses import replace

from metalscope.fleet.query import FleetQuery
from metalscope.fleet.summary import HardwareSummary, MatchedRule, summarise
from metalscope.simulator import make_node, ramdisk_data
from metalscope.state_machine import Event
from metalscope.storage.repository import NodeRecord, Repository, utcnow
from tests import factories

BASE = datetime.datetime(2026, 12, 1, 8, 0, 0)


def uuid_of(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def summary_of(n: int) -> HardwareSummary:
    """A simulated machine's summary; memory and disks grow with ``n``."""
    base = summarise(ramdisk_data(make_node(n % 5, n)))
    return replace(base, memory_mib=1024 * (n + 1), disk_bytes=(n + 1) * factories.GIB,
                   cpu_count=8 * (n % 3 + 1))


async def finished(repo: Repository, n: int, *, error: str | None = None,
                   summary: bool = True) -> NodeRecord:
    record = await repo.start_introspection(uuid_of(n), False, [], None)
    record = await repo.transition(record, Event.WAIT)
    record = await repo.transition(record, Event.PROCESS)
    record, _ = await repo.settle(record, Event.ERROR if error else Event.FINISH, error=error)
    if summary:
        await repo.fleet.save_summary(uuid_of(n), f"node-{n:03d}", summary_of(n),
                                      BASE + datetime.timedelta(minutes=n))
    return record


async def waiting(repo: Repository, n: int) -> NodeRecord:
    record = await repo.start_introspection(uuid_of(n), False, [], None)
    return await repo.transition(record, Event.WAIT)


async def uuids(repo: Repository, **query: object) -> list[str]:
    page = await repo.fleet.page(FleetQuery(**query))  # type: ignore[arg-type]
    return [row.uuid for row in page.rows]


async def test_a_summary_reads_back_as_saved(repo: Repository) -> None:
    await finished(repo, 1)
    summary = replace(summarise(factories.ramdisk_data()),
                      rules=(MatchedRule("r-1", "Dell servers"), MatchedRule("r-2", None)))
    await repo.fleet.save_summary(uuid_of(1), "rack12-u07", summary, BASE)
    row = await repo.fleet.row(uuid_of(1))
    assert row is not None
    assert (row.uuid, row.name, row.state, row.error) == (uuid_of(1), "rack12-u07",
                                                          "finished", None)
    assert row.summary == summary and row.inspected_at == BASE
    assert row.finished_at is not None and row.started_at is not None


async def test_nodes_without_a_summary_are_listed_with_none(repo: Repository) -> None:
    await finished(repo, 1)
    await waiting(repo, 2)
    await finished(repo, 3, error="Preprocessing hook ramdisk_error: boom", summary=False)
    page = await repo.fleet.page(FleetQuery(sort="uuid", descending=False))
    assert [(r.uuid, r.state, r.summary is None, r.name) for r in page.rows] == [
        (uuid_of(1), "finished", False, "node-001"), (uuid_of(2), "waiting", True, None),
        (uuid_of(3), "error", True, None)]
    assert page.rows[2].error == "Preprocessing hook ramdisk_error: boom"
    assert page.total == 3
    assert page.state_counts == {"finished": 1, "waiting": 1, "error": 1}
    assert await repo.fleet.row(uuid_of(9)) is None


async def test_pages_cover_the_fleet_once(repo: Repository) -> None:
    for n in range(23):
        await finished(repo, n)
    seen: list[str] = []
    for offset in range(0, 30, 10):
        page = await repo.fleet.page(FleetQuery(sort="memory_mib", offset=offset, limit=10))
        assert page.total == 23
        seen += [row.uuid for row in page.rows]
    assert seen == [uuid_of(n) for n in reversed(range(23))]
    assert await uuids(repo, offset=40) == []


async def test_sorts_in_both_directions_with_ties_by_uuid(repo: Repository) -> None:
    for n in range(6):
        await finished(repo, n)
    assert await uuids(repo, sort="cpu_count", descending=False) == [
        uuid_of(n) for n in (0, 3, 1, 4, 2, 5)]
    assert await uuids(repo, sort="cpu_count") == [uuid_of(n) for n in (5, 2, 4, 1, 3, 0)]
    assert await uuids(repo, sort="name", descending=False) == [uuid_of(n) for n in range(6)]
    assert await uuids(repo, sort="disk_bytes") == [uuid_of(n) for n in reversed(range(6))]


async def test_every_sort_key_runs(repo: Repository) -> None:
    for n in range(3):
        await finished(repo, n)
    await waiting(repo, 3)
    for key in ("name", "uuid", "state", "started_at", "finished_at", "vendor", "model",
                "cpu_count", "memory_mib", "disk_count", "disk_bytes", "nic_count"):
        for descending in (True, False):
            assert sorted(await uuids(repo, sort=key, descending=descending)) == [
                uuid_of(n) for n in range(4)]


async def test_states_sort_by_name_on_every_database(repo: Repository) -> None:
    await finished(repo, 1)
    await waiting(repo, 2)
    await finished(repo, 3, error="failed")
    await repo.start_introspection(uuid_of(4), False, [], None)
    page = await repo.fleet.page(FleetQuery(sort="state", descending=False))
    assert [r.state for r in page.rows] == ["error", "finished", "starting", "waiting"]


async def test_missing_values_sort_as_the_smallest(repo: Repository) -> None:
    """The same order on every database: NULL first ascending, last descending."""
    await finished(repo, 1)
    await waiting(repo, 2)
    await finished(repo, 3)
    assert await uuids(repo, sort="memory_mib") == [uuid_of(3), uuid_of(1), uuid_of(2)]
    assert await uuids(repo, sort="memory_mib", descending=False) == [
        uuid_of(2), uuid_of(1), uuid_of(3)]
    assert (await uuids(repo, sort="finished_at"))[-1] == uuid_of(2)
    assert (await uuids(repo, sort="finished_at", descending=False))[0] == uuid_of(2)


async def test_state_filter_and_in_progress(repo: Repository) -> None:
    await finished(repo, 1)
    await waiting(repo, 2)
    await finished(repo, 3, error="failed")
    await repo.start_introspection(uuid_of(4), False, [], None)
    assert await uuids(repo, state="finished") == [uuid_of(1)]
    assert await uuids(repo, state="error") == [uuid_of(3)]
    assert sorted(await uuids(repo, state="in_progress")) == [uuid_of(2), uuid_of(4)]
    page = await repo.fleet.page(FleetQuery(state="waiting"))
    assert page.total == 1
    assert page.state_counts == {"finished": 1, "waiting": 1, "error": 1, "starting": 1}


async def test_search_is_a_case_insensitive_substring(repo: Repository) -> None:
    await finished(repo, 1)
    await finished(repo, 2, error="Failed to power off node: BMC unreachable")
    await waiting(repo, 3)
    summary = summary_of(1)
    assert await uuids(repo, search="NODE-001") == [uuid_of(1)]
    assert await uuids(repo, search=summary.macs[-1].upper()) == [uuid_of(1)]
    assert await uuids(repo, search=(summary.serial or summary.macs[0])[2:].lower()) == [
        uuid_of(1)]
    assert await uuids(repo, search="bmc UNREACH") == [uuid_of(2)]
    assert await uuids(repo, search="8000-000000000003") == [uuid_of(3)]
    assert await uuids(repo, search="%") == [] and await uuids(repo, search="_") == []
    assert await uuids(repo, search="node-00", sort="uuid", descending=False) == [
        uuid_of(1), uuid_of(2)]
    past = await repo.fleet.page(FleetQuery(search="node-00", offset=10))
    assert (past.rows, past.total) == ([], 2)
    by_memory = await repo.fleet.page(FleetQuery(search="node-00", sort="memory_mib"))
    assert [r.uuid for r in by_memory.rows] == [uuid_of(2), uuid_of(1)] and by_memory.total == 2
    page = await repo.fleet.page(FleetQuery(search="node-00", state="error"))
    assert (page.total, [r.uuid for r in page.rows]) == (1, [uuid_of(2)])
    assert page.state_counts == {"finished": 1, "error": 1, "waiting": 1}


async def test_a_new_summary_replaces_the_old_one(repo: Repository) -> None:
    await finished(repo, 1)
    newer = replace(summary_of(7), rules=(MatchedRule("r-9", "new rule"),))
    await repo.fleet.save_summary(uuid_of(1), "renamed", newer, BASE + datetime.timedelta(1))
    row = await repo.fleet.row(uuid_of(1))
    assert row is not None and (row.name, row.summary) == ("renamed", newer)
    assert await uuids(repo, search="node-001") == []
    assert await uuids(repo, search="renamed") == [uuid_of(1)]


async def test_a_new_introspection_keeps_the_summary_until_processed(repo: Repository) -> None:
    record = await finished(repo, 1)
    await repo.start_introspection(uuid_of(1), False, [], record)
    row = await repo.fleet.row(uuid_of(1))
    assert row is not None and row.state == "starting" and row.summary == summary_of(1)
    assert row.finished_at is None and row.inspected_at == BASE + datetime.timedelta(minutes=1)


async def test_the_summary_is_deleted_with_the_node(repo: Repository) -> None:
    await finished(repo, 1)
    await finished(repo, 2)
    await repo.delete_node(uuid_of(1))
    assert await repo.fleet.row(uuid_of(1)) is None
    assert await uuids(repo) == [uuid_of(2)]
    await waiting(repo, 1)  # introspected again: no summary left over
    row = await repo.fleet.row(uuid_of(1))
    assert row is not None and row.summary is None


async def test_long_and_odd_values_are_kept_within_the_columns(repo: Repository) -> None:
    await finished(repo, 1)
    odd = replace(summary_of(1), vendor="V" * 400, model="Ünïcödé ✓ 型号", macs=())
    await repo.fleet.save_summary(uuid_of(1), "n" * 300, odd, utcnow())
    row = await repo.fleet.row(uuid_of(1))
    assert row is not None and row.summary is not None
    assert row.summary.vendor == "V" * 255 and row.name == "n" * 255
    assert row.summary.model == "Ünïcödé ✓ 型号" and row.summary.macs == ()
    assert await uuids(repo, search="ünïcödé ✓") == [uuid_of(1)]


async def test_unsummarised_records_with_processed_data(repo: Repository) -> None:
    await finished(repo, 1)
    await finished(repo, 2, summary=False)
    await finished(repo, 3, summary=False)
    await finished(repo, 4, error="failed", summary=False)
    await waiting(repo, 5)
    for n in (1, 2, 4, 5):
        await repo.store_data(uuid_of(n), True, {"inventory": {}})
    assert [uuid for uuid, _ in await repo.fleet.unsummarised(10)] == [uuid_of(2), uuid_of(4)]
    assert len(await repo.fleet.unsummarised(1)) == 1


async def test_small_pages_across_valued_and_missing_values_agree(repo: Repository) -> None:
    """A descending sort by a summary's column pages through the nodes with a value first
    (their index), then the others: the pages together are the one-page order."""
    for n in range(6):
        await finished(repo, n)
    for n in (6, 7):
        await finished(repo, n, summary=False)
        await repo.fleet.save_summary(uuid_of(n), None, replace(summary_of(n), memory_mib=None),
                                      BASE)
    await waiting(repo, 8)
    await waiting(repo, 9)
    for descending in (True, False):
        whole = await uuids(repo, sort="memory_mib", descending=descending, limit=10)
        paged = []
        for offset in range(0, 12, 3):
            paged += await uuids(repo, sort="memory_mib", descending=descending,
                                 offset=offset, limit=3)
        assert paged == whole and len(whole) == 10
    assert whole[:4] == [uuid_of(n) for n in (6, 7, 8, 9)]  # ascending: missing first
    assert await uuids(repo, sort="memory_mib", state="waiting") == [uuid_of(9), uuid_of(8)]
