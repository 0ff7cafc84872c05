"""Out-of-band introspection through the API (1.20 ``method``), with a fake collector: the
data goes through the callback's processing; failures, aborts, timeouts and interruptions
end in ``error`` with a clear message; the BMC password never shows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.operations import out_of_band, recovery
from metalscope.out_of_band_runs import OutOfBandRuns
from metalscope.redfish.errors import RedfishError
from metalscope.services import Services
from metalscope.settings import Settings, load_settings
from metalscope.settings.redfish import RedfishSection
from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage.repository import NodeRecord
from tests import factories
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client
from tests.unit.api.test_introspection_api import drain, wait_state

V = "X-OpenStack-Ironic-Inspector-API-Version"
PASSWORD = "s3cret-Passw0rd"
DRIVER_INFO = {"redfish_address": "https://bmc.example", "redfish_username": "admin",
               "redfish_password": PASSWORD}
POWER_OR_BOOT = ("set_power_state", "set_boot_device")


class FakeCollector:
    """Returns ramdisk-format data, raises a given error, or blocks until released."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.block: asyncio.Event | None = None
        self.nodes: list[Mapping[str, Any]] = []
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, node: Mapping[str, Any],
                       settings: RedfishSection) -> dict[str, Any]:
        self.nodes.append(node)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.block is not None:
                await self.block.wait()
            if self.error is not None:
                raise self.error
            return {**factories.ramdisk_data(), "inspection_method": "redfish"}
        finally:
            self.running -= 1


def settings_for(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url},
                                    "DEFAULT": {"introspection_delay": 0},
                                    "processing": {"store_data": "database"}, **sections})


@pytest.fixture
def collector() -> FakeCollector:
    return FakeCollector()


def services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def open_client(settings: Settings, ironic: FakeIronic, collector: FakeCollector,
                limit: int = 8) -> TestClient:
    client = make_client(settings, ironic, ExtensionRegistry.from_settings(settings))
    client.__enter__()
    services(client).out_of_band = OutOfBandRuns(limit, collector)
    return client


@pytest.fixture
def client(tmp_path: Path, fake_ironic: FakeIronic,
           collector: FakeCollector) -> Iterator[TestClient]:
    test_client = open_client(settings_for(tmp_path), fake_ironic, collector)
    yield test_client
    test_client.__exit__(None, None, None)


def start(client: TestClient, uuid: str, method: str | None = "redfish",
          version: str = "1.20") -> Any:
    params = {} if method is None else {"method": method}
    return client.post(f"/v1/introspection/{uuid}", params=params, headers={V: version})


def node_with_bmc(ironic: FakeIronic, **fields: Any) -> str:
    return str(ironic.add_node(driver_info=dict(DRIVER_INFO), **fields)["uuid"])


def test_out_of_band_processed_as_a_callback(client: TestClient, fake_ironic: FakeIronic,
                                             collector: FakeCollector) -> None:
    """Data through hooks, storage and history (source redfish); no power or boot call."""
    uuid = node_with_bmc(fake_ironic, provision_state="available")
    assert start(client, uuid).status_code == 202
    status = wait_state(client, uuid, "finished")
    drain(client)
    assert status["error"] is None
    assert client.get(f"/v1/introspection/{uuid}", headers={V: "1.20"}).json()["method"] \
        == "redfish"
    assert "method" not in client.get(f"/v1/introspection/{uuid}", headers={V: "1.19"}).json()
    assert collector.nodes[0]["driver_info"]["redfish_password"] == PASSWORD
    assert not [c for c in fake_ironic.calls if c[0] in POWER_OR_BOOT]
    stored = client.get(f"/v1/introspection/{uuid}/data").json()
    assert stored["inspection_method"] == "redfish" and "root_disk" in stored
    history = client.get(f"/v1/introspection/{uuid}/history", headers={V: "1.19"}).json()
    assert [v["source"] for v in history["history"]] == ["redfish"]
    assert PASSWORD not in client.get(f"/v1/introspection/{uuid}/data/unprocessed").text


def test_collector_error_ends_in_error_without_the_password(
        client: TestClient, fake_ironic: FakeIronic, collector: FakeCollector,
        caplog: pytest.LogCaptureFixture) -> None:
    uuid = node_with_bmc(fake_ironic)
    collector.error = RedfishError(uuid, "/redfish/v1/Systems/1",
                                   f"authentication refused for admin:{PASSWORD}",
                                   kind="authentication")
    message = str(collector.error)
    with caplog.at_level(logging.DEBUG):
        assert start(client, uuid).status_code == 202
        status = wait_state(client, uuid, "error")
    assert status["error"] == message.replace(PASSWORD, "******")
    assert "/redfish/v1/Systems/1" in status["error"] and uuid in status["error"]
    assert PASSWORD not in caplog.text
    text = out_of_band_metrics(client)
    assert 'metalscope_out_of_band_collections_total{result="failed"} 1.0' in text
    assert 'metalscope_introspections_failed_total{reason="redfish"} 1.0' in text


def out_of_band_metrics(client: TestClient) -> str:
    return client.get("/metrics").text


@pytest.mark.parametrize(("version", "method"), [("1.20", "ipmi"), ("1.20", ""),
                                                 ("1.20", "REDFISH ")])
def test_method_validated_from_120(client: TestClient, fake_ironic: FakeIronic,
                                   version: str, method: str) -> None:
    uuid = node_with_bmc(fake_ironic)
    response = start(client, uuid, method, version)
    if method.strip().lower() == "redfish":
        assert response.status_code == 202
        return
    assert response.status_code == 400
    assert error_of(response) == (f"Invalid introspection method: {method}, valid methods "
                                  "are inband, redfish")


def test_method_ignored_below_120(client: TestClient, fake_ironic: FakeIronic,
                                  collector: FakeCollector) -> None:
    """Upstream ignores unknown query parameters: below 1.20 ``method`` changes nothing."""
    uuid = str(fake_ironic.add_node(macs=["52:54:00:00:00:01"])["uuid"])
    for method in ("redfish", "bogus"):
        response = start(client, uuid, method, "1.19")
        assert response.status_code == 202 and response.content == b"{}\n"
        wait_state(client, uuid, "waiting")
    status = client.get(f"/v1/introspection/{uuid}", headers={V: "1.20"}).json()
    assert status["method"] == "inband" and not collector.nodes


def test_default_method_redfish_applies_to_old_clients(tmp_path: Path, fake_ironic: FakeIronic,
                                                       collector: FakeCollector) -> None:
    settings = settings_for(tmp_path, redfish={"default_method": "redfish"},
                            DEFAULT={"introspection_delay": 0, "can_manage_boot": False})
    client = open_client(settings, fake_ironic, collector)
    try:
        uuid = node_with_bmc(fake_ironic)
        assert start(client, uuid, None, "1.0").status_code == 202
        wait_state(client, uuid, "finished")
        inband = start(client, uuid, "inband", "1.20")
        assert inband.status_code == 400 and "cannot manage boot" in error_of(inband)
    finally:
        drain(client)
        client.__exit__(None, None, None)


@pytest.mark.parametrize(("permit", "code"), [(False, 400), (True, 202)])
def test_active_nodes_need_permit_active_introspection(
        tmp_path: Path, fake_ironic: FakeIronic, collector: FakeCollector, permit: bool,
        code: int) -> None:
    settings = settings_for(tmp_path, processing={"store_data": "database",
                                                  "permit_active_introspection": permit})
    client = open_client(settings, fake_ironic, collector)
    try:
        uuid = node_with_bmc(fake_ironic, provision_state="active")
        response = start(client, uuid)
        assert response.status_code == code
        if code == 400:
            assert error_of(response).startswith(
                'Invalid provision state for introspection: "active"')
        else:
            wait_state(client, uuid, "finished")
            assert not [c for c in fake_ironic.calls if c[0] in POWER_OR_BOOT]
    finally:
        drain(client)
        client.__exit__(None, None, None)


def test_abort_cancels_the_collection(client: TestClient, fake_ironic: FakeIronic,
                                      collector: FakeCollector) -> None:
    collector.block = asyncio.Event()  # never set: only the abort ends the collection
    uuid = node_with_bmc(fake_ironic)
    assert start(client, uuid).status_code == 202
    wait_until(lambda: bool(collector.nodes))
    assert client.post(f"/v1/introspection/{uuid}/abort").status_code == 202
    status = wait_state(client, uuid, "error")
    assert status["error"] == "Canceled by operator"
    assert not services(client).out_of_band.running(uuid)
    assert 'metalscope_out_of_band_collections_total{result="aborted"} 1.0' \
        in out_of_band_metrics(client)


def test_timeout_applies_to_the_collection(tmp_path: Path, fake_ironic: FakeIronic,
                                           collector: FakeCollector) -> None:
    collector.block = asyncio.Event()
    settings = settings_for(tmp_path, DEFAULT={"introspection_delay": 0, "timeout": 1})
    client = open_client(settings, fake_ironic, collector)
    try:
        uuid = node_with_bmc(fake_ironic)
        assert start(client, uuid).status_code == 202
        assert wait_state(client, uuid, "error")["error"] == "Introspection timeout"
    finally:
        client.__exit__(None, None, None)


def test_collections_bounded_per_instance(tmp_path: Path, fake_ironic: FakeIronic,
                                          collector: FakeCollector) -> None:
    collector.block = asyncio.Event()
    client = open_client(settings_for(tmp_path), fake_ironic, collector, limit=1)
    try:
        nodes = [node_with_bmc(fake_ironic) for _ in range(3)]
        for uuid in nodes:
            assert start(client, uuid).status_code == 202
        wait_until(lambda: len(collector.nodes) == 1)
        client.portal.call(collector.block.set)  # type: ignore[union-attr]
        for uuid in nodes:
            wait_state(client, uuid, "finished")
        assert collector.most_at_once == 1 and len(collector.nodes) == 3
    finally:
        drain(client)
        client.__exit__(None, None, None)


def test_interrupted_collection_failed_by_the_recovery(client: TestClient,
                                                       fake_ironic: FakeIronic) -> None:
    """A ``waiting`` out-of-band record with a free lock lost its collection."""
    uuid = node_with_bmc(fake_ironic)
    svc = services(client)

    async def left_behind() -> NodeRecord:
        record = await svc.repo.start_introspection(uuid, False, [], None, method="redfish")
        return await svc.repo.transition(record, Event.WAIT)

    client.portal.call(left_behind)  # type: ignore[union-attr]
    assert client.portal.call(recovery.recover_interrupted, svc) == 1  # type: ignore[union-attr]
    status = client.get(f"/v1/introspection/{uuid}", headers={V: "1.20"}).json()
    assert status["state"] == "error" and status["method"] == "redfish"
    assert status["error"] == out_of_band.INTERRUPTED.format(uuid=uuid)


def wait_until(condition: Any, timeout: float = 30) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never met")
        time.sleep(0.02)
