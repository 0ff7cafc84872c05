"""Ramdisk retries of the same callback, and records left behind by a stopped instance."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from metalscope.coordination import take_lock
from metalscope.errors import LookupFailed
from metalscope.extensions import ExtensionRegistry
from metalscope.operations import lookup, recovery
from metalscope.operations.repeats import Repeated, callback_digest
from metalscope.services import Services
from metalscope.settings import Settings, load_settings
from metalscope.state_machine import Event
from metalscope.storage import migrate, tables
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client
from tests.unit.api.test_introspection_api import ramdisk, wait_state

NOT_FOUND = ("The following failures happened during running pre-processing hooks:\n"
             "Look up error: Could not find a node for attributes {{'bmc_address': ['{bmc}']}}")


def _body(bmc: str, error: str | None = None) -> bytes:
    return json.dumps(ramdisk(bmc, error)).encode()


def _post(client: TestClient, body: bytes) -> Any:
    return client.post("/v1/continue", content=body, headers={"Content-Type": "application/json"})


def _services(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def _waiting_node(client: TestClient, fake_ironic: FakeIronic, bmc: str) -> str:
    node = fake_ironic.add_node(driver_info={"ipmi_address": bmc})
    assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
    wait_state(client, node["uuid"], "waiting")
    return str(node["uuid"])


def _processed(client: TestClient, uuid: str) -> dict[str, Any]:
    response = client.get(f"/v1/introspection/{uuid}/data")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _interrupt(client: TestClient, uuid: str, state_events: list[Event],
               stored: bytes | None = None, digest: str | None = None) -> None:
    """Leave ``uuid`` as a stopped instance would: moved on, data stored, lock free."""
    svc = _services(client)

    async def leave() -> None:
        record = await svc.repo.get_node(uuid)
        assert record is not None
        for event in state_events:
            record = await svc.repo.transition(record, event)
        if stored is not None:
            await svc.repo.store_data(uuid, False, json.loads(stored))
        if digest is not None:
            await svc.repo.record_callback(uuid, digest)

    client.portal.call(leave)  # type: ignore[union-attr]


class TestRetriedCallback:
    def test_retry_after_finish_is_answered_without_processing(self, client: TestClient,
                                                               fake_ironic: FakeIronic) -> None:
        """The same bytes again get the same answer; Ironic sees no second update."""
        uuid = _waiting_node(client, fake_ironic, "192.0.2.31")
        body = _body("192.0.2.31")
        assert _post(client, body).json() == {"uuid": uuid}
        first = wait_state(client, uuid, "finished")
        calls = len(fake_ironic.calls)
        again = _post(client, body)
        assert again.status_code == 200 and again.json() == {"uuid": uuid}
        assert len(fake_ironic.calls) == calls
        assert client.get(f"/v1/introspection/{uuid}").json()["finished_at"] == first["finished_at"]

    def test_other_data_after_finish_is_still_refused(self, client: TestClient,
                                                      fake_ironic: FakeIronic) -> None:
        """Only a byte-identical retry is recognised; other data gets the lookup error."""
        uuid = _waiting_node(client, fake_ironic, "192.0.2.32")
        assert _post(client, _body("192.0.2.32")).status_code == 200
        wait_state(client, uuid, "finished")
        other = _post(client, json.dumps({**ramdisk("192.0.2.32"), "extra": 1}).encode())
        assert other.status_code == 400 and "Could not find a node" in error_of(other)

    def test_retry_of_failed_callback_repeats_the_error(self, settings: Settings,
                                                        fake_ironic: FakeIronic) -> None:
        """With the default hooks a ramdisk error fails the node; the retry says so again."""
        with make_client(settings, fake_ironic,
                         ExtensionRegistry.from_settings(settings)) as client:
            self._fail_twice(client, fake_ironic)

    def _fail_twice(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.33")
        body = _body("192.0.2.33", error="disk on fire")
        assert _post(client, body).status_code == 400
        assert "disk on fire" in wait_state(client, uuid, "error")["error"]
        again = _post(client, body)
        assert again.status_code == 400
        assert error_of(again).startswith("Node processing already finished with error:")
        assert "disk on fire" in error_of(again)

    def test_retry_resumes_processing_interrupted_by_a_stopped_instance(
            self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Processing, lock free, same body again: processed from this copy, finished."""
        uuid = _waiting_node(client, fake_ironic, "192.0.2.34")
        body = _body("192.0.2.34")
        _interrupt(client, uuid, [Event.PROCESS], stored=body, digest=callback_digest(body))
        response = _post(client, body)
        assert response.status_code == 200 and response.json() == {"uuid": uuid}
        assert wait_state(client, uuid, "finished")["error"] is None
        assert _processed(client, uuid)["inventory"]["bmc_address"] == "192.0.2.34"

    def test_new_data_for_a_processing_node_fails_it_as_upstream(self, client: TestClient,
                                                                  fake_ironic: FakeIronic) -> None:
        """Not a retry: the strict ``process`` event fails the record (upstream behaviour)."""
        uuid = _waiting_node(client, fake_ironic, "192.0.2.35")
        _interrupt(client, uuid, [Event.PROCESS])
        response = _post(client, _body("192.0.2.35"))
        assert response.status_code == 400
        assert "no defined transition" in wait_state(client, uuid, "error")["error"]


def _window_settings(tmp_path: Path, window: int, hooks: str = "") -> Settings:
    url = f"sqlite:///{tmp_path / 'window.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={
        "database": {"connection": url}, "DEFAULT": {"introspection_delay": 0},
        "processing": {"ramdisk_retry_window": window, "processing_hooks": hooks}})


def _age(client: TestClient, uuid: str, seconds: float) -> None:
    """Move the record's ``finished_at`` ``seconds`` into the past."""
    svc = _services(client)

    async def move() -> None:
        record = await svc.repo.get_node(uuid)
        assert record is not None and record.finished_at is not None
        earlier = record.finished_at - datetime.timedelta(seconds=seconds)
        async with svc.repo.engine.begin() as conn:
            await conn.execute(sa.update(tables.nodes).where(tables.nodes.c.uuid == uuid)
                               .values(finished_at=earlier))

    client.portal.call(move)  # type: ignore[union-attr]


class TestRetryWindow:
    """A retry is answered as the first callback only within ``ramdisk_retry_window``."""

    def test_success_retried_inside_and_after_the_window(self, tmp_path: Path,
                                                         fake_ironic: FakeIronic) -> None:
        with make_client(_window_settings(tmp_path, 60), fake_ironic,
                         ExtensionRegistry()) as client:
            uuid = _waiting_node(client, fake_ironic, "192.0.2.51")
            body = _body("192.0.2.51")
            assert _post(client, body).json() == {"uuid": uuid}
            wait_state(client, uuid, "finished")
            _age(client, uuid, 59)
            assert _post(client, body).json() == {"uuid": uuid}
            _age(client, uuid, 2)
            late = _post(client, body)
        assert late.status_code == 400 and error_of(late) == NOT_FOUND.format(bmc="192.0.2.51")

    def test_error_repeated_only_inside_the_window(self, tmp_path: Path,
                                                   fake_ironic: FakeIronic) -> None:
        settings = _window_settings(tmp_path, 60, hooks="ramdisk_error")
        with make_client(settings, fake_ironic,
                         ExtensionRegistry.from_settings(settings)) as client:
            uuid = _waiting_node(client, fake_ironic, "192.0.2.52")
            body = _body("192.0.2.52", error="psu smoking")
            assert _post(client, body).status_code == 400
            wait_state(client, uuid, "error")
            again = _post(client, body)
            assert error_of(again).startswith("Node processing already finished with error:")
            _age(client, uuid, 61)
            late = _post(client, body)
        assert late.status_code == 400
        assert error_of(late) == ("The following failures happened during running pre-processing "
                                  "hooks:\nPreprocessing hook ramdisk_error: Ramdisk reported "
                                  "error: psu smoking\nLook up error: Could not find a node for "
                                  "attributes {'bmc_address': ['192.0.2.52']}")

    def test_zero_never_answers_a_finished_node(self, tmp_path: Path,
                                                fake_ironic: FakeIronic) -> None:
        with make_client(_window_settings(tmp_path, 0), fake_ironic, ExtensionRegistry()) as client:
            uuid = _waiting_node(client, fake_ironic, "192.0.2.53")
            body = _body("192.0.2.53")
            assert _post(client, body).json() == {"uuid": uuid}
            wait_state(client, uuid, "finished")
            again = _post(client, body)
        assert again.status_code == 400 and error_of(again) == NOT_FOUND.format(bmc="192.0.2.53")

    @pytest.mark.parametrize("window,repeated", [(300, True), (0, False)])
    def test_copy_that_waited_behind_the_first(self, tmp_path: Path, fake_ironic: FakeIronic,
                                               window: int, repeated: bool) -> None:
        """The copy finds the record finished under the lock: repeated only in the window,
        else upstream's "already finished" lookup failure."""
        with make_client(_window_settings(tmp_path, window), fake_ironic,
                         ExtensionRegistry()) as client:
            uuid = _waiting_node(client, fake_ironic, "192.0.2.54")
            body = _body("192.0.2.54")
            assert _post(client, body).status_code == 200
            wait_state(client, uuid, "finished")
            outcome = client.portal.call(self._lock_again, _services(client), uuid,  # type: ignore[union-attr]
                                         callback_digest(body))
        assert outcome == ("repeated" if repeated else "already finished")

    @staticmethod
    async def _lock_again(svc: Services, uuid: str, digest: str) -> str:
        try:
            found = await lookup.lock_unfinished(svc, uuid, digest)
        except LookupFailed as exc:
            return "already finished" if "already finished on" in str(exc) else str(exc)
        if isinstance(found, Repeated):
            return "repeated"
        async with found:
            return "locked"


class TestRecovery:
    def _recover(self, client: TestClient) -> int:
        return int(client.portal.call(recovery.recover_interrupted, _services(client)))  # type: ignore[union-attr]

    def test_interrupted_processing_with_stored_data_finishes(self, client: TestClient,
                                                              fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.41")
        _interrupt(client, uuid, [Event.PROCESS], stored=_body("192.0.2.41"))
        assert self._recover(client) == 1
        body = wait_state(client, uuid, "finished")
        assert body["error"] is None
        assert _processed(client, uuid)["inventory"]["bmc_address"] == "192.0.2.41"

    def test_interrupted_processing_without_data_errors_with_reason(
            self, client: TestClient, fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.42")
        _interrupt(client, uuid, [Event.PROCESS])
        assert self._recover(client) == 1
        error = wait_state(client, uuid, "error")["error"]
        assert error == ("Introspection was interrupted in state processing: the MetalScope "
                         "instance working on it stopped; no stored introspection data to "
                         "resume from")

    def test_interrupted_start_errors_with_reason(self, client: TestClient,
                                                  fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.43")
        _interrupt(client, uuid, [Event.START])
        assert self._recover(client) == 1
        assert wait_state(client, uuid, "error")["error"] == (
            "Introspection was interrupted in state starting: the MetalScope instance working "
            "on it stopped")

    def test_interrupted_abort_completes(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.44")
        _interrupt(client, uuid, [Event.ABORT])
        assert self._recover(client) == 1
        assert wait_state(client, uuid, "error")["error"] == "Canceled by operator"

    def test_interrupted_reapply_runs_again(self, client: TestClient,
                                            fake_ironic: FakeIronic) -> None:
        uuid = _waiting_node(client, fake_ironic, "192.0.2.45")
        assert _post(client, _body("192.0.2.45")).status_code == 200
        wait_state(client, uuid, "finished")
        _interrupt(client, uuid, [Event.REAPPLY])
        assert client.get(f"/v1/introspection/{uuid}").json()["state"] == "reapplying"
        assert self._recover(client) == 1
        assert wait_state(client, uuid, "finished")["error"] is None

    def test_settled_and_waiting_records_are_left_alone(self, client: TestClient,
                                                        fake_ironic: FakeIronic) -> None:
        waiting = _waiting_node(client, fake_ironic, "192.0.2.46")
        assert self._recover(client) == 0
        assert client.get(f"/v1/introspection/{waiting}").json()["state"] == "waiting"

    def test_a_locked_record_is_skipped(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """A held lock means an instance is working on the node: not recovered."""
        uuid = _waiting_node(client, fake_ironic, "192.0.2.47")
        _interrupt(client, uuid, [Event.PROCESS])
        svc = _services(client)

        async def recover_while_locked() -> int:
            held = await take_lock(svc.coordinator, uuid)
            assert held is not None
            async with held:
                return await recovery.recover_interrupted(svc)

        assert client.portal.call(recover_while_locked) == 0  # type: ignore[union-attr]
        assert client.get(f"/v1/introspection/{uuid}").json()["state"] == "processing"
