"""The processing saves each node's hardware summary (finished, or error after processing),
with the node's name from Ironic and the matched rules, whatever ``store_data`` says; a
reapply refreshes it; a failure to save it never fails the introspection."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.errors import MetalScopeError
from metalscope.extensions import ExtensionRegistry
from metalscope.fleet.query import FleetRow
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.fleet import FleetStore
from metalscope.storage.repository import Repository
from tests import factories
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client
from tests.unit.api.test_introspection_api import drain, wait_state

RULE = "7d9c7a2e-0f55-4a8b-9b1e-2f0c6f3a1b01"
FAILING_RULE = "7d9c7a2e-0f55-4a8b-9b1e-2f0c6f3a1b02"


def settings_for(tmp_path: Path, store_data: str) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url},
                                    "DEFAULT": {"introspection_delay": 0},
                                    "processing": {"store_data": store_data}})


def fleet_row(settings: Settings, uuid: str) -> FleetRow | None:
    async def read() -> FleetRow | None:
        repo = Repository(create_engine(settings.database.connection))
        try:
            return await repo.fleet.row(uuid)
        finally:
            await repo.engine.dispose()
    return asyncio.run(read())


def data_for(bmc: str, memory_mb: int = 196608) -> dict[str, Any]:
    data = factories.ramdisk_data()
    data["inventory"]["bmc_address"] = bmc
    data["inventory"]["memory"] = {"physical_mb": memory_mb}
    return data


def introspect(client: TestClient, ironic: FakeIronic, bmc: str, state: str,
               data: dict[str, Any] | None = None) -> str:
    node = ironic.add_node(name=f"rack-{bmc}", driver_info={"ipmi_address": bmc})
    assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
    wait_state(client, node["uuid"], "waiting")
    client.post("/v1/continue", json=data or data_for(bmc))
    wait_state(client, node["uuid"], state)
    drain(client)
    return str(node["uuid"])


def add_rule(client: TestClient, uuid: str, memory_mb: int, actions: list[Any]) -> None:
    response = client.post("/v1/rules", json={
        "uuid": uuid, "description": f"{memory_mb} MiB machines", "actions": actions,
        "conditions": [{"op": "eq", "field": "inventory.memory.physical_mb",
                        "value": memory_mb}]})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("store_data", ["none", "database"])
def test_a_finished_node_has_its_summary_and_matched_rules(tmp_path: Path,
                                                           store_data: str) -> None:
    settings = settings_for(tmp_path, store_data)
    ironic = FakeIronic()
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        add_rule(client, RULE, 196608, [{"action": "set-attribute", "path": "/extra/big",
                                         "value": "yes"}])
        add_rule(client, FAILING_RULE, 1024, [{"action": "fail", "message": "too small"}])
        uuid = introspect(client, ironic, "192.0.2.81", "finished")
    row = fleet_row(settings, uuid)
    assert row is not None and row.summary is not None and row.inspected_at is not None
    assert (row.name, row.state, row.summary.vendor, row.summary.memory_mib) == (
        "rack-192.0.2.81", "finished", "Dell Inc.", 196608)
    assert [(r.uuid, r.description) for r in row.summary.rules] == [
        (RULE, "196608 MiB machines")]
    assert row.summary.macs[0] == factories.PXE_MAC


def test_an_error_after_processing_keeps_the_summary(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "none")
    ironic = FakeIronic()
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        add_rule(client, FAILING_RULE, 1024, [{"action": "fail", "message": "too small"}])
        uuid = introspect(client, ironic, "192.0.2.82", "error", data_for("192.0.2.82", 1024))
    row = fleet_row(settings, uuid)
    assert row is not None and row.error == "too small"
    assert row.summary is not None and row.summary.memory_mib == 1024
    assert row.name == "rack-192.0.2.82"


def test_an_error_before_processing_has_no_summary(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "none")
    ironic = FakeIronic()
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        data = data_for("192.0.2.83")
        data["error"] = "The ramdisk failed"
        uuid = introspect(client, ironic, "192.0.2.83", "error", data)
    row = fleet_row(settings, uuid)
    assert row is not None and row.summary is None and "The ramdisk failed" in (row.error or "")


def test_a_failing_save_is_logged_and_the_node_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise MetalScopeError("disk on fire")

    monkeypatch.setattr(FleetStore, "save_summary", broken)
    settings = settings_for(tmp_path, "none")
    ironic = FakeIronic()
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = introspect(client, ironic, "192.0.2.84", "finished")
    assert f"Failed to save the hardware summary of node {uuid}: disk on fire" in caplog.text
    monkeypatch.undo()
    row = fleet_row(settings, uuid)
    assert row is not None and row.state == "finished" and row.summary is None


def test_a_reapply_refreshes_the_summary(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "database")
    ironic = FakeIronic()
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = introspect(client, ironic, "192.0.2.85", "finished")
        first = fleet_row(settings, uuid)
        add_rule(client, RULE, 65536, [{"action": "set-attribute", "path": "/extra/big",
                                        "value": "no"}])
        response = client.post(f"/v1/introspection/{uuid}/data/unprocessed",
                               json=data_for("192.0.2.85", 65536))
        assert response.status_code == 202
        drain(client)
        wait_state(client, uuid, "finished")
    row = fleet_row(settings, uuid)
    assert first is not None and first.summary is not None and first.inspected_at is not None
    assert row is not None and row.summary is not None and row.inspected_at is not None
    assert row.summary.memory_mib == 65536 and row.inspected_at > first.inspected_at
    assert [r.uuid for r in row.summary.rules] == [RULE]
