"""Records processed before the fleet pages existed get their summary from their stored
processed data: the leader's bounded rounds, under each node's lock."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

from metalscope import background
from metalscope.coordination import LocalCoordinator, take_lock
from metalscope.json_parsing import JsonParser
from metalscope.operations import fleet_backfill
from metalscope.services import Services
from metalscope.settings import load_settings
from metalscope.state_machine import Event
from metalscope.storage.repository import Repository
from tests import factories
from tests.fakes import FakeIronic


class Leadership(LocalCoordinator):
    def __init__(self, leader: bool) -> None:
        super().__init__()
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


def services(repo: Repository, ironic: FakeIronic, *, leader: bool = True,
             in_repository: bool = True) -> Services:
    return cast(Services, SimpleNamespace(
        repo=repo, ironic=ironic, coordinator=Leadership(leader), json_parser=JsonParser(),
        data_store=SimpleNamespace(enabled=True, in_repository=in_repository),
        settings=load_settings()))


async def settled(repo: Repository, uuid: str, data: Any, error: str | None = None) -> None:
    record = await repo.start_introspection(uuid, False, [], None)
    record = await repo.transition(record, Event.WAIT)
    record = await repo.transition(record, Event.PROCESS)
    processed = data if isinstance(data, str) else json.dumps(data)
    await repo.settle(record, Event.ERROR if error else Event.FINISH, error=error,
                      processed=processed)


async def test_the_leader_fills_summaries_in_bounded_rounds(repo: Repository) -> None:
    ironic = FakeIronic()
    nodes = [ironic.add_node(name=f"old-{n}") for n in range(5)]
    for node in nodes[:4]:
        await settled(repo, node["uuid"], factories.ramdisk_data())
    await settled(repo, nodes[4]["uuid"], factories.functional_ramdisk_data(), error="failed")
    follower = services(repo, ironic, leader=False)
    assert await background.fill_hardware_summaries(follower) == 0
    leader = services(repo, ironic)
    assert await fleet_backfill.backfill_summaries(leader, limit=3) == 3
    assert await background.fill_hardware_summaries(leader) == 2
    assert await background.fill_hardware_summaries(leader) == 0
    for node in nodes:
        row = await repo.fleet.row(node["uuid"])
        assert row is not None and row.summary is not None and row.name == node["name"]
        assert row.inspected_at == row.finished_at and row.summary.rules == ()
    row = await repo.fleet.row(nodes[0]["uuid"])
    assert row is not None and row.summary is not None
    assert (row.summary.vendor, row.summary.memory_mib) == ("Dell Inc.", 196608)


async def test_locked_nodes_wait_and_bad_data_lists_nothing(repo: Repository) -> None:
    ironic = FakeIronic()
    busy, broken = ironic.add_node(), ironic.add_node()
    await settled(repo, busy["uuid"], factories.ramdisk_data())
    await settled(repo, broken["uuid"], "{not json")
    svc = services(repo, ironic)
    held = await take_lock(svc.coordinator, busy["uuid"])
    assert held is not None
    async with held:
        assert await fleet_backfill.backfill_summaries(svc) == 1
    row = await repo.fleet.row(broken["uuid"])
    assert row is not None and row.summary is not None and row.summary.vendor is None
    assert await fleet_backfill.backfill_summaries(svc) == 1
    assert await fleet_backfill.backfill_summaries(svc) == 0


async def test_nothing_without_the_database_store(repo: Repository) -> None:
    ironic = FakeIronic()
    node = ironic.add_node()
    await settled(repo, node["uuid"], factories.ramdisk_data())
    assert await fleet_backfill.backfill_summaries(
        services(repo, ironic, in_repository=False)) == 0
    row = await repo.fleet.row(node["uuid"])
    assert row is not None and row.summary is None


def test_the_backfill_runs_with_the_clean_ups() -> None:
    svc = SimpleNamespace(settings=load_settings())
    names = [name for name, _, _ in background.periodic_tasks(svc)]  # type: ignore[arg-type]
    assert "fleet-summaries" in names


async def test_rounds_stop_once_none_is_left(repo: Repository) -> None:
    """A round that finds every record summarised is the last to read the records: later
    rounds read nothing, even when a record without summary appears (its processing, not
    the backfill, gives it one)."""
    ironic = FakeIronic()
    first, later = ironic.add_node(), ironic.add_node()
    await settled(repo, first["uuid"], factories.ramdisk_data())
    backfill = fleet_backfill.SummaryBackfill()
    svc = services(repo, ironic)
    searches = 0
    search = repo.fleet.unsummarised

    async def counted(limit: int) -> Any:
        nonlocal searches
        searches += 1
        return await search(limit)

    repo.fleet.unsummarised = counted  # type: ignore[method-assign]
    assert await background.fill_hardware_summaries(svc, backfill) == 1
    assert not backfill.finished
    assert await background.fill_hardware_summaries(svc, backfill) == 0
    assert backfill.finished and searches == 2
    await settled(repo, later["uuid"], factories.ramdisk_data())
    assert await background.fill_hardware_summaries(svc, backfill) == 0
    assert searches == 2
    assert await fleet_backfill.SummaryBackfill().run_round(svc) == 1  # a new process


async def test_a_locked_node_keeps_the_rounds_going(repo: Repository) -> None:
    ironic = FakeIronic()
    busy = ironic.add_node()
    await settled(repo, busy["uuid"], factories.ramdisk_data())
    backfill = fleet_backfill.SummaryBackfill()
    svc = services(repo, ironic)
    held = await take_lock(svc.coordinator, busy["uuid"])
    assert held is not None
    async with held:
        assert await backfill.run_round(svc) == 0
    assert not backfill.finished
    assert await backfill.run_round(svc) == 1
