"""An inventory recorded as a history version (follower/record.py) over real services on
SQLite and an in-memory Ironic: the node added, the version's source and times, the diff,
the drift event, the rules' allowed edits, once per inspection, busy nodes left."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from metalscope.coordination import take_lock
from metalscope.coordination.local import LocalCoordinator
from metalscope.drift.dispatcher import DriftDispatcher
from metalscope.drift.events import DriftEvent
from metalscope.extensions import ExtensionRegistry
from metalscope.follower.poll import Outcome
from metalscope.follower.record import InventoryRecorder
from metalscope.metrics import Metrics
from metalscope.metrics.follower import FollowerMetrics
from metalscope.pxe_filter.base import NoopFilter
from metalscope.rules.validation import parse_rule
from metalscope.services import BootPacer, Services
from metalscope.state_machine import State
from metalscope.storage import migrate
from metalscope.storage.data_store import create_store
from metalscope.storage.engine import create_engine
from metalscope.storage.follower import FollowerStore, PendingInventory
from metalscope.storage.repository import Repository
from tests import factories
from tests.unit.follower.inspecting_ironic import InspectingIronic, inventory_answer

T1 = datetime.datetime(2026, 12, 6, 12, 0)
T2 = datetime.datetime(2026, 12, 6, 13, 0)
MEMORY_DECREASED = {"op": "lt", "field": "diff://memory.total_mb.delta", "value": 0}


@dataclass
class Drift:
    events: list[DriftEvent] = field(default_factory=list)

    def emit(self, event: DriftEvent) -> None:
        self.events.append(event)


@pytest.fixture
async def svc(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    settings = factories.settings(database={"connection": url})
    repo = Repository(create_engine(url))
    services = Services(settings=settings, repo=repo, ironic=InspectingIronic(),  # type: ignore[arg-type]
                        coordinator=LocalCoordinator(),
                        extensions=ExtensionRegistry.from_settings(settings),
                        pxe_filter=NoopFilter(), data_store=create_store(settings, repo),
                        pacer=BootPacer(0), drift=cast(DriftDispatcher, Drift()))
    yield services
    await repo.engine.dispose()


def pending(uuid: str, finished: datetime.datetime, name: str = "node-1",
            interface: str = "agent") -> PendingInventory:
    return PendingInventory(uuid, name, finished, finished - datetime.timedelta(minutes=5),
                            interface, 0, None)


def recorder_of(svc: Services) -> tuple[InventoryRecorder, Metrics]:
    metrics = Metrics()
    store = FollowerStore(svc.repo.engine)
    return InventoryRecorder(svc, store, FollowerMetrics(metrics.registry)), metrics


async def test_an_unknown_node_is_added_with_its_version_from_ironic(svc: Services) -> None:
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    record, metrics = recorder_of(svc)
    assert await record(pending(uuid, T1), inventory_answer(4096)) is Outcome.RECORDED
    status = await svc.repo.get_node(uuid)
    assert status is not None and status.state is State.FINISHED
    assert status.finished_at == T1
    (version,) = await svc.repo.list_versions(uuid)
    assert version.source == "ironic-agent" and version.finished_at == T1
    assert version.started_at == T1 - datetime.timedelta(minutes=5)
    stored = await svc.repo.get_version(uuid, 1)
    assert stored is not None and stored.processed["inventory"]["memory"]["physical_mb"] == 4096
    row = await svc.repo.fleet.row(uuid)
    assert row is not None and row.summary is not None and row.summary.memory_mib == 4096
    assert await svc.repo.get_data(uuid, True) is not None
    assert metrics.registry.get_sample_value("metalscope_follower_versions_total",
                                             {"source": "ironic-agent"}) == 1


async def test_a_changed_inventory_is_a_diff_and_a_drift_event(svc: Services) -> None:
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    record, _ = recorder_of(svc)
    await record(pending(uuid, T1), inventory_answer(8192))
    await record(pending(uuid, T2), inventory_answer(4096))
    newest = (await svc.repo.list_versions(uuid))[0]
    assert newest.version == 2 and newest.changed is True and newest.summary
    (event,) = cast(Drift, svc.drift).events
    assert event.node_uuid == uuid and event.node_name == "node-1"
    assert (event.from_version, event.to_version) == (1, 2)


async def test_the_same_inspection_is_recorded_once(svc: Services) -> None:
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    record, _ = recorder_of(svc)
    await record(pending(uuid, T1), inventory_answer(8192))
    assert await record(pending(uuid, T1), inventory_answer(8192)) is Outcome.ALREADY
    assert len(await svc.repo.list_versions(uuid)) == 1


async def test_a_locked_node_is_busy(svc: Services) -> None:
    uuid = cast(InspectingIronic, svc.ironic).enroll("node-1")
    record, _ = recorder_of(svc)
    held = await take_lock(svc.coordinator, uuid)
    assert held is not None
    async with held:
        assert await record(pending(uuid, T1), inventory_answer(1)) is Outcome.BUSY
    assert await svc.repo.list_versions(uuid) == []


async def test_a_drift_rule_sets_a_trait_extra_and_maintenance_and_nothing_else(
        svc: Services, caplog: pytest.LogCaptureFixture) -> None:
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    await svc.repo.create_rule(parse_rule({
        "description": "memory lost", "conditions": [MEMORY_DECREASED],
        "actions": [{"action": "add-trait", "name": "CUSTOM_MEMORY_LOST"},
                    {"action": "set-attribute", "path": "/extra/drift", "value": "memory"},
                    {"action": "set-attribute", "path": "/maintenance", "value": True},
                    {"action": "set-attribute", "path": "/properties/memory_mb",
                     "value": 1}]},
        svc.extensions.conditions, svc.extensions.actions, allow_diff=True))
    record, metrics = recorder_of(svc)
    await record(pending(uuid, T1), inventory_answer(8192))
    assert ironic.nodes[uuid]["traits"] == []  # no diff yet: the rule did not match
    with caplog.at_level(logging.WARNING):
        await record(pending(uuid, T2), inventory_answer(4096))
    node = ironic.nodes[uuid]
    assert node["traits"] == ["CUSTOM_MEMORY_LOST"]
    assert node["extra"] == {"drift": "memory"}
    assert ironic.maintenance[uuid] is not None and "memory" in str(ironic.maintenance[uuid])
    assert node["properties"] == {}
    assert "add /properties/memory_mb" in caplog.text
    assert metrics.registry.get_sample_value(
        "metalscope_follower_rule_edits_refused_total") == 1
    row = await svc.repo.fleet.row(uuid)
    assert row is not None and row.summary is not None and row.summary.rules


async def test_rules_are_not_run_when_apply_rules_is_off(svc: Services) -> None:
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    await svc.repo.create_rule(parse_rule(
        {"conditions": [], "actions": [{"action": "add-trait", "name": "CUSTOM_ALWAYS"}]},
        svc.extensions.conditions, svc.extensions.actions))
    svc.settings = svc.settings.replace(
        follower=factories.settings(follower={"apply_rules": False}).follower)
    record, _ = recorder_of(svc)
    await record(pending(uuid, T1), inventory_answer(8192))
    assert ironic.nodes[uuid]["traits"] == []


async def test_inspections_without_a_start_time_are_compared_too(svc: Services) -> None:
    """Ironic clears inspection_started_at when an inspection finishes."""
    ironic = cast(InspectingIronic, svc.ironic)
    uuid = ironic.enroll("node-1")
    record, _ = recorder_of(svc)
    for finished, memory in ((T1, 8192), (T2, 4096)):
        await record(PendingInventory(uuid, "node-1", finished, None, "agent", 0, None),
                     inventory_answer(memory))
    newest = (await svc.repo.list_versions(uuid))[0]
    assert newest.version == 2 and newest.changed is True
    assert len(cast(Drift, svc.drift).events) == 1
