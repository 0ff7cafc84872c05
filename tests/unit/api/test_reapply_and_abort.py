"""Reapply and abort as upstream: 202 at once, the work in the background holding the lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.coordination import take_lock
from metalscope.errors import IronicError
from metalscope.extensions import ExtensionRegistry
from metalscope.operations.reapply import REAPPLY_PREPROCESSING_FAILED
from metalscope.settings import Settings, load_settings
from metalscope.state_machine import Event
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client
from tests.unit.api.test_introspection_api import drain, ramdisk, wait_state

LOCKED = IronicError("Node 1be26c0b is locked by host local-conductor, please retry after the "
                     "current operation is completed.", 409)


class GatedIronic(FakeIronic):
    """FakeIronic whose port listings (a reapply's Ironic reads; a start's checks do not list
    ports) wait while ``held`` is set; power-offs fail with the errors queued in
    ``power_errors`` (one per call) before they succeed."""

    def __init__(self) -> None:
        super().__init__()
        self.held = False
        self.power_errors: list[IronicError] = []

    async def list_node_ports(self, node_uuid: str) -> list[dict[str, Any]]:
        for _ in range(2000):  # a request that waits for this would hang the test: 10 s at most
            if not self.held:
                return await super().list_node_ports(node_uuid)
            await asyncio.sleep(0.005)
        raise IronicError("held for too long")

    async def set_power_state(self, uuid: str, target: str) -> None:
        await super().set_power_state(uuid, target)
        if target == "power off" and self.power_errors:
            raise self.power_errors.pop(0)


@pytest.fixture
def gated() -> GatedIronic:
    return GatedIronic()


def _settings(tmp_path: Path, hooks: str = "", **ironic: int) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url},
                                    "DEFAULT": {"introspection_delay": 0},
                                    "processing": {"store_data": "database",
                                                   "processing_hooks": hooks},
                                    "ironic": {"retry_interval": 0, **ironic}})


@pytest.fixture
def client(tmp_path: Path, gated: GatedIronic) -> Iterator[TestClient]:
    with make_client(_settings(tmp_path), gated, ExtensionRegistry()) as test_client:
        yield test_client


def _finished_node(client: TestClient, ironic: FakeIronic, bmc: str) -> dict[str, Any]:
    node = ironic.add_node(driver_info={"ipmi_address": bmc})
    assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
    wait_state(client, node["uuid"], "waiting")
    assert client.post("/v1/continue", json=ramdisk(bmc)).status_code == 200
    return wait_state(client, node["uuid"], "finished")


def _waiting_node(client: TestClient, ironic: FakeIronic) -> str:
    node = ironic.add_node(macs=["52:54:00:00:07:01"])
    assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
    wait_state(client, node["uuid"], "waiting")
    return str(node["uuid"])


def _power_offs(ironic: FakeIronic, uuid: str) -> int:
    return ironic.calls.count(("set_power_state", (uuid, "power off")))


class TestReapply:
    def test_answers_at_once_and_finishes_in_the_background(self, client: TestClient,
                                                            gated: GatedIronic) -> None:
        """202 while the work waits on Ironic; ``reapplying`` (still finished) meanwhile."""
        first = _finished_node(client, gated, "192.0.2.61")
        uuid = first["uuid"]
        gated.held = True
        response = client.post(f"/v1/introspection/{uuid}/data/unprocessed")
        assert response.status_code == 202 and response.text == "{}\n"
        during = client.get(f"/v1/introspection/{uuid}").json()
        assert (during["state"], during["finished"], during["finished_at"]) == (
            "reapplying", True, first["finished_at"])
        assert during["started_at"] > first["started_at"]
        gated.held = False
        after = wait_state(client, uuid, "finished")
        assert after["error"] is None and after["finished_at"] > first["finished_at"]

    def test_calls_while_reapplying(self, client: TestClient, gated: GatedIronic) -> None:
        """Second reapply and abort 409, start 400 at once (not after waiting for the lock)."""
        uuid = _finished_node(client, gated, "192.0.2.62")["uuid"]
        gated.held = True
        assert client.post(f"/v1/introspection/{uuid}/data/unprocessed").status_code == 202
        again = client.post(f"/v1/introspection/{uuid}/data/unprocessed")
        assert again.status_code == 409
        assert error_of(again) == "Node locked, please, try again later"
        abort = client.post(f"/v1/introspection/{uuid}/abort")
        assert abort.status_code == 409 and error_of(abort) == "Node is locked, please, retry later"
        start = client.post(f"/v1/introspection/{uuid}")
        gated.held = False
        assert start.status_code == 400
        assert error_of(start) == ("Can not transition from state 'reapplying' on event 'start' "
                                   "(no defined transition)")
        assert wait_state(client, uuid, "finished")["error"] is None

    def test_given_body_is_saved_and_used(self, client: TestClient, gated: GatedIronic) -> None:
        uuid = _finished_node(client, gated, "192.0.2.63")["uuid"]
        body = ramdisk("192.0.2.63") | {"extra_key": "new"}
        assert client.post(f"/v1/introspection/{uuid}/data/unprocessed",
                           json=body).status_code == 202
        wait_state(client, uuid, "finished")
        drain(client)
        assert client.get(f"/v1/introspection/{uuid}/data/unprocessed").json()["extra_key"] == "new"
        assert client.get(f"/v1/introspection/{uuid}/data").json()["extra_key"] == "new"

    def test_failure_in_the_background_ends_in_error(self, tmp_path: Path,
                                                     gated: GatedIronic) -> None:
        """Pre-processing failures end the record in ``error``; the 202 was sent already."""
        settings = _settings(tmp_path, hooks="ramdisk_error")
        with make_client(settings, gated, ExtensionRegistry.from_settings(settings)) as client:
            uuid = _finished_node(client, gated, "192.0.2.64")["uuid"]
            body = ramdisk("192.0.2.64", error="fan on fire")
            response = client.post(f"/v1/introspection/{uuid}/data/unprocessed", json=body)
            assert response.status_code == 202
            error = wait_state(client, uuid, "error")["error"]
        assert error.startswith(REAPPLY_PREPROCESSING_FAILED) and "fan on fire" in error

    def test_waiting_node_is_left_unchanged(self, client: TestClient, gated: GatedIronic) -> None:
        """Upstream answers 202 and its background does nothing: the state allows no reapply."""
        uuid = _waiting_node(client, gated)
        body = ramdisk("192.0.2.65")
        assert client.post(f"/v1/introspection/{uuid}/data/unprocessed",
                           json=body).status_code == 202
        drain(client)
        assert client.get(f"/v1/introspection/{uuid}").json()["state"] == "waiting"
        assert client.post(f"/v1/introspection/{uuid}/data/unprocessed",
                           json=body).status_code == 202  # the lock was released

    def test_unknown_record(self, client: TestClient) -> None:
        uuid = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a2"
        response = client.post(f"/v1/introspection/{uuid}/data/unprocessed", json=ramdisk("x"))
        assert response.status_code == 404
        assert error_of(response) == f"Could not find node {uuid} in cache"


class TestAbort:
    def test_power_off_retried_while_ironic_holds_the_node(self, tmp_path: Path,
                                                           gated: GatedIronic) -> None:
        """409 NodeLocked twice, then the power-off goes through; the abort completes."""
        with make_client(_settings(tmp_path, max_retries=5), gated, ExtensionRegistry()) as client:
            uuid = _waiting_node(client, gated)
            gated.power_errors = [LOCKED, LOCKED]
            assert client.post(f"/v1/introspection/{uuid}/abort").status_code == 202
            assert wait_state(client, uuid, "error")["error"] == "Canceled by operator"
        assert _power_offs(gated, uuid) == 3 and not gated.power_errors

    def test_gives_up_after_max_retries(self, tmp_path: Path, gated: GatedIronic) -> None:
        """Locked every time: 1 + max_retries attempts, then the abort completes anyway."""
        with make_client(_settings(tmp_path, max_retries=2), gated, ExtensionRegistry()) as client:
            uuid = _waiting_node(client, gated)
            gated.power_errors = [LOCKED] * 5
            assert client.post(f"/v1/introspection/{uuid}/abort").status_code == 202
            assert wait_state(client, uuid, "error")["error"] == "Canceled by operator"
        assert _power_offs(gated, uuid) == 3

    def test_other_errors_are_not_retried(self, client: TestClient, gated: GatedIronic) -> None:
        """A failure other than NodeLocked is only logged, as upstream: one attempt."""
        uuid = _waiting_node(client, gated)
        gated.power_errors = [IronicError("Cannot reach Ironic: boom"), LOCKED]
        assert client.post(f"/v1/introspection/{uuid}/abort").status_code == 202
        assert wait_state(client, uuid, "error")["error"] == "Canceled by operator"
        assert _power_offs(gated, uuid) == 1

    def test_unmanaged_boot_is_not_powered_off(self, client: TestClient,
                                               gated: GatedIronic) -> None:
        node = gated.add_node(macs=["52:54:00:00:07:02"])
        assert client.post(f"/v1/introspection/{node['uuid']}?manage_boot=false").status_code == 202
        assert client.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
        assert wait_state(client, node["uuid"], "error")["error"] == "Canceled by operator"
        assert _power_offs(gated, node["uuid"]) == 0

    def test_calls_while_the_abort_runs(self, tmp_path: Path, gated: GatedIronic) -> None:
        """The background abort holds the lock while it retries the power-off: a second
        abort is 409; a start waits for the abort to end, then restarts (spec 13.2 step 57)."""
        # One second between attempts (the option counts whole seconds): with none, a
        # loaded machine could run through every attempt before the calls below are made.
        settings = _settings(tmp_path, max_retries=30, retry_interval=1)
        with make_client(settings, gated, ExtensionRegistry()) as client:
            uuid = _waiting_node(client, gated)
            gated.power_errors = [LOCKED] * 30
            assert client.post(f"/v1/introspection/{uuid}/abort").status_code == 202
            wait_state(client, uuid, "aborting")
            second = client.post(f"/v1/introspection/{uuid}/abort")
            threading.Timer(0.3, gated.power_errors.clear).start()
            start = client.post(f"/v1/introspection/{uuid}")
            assert start.status_code == 202, start.text
            assert wait_state(client, uuid, "waiting")["error"] is None
        assert second.status_code == 409
        assert error_of(second) == "Node is locked, please, retry later"
        assert _power_offs(gated, uuid) > 1

    def test_start_while_processing_is_refused_at_once(self, client: TestClient,
                                                       gated: GatedIronic) -> None:
        """``processing`` allows no start: 400 as upstream, without waiting for its lock."""
        uuid = _waiting_node(client, gated)
        svc = client.app.state.services  # type: ignore[attr-defined]
        held = client.portal.call(take_lock, svc.coordinator, uuid)  # type: ignore[union-attr]
        assert held is not None
        release = client.portal.wrap_async_context_manager(held)  # type: ignore[union-attr]

        async def process() -> None:
            record = await svc.repo.get_node(uuid)
            await svc.repo.transition(record, Event.PROCESS)

        with release:
            client.portal.call(process)  # type: ignore[union-attr]
            start = client.post(f"/v1/introspection/{uuid}")
        assert start.status_code == 400
        assert error_of(start) == ("Can not transition from state 'processing' on event 'start' "
                                   "(no defined transition)")
