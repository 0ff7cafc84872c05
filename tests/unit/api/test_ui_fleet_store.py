"""The fleet page over the real FleetStore on SQLite: rows written by the repository."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from metalscope.settings import Settings
from metalscope.state_machine import Event
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.factories import end_introspection, start_introspection
from tests.fakes import FakeIronic
from tests.unit.api.test_ui_pages import make_settings
from tests.unit.ui.fleet_fake import summary
from tests.unit.ui.pages import page_client, parse

UUIDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(7)]
T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


async def _seed(settings: Settings) -> None:
    repo = Repository(create_engine(settings.database.connection))
    try:
        for n, uuid in enumerate(UUIDS):
            await start_introspection(repo, uuid, [])
            record = await repo.get_node(uuid)
            assert record is not None
            if n >= 5:
                await repo.transition(record, Event.WAIT)
                continue
            await end_introspection(repo, uuid)
            await repo.fleet.save_summary(
                uuid, f"node-{n}", summary(memory_mib=1024 * (n + 1), serial=f"SN-{n}"),
                T0 + datetime.timedelta(minutes=n))
    finally:
        await repo.engine.dispose()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, processing={"store_data": "none"})
    asyncio.run(_seed(settings))
    ironic = FakeIronic()
    for uuid in UUIDS:
        ironic.add_node(uuid=uuid)
    with page_client(settings, None, ironic=ironic) as test_client:
        yield test_client


def uuids(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/ui/?{query}")
    assert response.status_code == 200, response.text
    return [r.attrs["data-uuid"] for r in parse(response.text).by_class("node-row")]


def test_sorted_paged_and_searched(client: TestClient) -> None:
    assert uuids(client, "sort=memory_mib&limit=3") == [UUIDS[4], UUIDS[3], UUIDS[2]]
    # Nodes without a summary come last, newest first.
    assert uuids(client, "sort=memory_mib&limit=3&offset=3") == [UUIDS[1], UUIDS[0], UUIDS[6]]
    assert uuids(client, "q=sn-3") == [UUIDS[3]]
    assert sorted(uuids(client, "state=in_progress")) == UUIDS[5:]


def test_node_pages(client: TestClient) -> None:
    doc = parse(client.get(f"/ui/nodes/{UUIDS[2]}").text)
    assert doc.by_id("node-title").text == "node-2"  # type: ignore[union-attr]
    assert "3 GiB" in doc.by_id("hw-memory").all_text()  # type: ignore[union-attr]
    waiting = parse(client.get(f"/ui/nodes/{UUIDS[6]}").text)
    assert waiting.by_id("node-state").text == "waiting"  # type: ignore[union-attr]


@pytest.mark.parametrize("query", ["offset=99999999999999999999999", "limit=99999999999"])
def test_huge_numbers_are_400(client: TestClient, query: str) -> None:
    assert client.get(f"/ui/?{query}").status_code == 400
