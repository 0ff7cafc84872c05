"""Hardware history and drift end to end: a real Ironic, MetalScope as a real process, the
simulated ramdisk, a webhook received by a real HTTP server of the test.

A node is introspected, its simulated hardware changed (a DIMM removed, a disk replaced,
the BIOS firmware updated), then introspected again: the history (API 1.19 and CLI) has
both versions, the diff names the changes, a drift rule's effect shows in Ironic, and the
webhook arrives signed. A reapply records no version; an inspection without a change
records one with ``changed = false`` and emits nothing. A process killed (SIGKILL) after
the version was recorded, and restarted, leaves exactly one version for the introspection.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import (
    SimulatedNode,
    change_firmware,
    make_node,
    ramdisk_data,
    remove_dimm,
    replace_disk,
)
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.testing.idle_closing_proxy import IdleClosingProxy
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope, render_config

pytestmark = pytest.mark.integration

API = {"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}
SECRET = "drift-shared-secret"


class Delivery:
    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class WebhookReceiver:
    """A real HTTP server on loopback that keeps every POST it receives."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/drift"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_node(self, uuid: str) -> list[Delivery]:
        return [d for d in list(self.deliveries) if d.payload["node"]["uuid"] == uuid]

    def wait_for(self, uuid: str, count: int, timeout: float = 30) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.for_node(uuid)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.for_node(uuid)


def signature_ok(delivery: Delivery, secret: str = SECRET) -> bool:
    """``sha256=`` + the HMAC-SHA256 of ``<timestamp>.<body>`` with the shared secret, the
    timestamp (Unix time) from its own header and close to now."""
    timestamp = delivery.headers.get("X-MetalScope-Timestamp", "")
    signed = timestamp.encode() + b"." + delivery.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    given = delivery.headers.get("X-MetalScope-Signature", "")
    return (timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
            and hmac.compare_digest(given, expected))


def drift_options(webhook_url: str) -> dict[str, dict[str, Any]]:
    return {"drift": {"notifiers": "log,webhook", "webhook_url": webhook_url,
                      "webhook_secret": SECRET}}


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def service(ironic: LocalIronic, receiver: WebhookReceiver,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp("history"), ironic.url,
                         options=drift_options(receiver.url)) as running:
        yield running


@pytest.fixture
def api(service: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60, headers=API) as client:
        yield client


def wait_until(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
    return result


def introspect(api: httpx.Client, uuid: str, machine: SimulatedNode,
               expect: int = 200) -> dict[str, Any]:
    """One introspection without managed boot; returns the final status."""
    before = api.get(f"/v1/introspection/{uuid}")
    previous = before.json()["started_at"] if before.status_code == 200 else ""
    started = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert started.status_code == 202, started.text
    wait_until(lambda: api.get(f"/v1/introspection/{uuid}").json()["state"] == "waiting")
    response = api.post("/v1/continue", json=ramdisk_data(machine))
    assert response.status_code == expect, response.text
    return wait_until(lambda: _finished_since(api, uuid, previous))  # type: ignore[no-any-return]


def _finished_since(api: httpx.Client, uuid: str, started_after: str) -> dict[str, Any] | None:
    status = api.get(f"/v1/introspection/{uuid}").json()
    # A reapply keeps finished_at (the status says finished while it runs): the state tells.
    done = status["state"] in ("finished", "error") and status["started_at"] > started_after
    return status if done else None


def history_of(api: httpx.Client, uuid: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/introspection/{uuid}/history")
    assert response.status_code == 200, response.text
    return response.json()["history"]  # type: ignore[no-any-return]


def changed_hardware(machine: SimulatedNode) -> SimulatedNode:
    """The same machine with a DIMM removed, a disk replaced and a new BIOS."""
    return change_firmware(replace_disk(remove_dimm(machine)))


def add_rule(api: httpx.Client, scope: str, conditions: list[dict[str, Any]],
             actions: list[dict[str, Any]]) -> str:
    response = api.post("/v1/rules", json={"description": f"drift {scope}", "scope": scope,
                                           "conditions": conditions, "actions": actions})
    assert response.status_code == 201, response.text
    return str(response.json()["uuid"])


def cli(service: LocalMetalScope, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "metalscope.cli", *args, "--url", service.url],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_changed_hardware_is_versioned_diffed_announced_and_ruled(
        api: httpx.Client, service: LocalMetalScope, receiver: WebhookReceiver,
        ironic: LocalIronic, make_node: Any) -> None:
    machine = make_node_machine(301)
    scope = "drift-memory"
    node = make_node(macs=[machine.pxe_mac], properties={"inspection_scope": scope})
    uuid = node["uuid"]
    rule = add_rule(api, scope, [{"op": "lt", "field": "diff://memory.total_mb.delta",
                                  "value": 0}],
                    [{"action": "add-trait", "name": "CUSTOM_MEMORY_DRIFT"}])
    try:
        first = introspect(api, uuid, machine)
        assert (first["state"], first["error"]) == ("finished", None)
        # No previous version: every diff:// field is missing, the rule does not match.
        assert "CUSTOM_MEMORY_DRIFT" not in ironic.get_node(uuid)["traits"]
        changed = changed_hardware(machine)
        second = introspect(api, uuid, changed)
        assert (second["state"], second["error"]) == ("finished", None)
        assert "CUSTOM_MEMORY_DRIFT" in ironic.get_node(uuid)["traits"]
    finally:
        api.delete(f"/v1/rules/{rule}")

    versions = history_of(api, uuid)
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["changed"] is True and versions[0]["error"] is None
    assert versions[1]["changed"] is None  # nothing to compare the first one with
    summary = versions[0]["summary"]

    # Each version keeps the processed data and the data as the ramdisk posted it.
    kept = api.get(f"/v1/introspection/{uuid}/history/2").json()["data"]
    assert "all_interfaces" in kept and "logs" not in kept
    posted = api.get(f"/v1/introspection/{uuid}/history/2/unprocessed").json()
    assert posted["inventory"] == ramdisk_data(changed)["inventory"]

    diff = api.get(f"/v1/introspection/{uuid}/diff").json()
    assert (diff["from"]["version"], diff["to"]["version"], diff["changed"]) == (1, 2, True)
    assert diff["summary"] == summary
    check_diff(diff, machine, changed)

    deliveries = receiver.wait_for(uuid, 1)
    assert len(deliveries) == 1 and signature_ok(deliveries[0])
    assert not signature_ok(deliveries[0], "another secret")
    payload = deliveries[0].payload
    assert (payload["from_version"], payload["to_version"]) == (1, 2)
    assert payload["summary"] == summary
    assert payload["diff"]["memory"]["total_mb"]["delta"] < 0

    rows = [line.split(maxsplit=5) for line in cli(service, "history", uuid).splitlines()]
    assert rows[0] == ["VERSION", "FINISHED", "SOURCE", "ERROR", "CHANGED", "SUMMARY"]
    assert [(r[0], r[2], r[4]) for r in rows[1:]] == [("2", "inband", "yes"),
                                                       ("1", "inband", "-")]
    assert summary.startswith(rows[1][5].rstrip("…"))
    diff_lines = cli(service, "diff", uuid).splitlines()
    assert summary in diff_lines
    assert f"  ~ bios  version: {machine.firmware_version} → {changed.firmware_version}" \
        in diff_lines
    assert any(line.startswith(f"  - serial:{machine.disks[-1].serial} ") for line in diff_lines)
    assert any(line.startswith(f"  + serial:{changed.disks[-1].serial} ") for line in diff_lines)
    assert any(line.startswith("  - ") and f"locator={machine.dimms[-1].locator}" in line
               for line in diff_lines)

    # A reapply runs hooks and rules again and records no version.
    response = api.post(f"/v1/introspection/{uuid}/data/unprocessed")
    assert response.status_code == 202, response.text
    wait_until(lambda: _finished_since(api, uuid, second["started_at"]))
    assert [v["version"] for v in history_of(api, uuid)] == [2, 1]

    # The same hardware again: a version with changed = false, and no event.
    third = introspect(api, uuid, changed)
    assert third["state"] == "finished"
    latest = history_of(api, uuid)[0]
    assert (latest["version"], latest["changed"]) == (3, False)
    assert api.get(f"/v1/introspection/{uuid}/diff").json()["summary"] == "no hardware change"
    time.sleep(1)  # the webhook of an event would have arrived by now (it came within 1 s)
    assert len(receiver.for_node(uuid)) == 1


def test_fail_rule_on_drift_ends_in_error_with_a_version(
        api: httpx.Client, receiver: WebhookReceiver, make_node: Any) -> None:
    machine = make_node_machine(302)
    scope = "drift-fail"
    node = make_node(macs=[machine.pxe_mac], properties={"inspection_scope": scope})
    uuid = node["uuid"]
    message = "a disk was removed since the last inspection"
    rule = add_rule(api, scope, [{"op": "is-empty", "field": "diff://components.disks.removed",
                                  "invert": True}],
                    [{"action": "fail", "message": message}])
    try:
        assert introspect(api, uuid, machine)["state"] == "finished"
        status = introspect(api, uuid, changed_hardware(machine), expect=400)
    finally:
        api.delete(f"/v1/rules/{rule}")
    assert (status["state"], status["error"]) == ("error", message)
    versions = history_of(api, uuid)
    assert [(v["version"], v["changed"], v["error"]) for v in versions] == [
        (2, True, message), (1, None, None)]
    assert len(receiver.wait_for(uuid, 1)) == 1


class PowerHoldingProxy(IdleClosingProxy):
    """Relays to Ironic, but once ``holding`` never relays the answer to a power change."""

    def __init__(self, backend: tuple[str, int]) -> None:
        super().__init__(backend, idle_close=None)
        self.holding = False
        self.held: list[bytes] = []

    async def before_answer(self, request_line: bytes) -> None:
        if self.holding and request_line.startswith(b"PUT ") and b"/states/power" in \
                request_line:
            self.held.append(request_line)
            await asyncio.Event().wait()


def stored_versions(service: LocalMetalScope, uuid: str) -> list[int]:
    """The versions in the database of a stopped process."""
    async def read() -> list[int]:
        repo = Repository(create_engine(f"sqlite:///{service.workdir / 'metalscope.sqlite'}"))
        try:
            return [v.version for v in await repo.list_versions(uuid)]
        finally:
            await repo.engine.dispose()
    return asyncio.run(read())


def test_killed_after_processing_then_restarted_keeps_one_version(
        ironic: LocalIronic, receiver: WebhookReceiver, tmp_path: Path) -> None:
    """The process is killed while the power-off after the callback waits (the version is
    recorded, the record still ``processing``); the recovery at the next start processes
    the node again and records no second version."""
    machine = make_node_machine(303)
    uuid = ironic.enroll_node(None, {}, [machine.pxe_mac])["uuid"]
    try:
        with PowerHoldingProxy(("127.0.0.1", ironic.port)) as proxy:
            service = LocalMetalScope(tmp_path, proxy.url, options=drift_options(receiver.url))
            with service, httpx.Client(base_url=service.url, timeout=60, headers=API) as api:
                assert api.post(f"/v1/introspection/{uuid}").status_code == 202
                wait_until(lambda: ironic.get_node(uuid)["power_state"] == "power on")
                proxy.holding = True
                assert api.post("/v1/continue", json=ramdisk_data(machine)).status_code == 200
                wait_until(lambda: bool(proxy.held))
                service.kill()
                assert stored_versions(service, uuid) == [1]
                service.sections["ironic"]["endpoint_override"] = ironic.url
                service.config_file.write_text(render_config(service.sections))
                service.start()
                status = wait_until(lambda: _finished_since(api, uuid, ""), timeout=60)
                assert (status["state"], status["error"]) == ("finished", None)
                assert [v["version"] for v in history_of(api, uuid)] == [1]
                assert "was recorded already" in service.log_file.read_text()
    finally:
        ironic.delete_node(uuid)


def make_node_machine(index: int) -> SimulatedNode:
    return make_node(seed=14, index=index, virtual=False)


def check_diff(diff: dict[str, Any], old: SimulatedNode, new: SimulatedNode) -> None:
    """The DIMM removed, the disk replaced (serials), the BIOS old → new, nothing else."""
    parts = diff["components"]
    dimm = old.dimms[-1]
    assert [d["attributes"]["locator"] for d in parts["memory"]["removed"]] == [dimm.locator]
    assert diff["memory"]["total_mb"] == {"old": old.memory_mb, "new": new.memory_mb,
                                          "delta": -dimm.size_mb}
    gone, fitted = old.disks[-1], new.disks[-1]
    assert [d["id"] for d in parts["disks"]["removed"]] == [f"serial:{gone.serial}"]
    assert [d["id"] for d in parts["disks"]["added"]] == [f"serial:{fitted.serial}"]
    assert parts["disks"]["added"][0]["attributes"]["name"] == gone.name
    assert parts["firmware"]["changed"] == [{"id": "bios", "changes": {"version": {
        "old": old.firmware_version, "new": new.firmware_version}}}]
    untouched = {name for name, part in parts.items() if not any(part.values())}
    assert untouched == {"system", "cpu", "nics", "pci", "accelerators", "boot"}
    assert diff["counts"] == {"added": 1, "removed": 2, "changed": 2}
