"""The periodic out-of-band refresh: when a node is due, which nodes a pass leaves alone, how
many it starts, and that only the leader runs it."""

from __future__ import annotations

import datetime
import uuid as uuidlib
from types import SimpleNamespace
from typing import Any, cast

import pytest

from metalscope import background
from metalscope.coordination import LocalCoordinator
from metalscope.errors import NodeLocked
from metalscope.operations import refresh
from metalscope.operations.refresh import Refresher, RefreshPolicy
from metalscope.services import Services
from metalscope.settings import load_settings
from metalscope.state_machine import Event, State
from metalscope.storage.repository import Repository
from tests.fakes import FakeIronic

REDFISH = {"redfish_address": "https://10.0.0.1", "redfish_username": "u",
           "redfish_password": "p"}


class Leadership(LocalCoordinator):
    def __init__(self, leader: bool) -> None:
        super().__init__()
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


def services(repo: Repository, ironic: FakeIronic, leader: bool = True) -> Services:
    return cast(Services, SimpleNamespace(repo=repo, ironic=ironic,
                                          coordinator=Leadership(leader)))


class FakeStart:
    """Stands for ``start_out_of_band``: records the node as started, as the real one does."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.started: list[str] = []
        self.refuse = refuse

    async def __call__(self, svc: Services, node_id: str) -> str:
        if node_id in self.refuse:
            raise NodeLocked("Node is locked, please, retry later")
        record = await svc.repo.get_node(node_id)
        await svc.repo.start_introspection(node_id, False, [], record, state=State.WAITING,
                                           method="redfish")
        self.started.append(node_id)
        return node_id


class Clock:
    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


async def settled(repo: Repository, uuid: str, error: bool = False) -> datetime.datetime:
    record = await repo.start_introspection(uuid, False, [], None)
    record = await repo.transition(record, Event.WAIT)
    record = await repo.transition(record, Event.PROCESS)
    await repo.settle(record, Event.ERROR if error else Event.FINISH,
                      error="failed" if error else None)
    done = await repo.get_node(uuid)
    assert done is not None and done.finished_at is not None
    return done.finished_at


async def collected(repo: Repository, uuid: str) -> None:
    """The out-of-band run got the data: the record leaves ``waiting`` (for processing)."""
    record = await repo.get_node(uuid)
    assert record is not None
    await repo.transition(record, Event.PROCESS)


def test_jitter_is_fixed_per_node_and_within_bounds() -> None:
    uuids = [str(uuidlib.UUID(int=n * 7919 + 1)) for n in range(2000)]
    factors = [refresh.jitter_factor(u, 0.1) for u in uuids]
    assert all(0.9 <= f <= 1.1 for f in factors)
    assert min(factors) < 0.91 and max(factors) > 1.09  # spread over the whole range
    assert [refresh.jitter_factor(u, 0.1) for u in uuids] == factors
    assert refresh.jitter_factor(uuids[0].upper(), 0.1) == factors[0]
    assert {refresh.jitter_factor(u, 0.0) for u in uuids} == {1.0}


def test_due_time_is_the_interval_scaled_by_the_node_factor() -> None:
    finished = datetime.datetime(2026, 1, 1, 12, 0, 0)
    uuid = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
    policy = RefreshPolicy(interval=3600, jitter=0.2)
    expected = finished + datetime.timedelta(seconds=3600 * refresh.jitter_factor(uuid, 0.2))
    assert refresh.due_at(uuid, finished, policy) == expected
    assert (refresh.due_at(uuid, finished, RefreshPolicy(interval=3600, jitter=0))
            == finished + datetime.timedelta(hours=1))
    # A jitter above 1 would make nodes due before they finished: it is bounded.
    assert refresh.due_at(uuid, finished, RefreshPolicy(interval=60, jitter=5)) >= finished


def test_pass_period_is_a_tenth_of_the_interval_at_most_a_minute() -> None:
    assert RefreshPolicy(interval=30).pass_period == 3
    assert RefreshPolicy(interval=86400).pass_period == 60
    assert not RefreshPolicy(interval=0).enabled
    assert not RefreshPolicy(interval=60, batch=0).enabled


@pytest.mark.parametrize(("value", "out"), [
    (False, True), ("false", True), ("No", True), ("0", True), (0, True), (" FALSE ", True),
    (True, False), ("true", False), ("yes", False), (None, False), (1, False), ("", False)])
def test_opt_out_values(value: Any, out: bool) -> None:
    assert refresh.opted_out({"extra": {"metalscope_refresh": value}}) is out


def test_missing_extra_or_address() -> None:
    assert not refresh.opted_out({"extra": None})
    assert refresh.refusal({"driver_info": {"redfish_address": "  "}, "extra": {}}) == (
        "no driver_info.redfish_address")
    assert refresh.refusal({"driver_info": REDFISH}) is None


async def test_only_due_nodes_are_started_and_a_pass_is_bounded(repo: Repository) -> None:
    ironic = FakeIronic()
    uuids = [ironic.add_node(driver_info=REDFISH)["uuid"] for _ in range(5)]
    finished = [await settled(repo, u, error=(n == 4)) for n, u in enumerate(uuids)]
    start = FakeStart()
    clock = Clock(max(finished))
    refresher = Refresher(RefreshPolicy(interval=100, jitter=0.1, batch=2), start, clock)
    svc = services(repo, ironic)

    clock.advance(89)  # no node is due before 90 s (100 s * (1 - 0.1))
    assert await refresher.run_pass(svc) == []
    assert ironic.calls == []  # nodes not due cost no Ironic read

    clock.advance(22)  # every node is due after 110 s, failed ones too
    first = await refresher.run_pass(svc)
    assert len(first) == 2 and first == start.started
    assert await refresher.run_pass(svc) == []  # two collections still waiting: no room
    await collected(repo, first[0])
    second = await refresher.run_pass(svc)
    assert len(second) == 1
    await collected(repo, first[1])
    await collected(repo, second[0])
    third = await refresher.run_pass(svc)
    assert len(third) == 2
    for uuid in third:
        await collected(repo, uuid)
    assert sorted(first + second + third) == sorted(uuids)
    assert await refresher.run_pass(svc) == []  # all inspected after the clock's "now"


async def test_nodes_become_due_in_their_jittered_order(repo: Repository) -> None:
    ironic = FakeIronic()
    uuids = [ironic.add_node(driver_info=REDFISH)["uuid"] for _ in range(6)]
    finished = {u: await settled(repo, u) for u in uuids}
    policy = RefreshPolicy(interval=1000, jitter=0.3, batch=50)
    due = {u: refresh.due_at(u, finished[u], policy) for u in uuids}
    clock = Clock(min(finished.values()))
    start = FakeStart()
    refresher = Refresher(policy, start, clock)
    svc = services(repo, ironic)
    for uuid in sorted(uuids, key=due.__getitem__):
        clock.now = due[uuid] - datetime.timedelta(milliseconds=1)
        assert uuid not in await refresher.run_pass(svc)
        clock.now = due[uuid]
        assert uuid in await refresher.run_pass(svc)
    assert sorted(start.started) == sorted(uuids)


async def test_opted_out_unaddressed_and_refused_nodes_rest_an_interval(
        repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh, "PAGE", 1)  # one record per query: the pass pages on
    ironic = FakeIronic()
    opted = ironic.add_node(driver_info=REDFISH, extra={"metalscope_refresh": "false"})
    ipmi = ironic.add_node(driver_info={"ipmi_address": "10.0.0.2"})
    locked = ironic.add_node(driver_info=REDFISH)
    good = ironic.add_node(driver_info=REDFISH)
    for node in (opted, ipmi, locked, good):
        await settled(repo, node["uuid"])
    start = FakeStart(refuse={locked["uuid"]})
    clock = Clock(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    refresher = Refresher(RefreshPolicy(interval=60, jitter=0.1, batch=1), start, clock)
    svc = services(repo, ironic)

    clock.advance(70)
    assert await refresher.run_pass(svc) == [good["uuid"]]  # the others do not use the batch
    await collected(repo, good["uuid"])
    assert set(refresher.resting) == {opted["uuid"], ipmi["uuid"], locked["uuid"]}
    reads = len(ironic.calls)
    assert reads == 4
    clock.advance(30)
    assert await refresher.run_pass(svc) == []
    assert len(ironic.calls) == reads  # resting nodes are not read again
    clock.advance(31)  # an interval later, they are looked at again
    ironic.nodes[opted["uuid"]]["extra"] = {"metalscope_refresh": True}
    assert await refresher.run_pass(svc) == [opted["uuid"]]


async def test_a_follower_starts_and_reads_nothing(repo: Repository) -> None:
    ironic = FakeIronic()
    node = ironic.add_node(driver_info=REDFISH)
    await settled(repo, node["uuid"])
    start = FakeStart()
    clock = Clock(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    clock.advance(3600)
    refresher = Refresher(RefreshPolicy(interval=60), start, clock)
    assert await refresher.run_pass(services(repo, ironic, leader=False)) == []
    assert ironic.calls == [] and start.started == []
    assert await refresher.run_pass(services(repo, ironic)) == [node["uuid"]]


async def test_records_in_progress_are_not_refreshed(repo: Repository) -> None:
    ironic = FakeIronic()
    node = ironic.add_node(driver_info=REDFISH)
    await repo.start_introspection(node["uuid"], False, [], None)
    clock = Clock(datetime.datetime.now(datetime.UTC).replace(tzinfo=None))
    clock.advance(3600)
    refresher = Refresher(RefreshPolicy(interval=60), FakeStart(), clock)
    assert await refresher.run_pass(services(repo, ironic)) == []


def test_the_refresh_duty_runs_only_when_an_interval_is_set() -> None:
    def names(**redfish: Any) -> dict[str, float]:
        settings = load_settings(overrides={"redfish": redfish} if redfish else None)
        svc = cast(Services, SimpleNamespace(settings=settings))
        return {name: period for name, period, _ in background.periodic_tasks(svc)}

    assert "redfish-refresh" not in names()
    assert names(refresh_interval=600)["redfish-refresh"] == 60
    assert names(refresh_interval=86400)["redfish-refresh"] == 60
    assert names(refresh_interval=20)["redfish-refresh"] == 2
