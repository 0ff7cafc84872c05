"""``/v1/continue``, the finishing step and reapply while Ironic is unreachable (unit tier:
the app in-process over SQLite, Ironic faked by OutageIronic)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.operations.repeats import callback_digest
from metalscope.services import Services
from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.storage import tables
from tests.unit.api.conftest import error_of, make_client
from tests.unit.api.test_introspection_api import wait_state
from tests.unit.operations.outage_app import WAIT, outage_settings
from tests.unit.operations.outage_ironic import UNREACHABLE, OutageIronic


def services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def call(client: TestClient, func: Any, *args: Any) -> Any:
    return client.portal.call(func, *args)  # type: ignore[union-attr]


def body_of(index: int) -> bytes:
    return json.dumps(ramdisk_data(make_machine(seed=71, index=index))).encode()


def waiting_node(client: TestClient, ironic: OutageIronic, index: int,
                 manage_boot: bool = False, **node: Any) -> str:
    machine = make_machine(seed=71, index=index)
    created = ironic.add_node(driver_info={"ipmi_address": machine.bmc_address},
                              macs=[machine.pxe_mac], **node)
    started = client.post(f"/v1/introspection/{created['uuid']}",
                          params={"manage_boot": str(manage_boot)})
    assert started.status_code == 202, started.text
    wait_state(client, created["uuid"], "waiting")
    return str(created["uuid"])


def post(client: TestClient, body: bytes) -> Any:
    return client.post("/v1/continue", content=body,
                       headers={"Content-Type": "application/json"})


def come_back(ironic: OutageIronic, after: float) -> None:
    threading.Timer(after, setattr, (ironic, "down", False)).start()


def status(client: TestClient, uuid: str) -> dict[str, Any]:
    return client.get(f"/v1/introspection/{uuid}").json()  # type: ignore[no-any-return]


def callback_row(client: TestClient, uuid: str) -> Any:
    async def read() -> Any:
        async with services(client).repo.engine.connect() as conn:
            return (await conn.execute(sa.select(tables.ramdisk_callbacks).where(
                tables.ramdisk_callbacks.c.node_uuid == uuid))).first()
    return call(client, read)


class TestCallbackDuringOutage:
    def test_answered_503_and_the_node_waits(self, client: TestClient,
                                             ironic: OutageIronic) -> None:
        """After ironic_wait the ramdisk gets a retryable 503 naming Ironic; nothing is
        recorded as failed and the lookup attributes, data and callback row stay."""
        uuid = waiting_node(client, ironic, 1)
        ironic.down = True
        started = time.monotonic()
        response = post(client, body_of(1))
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert error_of(response) == (
            f"Ironic could not be reached, please retry later: {UNREACHABLE}")
        assert WAIT <= elapsed < WAIT + 1.5
        assert ironic.refused >= 2  # tried again within the wait
        record = status(client, uuid)
        assert (record["state"], record["error"], record["finished"], record["finished_at"]) == (
            "waiting", None, False, None)
        assert call(client, services(client).repo.attributes_of, uuid)["mac"]
        assert callback_row(client, uuid).digest == callback_digest(body_of(1))
        unprocessed = client.get(f"/v1/introspection/{uuid}/data/unprocessed")
        assert unprocessed.status_code == 200 and "inventory" in unprocessed.json()

    def test_the_retry_processes_the_node(self, client: TestClient,
                                          ironic: OutageIronic) -> None:
        """The stored digest does not make the retry a repeat: it is processed, once."""
        uuid = waiting_node(client, ironic, 2)
        ironic.down = True
        assert post(client, body_of(2)).status_code == 503
        ironic.down = False
        retry = post(client, body_of(2))
        assert retry.status_code == 200 and retry.json() == {"uuid": uuid}
        assert wait_state(client, uuid, "finished")["error"] is None
        assert ironic.count("patch_node") == 1
        assert ironic.nodes[uuid]["properties"]["cpus"]

    def test_ironic_back_within_the_wait(self, tmp_path: Path, ironic: OutageIronic) -> None:
        settings = outage_settings(tmp_path, ironic_wait=5)
        with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
            uuid = waiting_node(client, ironic, 3)
            ironic.down = True
            come_back(ironic, 0.4)
            response = post(client, body_of(3))
            assert response.status_code == 200 and response.json() == {"uuid": uuid}
            assert wait_state(client, uuid, "finished")["error"] is None
        assert ironic.count("patch_node") == 1

    def test_patch_answer_lost(self, tmp_path: Path, ironic: OutageIronic) -> None:
        """Ironic applied the PATCH and went away before answering: after it comes back
        the edits still missing are sent, the PATCH is not sent again."""
        settings = outage_settings(tmp_path, ironic_wait=5)
        with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
            uuid = waiting_node(client, ironic, 4)
            ironic.lose_answer_of = "patch_node"
            come_back(ironic, 0.4)
            assert post(client, body_of(4)).status_code == 200
            assert wait_state(client, uuid, "finished")["error"] is None
        assert ironic.count("patch_node") == 1

    def test_deferred_twice_then_processed(self, client: TestClient,
                                           ironic: OutageIronic) -> None:
        uuid = waiting_node(client, ironic, 5)
        ironic.down = True
        assert post(client, body_of(5)).status_code == 503
        assert post(client, body_of(5)).status_code == 503
        assert status(client, uuid)["state"] == "waiting"
        ironic.down = False
        assert post(client, body_of(5)).json() == {"uuid": uuid}
        wait_state(client, uuid, "finished")
        assert ironic.count("patch_node") == 1

    def test_a_different_body_after_deferral_is_processed(self, client: TestClient,
                                                          ironic: OutageIronic) -> None:
        """A ramdisk that collected its data again (another body) is not refused."""
        uuid = waiting_node(client, ironic, 6)
        ironic.down = True
        assert post(client, body_of(6)).status_code == 503
        ironic.down = False
        data = json.loads(body_of(6))
        data["inventory"]["cpu"]["count"] = 96
        assert post(client, json.dumps(data).encode()).json() == {"uuid": uuid}
        wait_state(client, uuid, "finished")
        assert ironic.nodes[uuid]["properties"]["cpus"] == "96"


class TestLookupDuringOutage:
    def test_active_node_lookup(self, tmp_path: Path, ironic: OutageIronic) -> None:
        """Active-node lookup asks Ironic: 503, no record opened; then processed."""
        settings = outage_settings(tmp_path, permit_active_introspection=True)
        machine = make_machine(seed=71, index=20)
        node = ironic.add_node(provision_state="active", macs=[machine.pxe_mac])
        body = json.dumps(ramdisk_data(machine)).encode()
        with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
            ironic.down = True
            response = post(client, body)
            assert response.status_code == 503
            assert "Ironic could not be reached" in error_of(response)
            assert client.get(f"/v1/introspection/{node['uuid']}").status_code == 404
            ironic.down = False
            assert post(client, body).json() == {"uuid": node["uuid"]}
            assert wait_state(client, node["uuid"], "finished")["error"] is None

    def test_discovery_waits_for_ironic(self, tmp_path: Path, ironic: OutageIronic) -> None:
        """The enroll hook asks Ironic about duplicates first: 503, nothing enrolled."""
        settings = outage_settings(tmp_path, node_not_found_hook="enroll")
        body = body_of(21)
        with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
            ironic.down = True
            assert post(client, body).status_code == 503
            assert not ironic.nodes
            ironic.down = False
            uuid = post(client, body).json()["uuid"]
            assert wait_state(client, uuid, "finished")["error"] is None
        assert list(ironic.nodes) == [uuid]

    def test_discovered_node_deferred_after_enrolling(self, tmp_path: Path,
                                                       ironic: OutageIronic) -> None:
        """Ironic goes away after the node was enrolled: the record waits with the
        callback's lookup attributes, so the retry finds it instead of enrolling again."""
        settings = outage_settings(tmp_path, node_not_found_hook="enroll")
        body = body_of(22)
        with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
            ironic.down_at = "get_node"
            assert post(client, body).status_code == 503
            [uuid] = list(ironic.nodes)
            assert status(client, uuid)["state"] == "waiting"
            assert call(client, services(client).repo.attributes_of, uuid)["mac"]
            ironic.down = False
            retry = post(client, body)
            assert retry.status_code == 200 and retry.json() == {"uuid": uuid}
            assert wait_state(client, uuid, "finished")["error"] is None
        assert list(ironic.nodes) == [uuid]
