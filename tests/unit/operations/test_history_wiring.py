"""History in the processing (operations/history.py) over an in-memory version store."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest

from metalscope.drift.events import DriftEvent
from metalscope.json_parsing import JsonParser
from metalscope.operations import history
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.history import HistoryVersion, StoredVersion
from metalscope.storage.repository import NodeRecord

UUID = "1be26c0b-03f2-4d2d-ae87-c02d7f33c123"
T0 = datetime.datetime(2026, 12, 1, 10, 0, 0)
T1 = datetime.datetime(2026, 12, 2, 10, 0, 0)


def inventory(memory_mb: int) -> dict[str, Any]:
    return {"inventory": {"memory": {"physical_mb": memory_mb, "total": memory_mb * 2**20},
                          "disks": [], "interfaces": []}}


@dataclass
class VersionStore:
    versions: list[StoredVersion] = field(default_factory=list)
    unprocessed: str | None = '{"inventory": {}}'
    recorded: list[dict[str, Any]] = field(default_factory=list)

    async def list_versions(self, uuid: str, *, limit: int | None = None,
                            marker: int | None = None) -> list[HistoryVersion]:
        newest = sorted(self.versions, key=lambda v: -v.version)
        return list(newest[:limit] if limit else newest)

    async def get_version(self, uuid: str, version: int) -> StoredVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    async def get_data(self, uuid: str, processed: bool) -> str | None:
        return self.unprocessed

    async def record_version(self, uuid: str, **values: Any) -> int:
        self.recorded.append(values)
        number = len(self.versions) + 1
        self.versions.append(stored(number, values["started_at"], values["processed"]))
        return number


def stored(number: int, started_at: datetime.datetime | None,
           processed: dict[str, Any], raw_bytes: int = 100) -> StoredVersion:
    return StoredVersion(uuid=UUID, version=number, started_at=started_at, finished_at=T1,
                         recorded_at=T1, source="inband", error=None, changed=None,
                         summary=None, raw_bytes=raw_bytes, stored_bytes=1, processed=processed,
                         unprocessed=None)


@dataclass
class Drift:
    events: list[DriftEvent] = field(default_factory=list)

    def emit(self, event: DriftEvent) -> None:
        self.events.append(event)


def services(store: VersionStore, enabled: bool = True, in_repository: bool = True) -> Services:
    return cast(Services, SimpleNamespace(
        settings=SimpleNamespace(history=SimpleNamespace(enabled=enabled)),
        data_store=SimpleNamespace(enabled=True, in_repository=in_repository),
        repo=store, drift=Drift(), json_parser=JsonParser()))


def record(started_at: datetime.datetime = T1) -> NodeRecord:
    return NodeRecord(UUID, State.PROCESSING, started_at, None, None, False, "v")


@pytest.mark.parametrize(("enabled", "in_repository"), [(False, True), (True, False)])
async def test_nothing_without_history(enabled: bool, in_repository: bool) -> None:
    store = VersionStore([stored(1, T0, inventory(1024))])
    svc = services(store, enabled, in_repository)
    assert await history.compare_with_previous(svc, record(), inventory(512)) is None
    assert await history.record_end(svc, record(), None, None) is None
    assert store.recorded == []


async def test_first_version_has_no_diff_and_emits_nothing() -> None:
    store = VersionStore()
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(), inventory(512))
    assert comparison is not None and comparison.document() is None
    assert await history.record_end(svc, record(), comparison, None) == 1
    assert store.recorded[0]["changed"] is None and store.recorded[0]["source"] == "inband"
    assert store.recorded[0]["unprocessed"] == {"inventory": {}}
    history.emit_drift(svc, record(), comparison, 1)
    assert svc.drift.events == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("raw_bytes", [100, history.OFF_LOOP_BYTES])  # on the loop, in a thread
async def test_change_gives_the_rules_a_diff_and_emits_an_event(raw_bytes: int) -> None:
    store = VersionStore([stored(1, T0, inventory(1024), raw_bytes)])
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(), inventory(512), "node-1")
    assert comparison is not None
    document = comparison.document()
    assert document is not None and document["changed"] is True
    assert document["memory"]["total_mb"]["delta"] < 0
    version = await history.record_end(svc, record(), comparison, "a rule failed")
    assert version == 2 and store.recorded[0]["error"] == "a rule failed"
    assert store.recorded[0]["changed"] is True and store.recorded[0]["summary"]
    history.emit_drift(svc, record(), comparison, version)
    event, = svc.drift.events  # type: ignore[attr-defined]
    assert (event.from_version, event.to_version, event.node_name) == (1, 2, "node-1")


async def test_same_hardware_records_unchanged_and_emits_nothing() -> None:
    store = VersionStore([stored(1, T0, inventory(1024))])
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(), inventory(1024))
    assert comparison is not None and comparison.changed is False
    assert await history.record_end(svc, record(), comparison, None) == 2
    assert store.recorded[0]["changed"] is False
    history.emit_drift(svc, record(), comparison, 2)
    assert svc.drift.events == []  # type: ignore[attr-defined]


async def test_processing_again_compares_with_the_version_before_and_records_once() -> None:
    """After a crash, the introspection's own version (same started_at) is there already."""
    store = VersionStore([stored(1, T0, inventory(1024)), stored(2, T1, inventory(512))])
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(T1), inventory(512))
    assert comparison is not None and comparison.previous is not None
    assert comparison.previous.version == 1 and comparison.changed is True
    assert await history.record_end(svc, record(T1), comparison, None) == 2
    assert store.recorded == []


async def test_reapply_compares_with_the_version_before_the_latest() -> None:
    store = VersionStore([stored(1, T0, inventory(1024)), stored(2, T1, inventory(512))])
    later = T1 + datetime.timedelta(hours=1)  # a reapply's started_at is its own
    comparison = await history.compare_with_previous(services(store), record(later),
                                                     inventory(512), reapply=True)
    assert comparison is not None and comparison.previous is not None
    assert comparison.previous.version == 1
    only = VersionStore([stored(1, T0, inventory(1024))])
    alone = await history.compare_with_previous(services(only), record(later), inventory(512),
                                                reapply=True)
    assert alone is not None and alone.previous is None


async def test_the_unprocessed_data_given_is_recorded_without_reading_it_back() -> None:
    store = VersionStore()
    store.unprocessed = None  # reading it back would record nothing
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(), inventory(512))
    given = '{"inventory": {"memory": {"total": 1}}, "boot_interface": "01-aa"}'
    assert await history.record_end(svc, record(), comparison, None, given) == 1
    assert store.recorded[0]["unprocessed"] == {"inventory": {"memory": {"total": 1}},
                                                "boot_interface": "01-aa"}


async def test_the_pause_comes_after_the_reads_and_before_the_version_is_written() -> None:
    store = VersionStore()
    svc = services(store)
    comparison = await history.compare_with_previous(svc, record(), inventory(512))
    seen: list[int] = []

    async def pause() -> None:
        seen.append(len(store.recorded))

    assert await history.record_end(svc, record(), comparison, None, pause=pause) == 1
    assert seen == [0] and len(store.recorded) == 1
    # Recorded already: nothing is written, no pause.
    assert await history.record_end(svc, record(), comparison, None, pause=pause) == 1
    assert seen == [0]
