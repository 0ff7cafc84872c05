"""Signals sent to a real ``metalscope serve`` process talking to a real Ironic.

* SIGHUP reads the configuration file again: ``debug`` takes effect (DEBUG lines appear
  after, not before) while a stream of requests goes on without a failure, in the same
  process; an option that needs a restart is named; a file that no longer loads is refused
  and the settings in force kept.
* SIGTERM during a burst of ramdisk callbacks stops the process within
  ``[DEFAULT]graceful_shutdown_timeout`` (plus a generous margin) with status 0; after a
  restart every node ends ``finished``: callbacks refused while it was down are retried by
  the simulated ramdisks, processings cut short are recovered at start.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import (
    RetryPolicy,
    SimulatedNode,
    make_fleet,
    post_inventory,
    ramdisk_data,
    run_fleet,
)
from metalscope.testing.balancer import RoundRobinBalancer
from metalscope.testing.idle_closing_proxy import IdleClosingProxy
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope, render_config

pytestmark = pytest.mark.integration

VERSION = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
RULE = {"description": "tag every node", "conditions": [],
        "actions": [{"action": "set-attribute", "path": "/extra/signals_test", "value": "seen"}]}
DEBUG_LINE = " DEBUG metalscope.rules.engine "
#: Margin on top of graceful_shutdown_timeout for the process to exit (start-up of the
#: interpreter excluded; closing the services, a loaded machine).
STOP_MARGIN = 20.0


def enroll(ironic: LocalIronic, machines: list[SimulatedNode]) -> list[str]:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        nodes = pool.map(lambda m: ironic.enroll_node(None, {}, [m.pxe_mac],
                                                      provision_state="enroll"), machines)
        return [node["uuid"] for node in nodes]


@pytest.fixture
def fleet(ironic: LocalIronic, request: pytest.FixtureRequest) -> Iterator[
        list[tuple[str, SimulatedNode]]]:
    size = getattr(request, "param", 2)
    machines = make_fleet(7000 + size, size)
    uuids = enroll(ironic, machines)
    yield list(zip(uuids, machines, strict=True))
    for uuid in uuids:
        ironic.delete_node(uuid)


def start(url: str, uuids: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        codes = Counter(client.post(f"/v1/introspection/{u}?manage_boot=0").status_code
                        for u in uuids)
    assert codes == {202: len(uuids)}, codes


def statuses(url: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{url}/v1/introspection?limit=1000", headers=VERSION, timeout=30)
    response.raise_for_status()
    return {item["uuid"]: item for item in response.json()["introspection"]}


def wait_settled(url: str, uuids: list[str], timeout: float = 120) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        current = statuses(url)
        if all(current[u]["state"] in ("finished", "error") for u in uuids):
            return current
        if time.monotonic() > deadline:
            return current
        time.sleep(0.3)


def introspect(service: LocalMetalScope, uuid: str, machine: SimulatedNode) -> None:
    start(service.url, [uuid])

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as client:
            return await post_inventory(client, f"{service.url}/v1/continue",
                                        ramdisk_data(machine))

    assert asyncio.run(post()).status_code == 200
    assert wait_settled(service.url, [uuid])[uuid]["state"] == "finished"


class RequestStream:
    """Requests one after another on one keep-alive connection, in a thread, counting
    answers by status and every transport error."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, headers=VERSION) as client:
            while not self._stop.is_set():
                try:
                    self.answers[client.get("/v1/introspection").status_code] += 1
                except httpx.HTTPError as exc:
                    self.answers[type(exc).__name__] += 1

    def __enter__(self) -> RequestStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(self.answers.values()) < count and time.monotonic() < deadline:
            time.sleep(0.05)


def wait_for_line(service: LocalMetalScope, text: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = service.log_file.read_text(errors="replace")
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"no line with {text!r}:\n{service.log_tail()}")


def rewrite(service: LocalMetalScope, section: str, **values: Any) -> None:
    service.sections.setdefault(section, {}).update(values)
    service.config_file.write_text(render_config(service.sections))


@pytest.mark.parametrize("fleet", [2], indirect=True)
def test_sighup_turns_debug_on_while_requests_go_on(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]], tmp_path: Path) -> None:
    """Also: serve runs with standalone = False, saying once that it changes nothing."""
    (first, first_machine), (second, second_machine) = fleet
    service = LocalMetalScope(tmp_path, ironic.url, options={
        "DEFAULT": {"log_file": str(tmp_path / "service.log"), "debug": False,
                    "standalone": False}})
    with service:
        assert service.process is not None
        pid = service.process.pid
        created = httpx.post(f"{service.url}/v1/rules", json=RULE, timeout=30)
        assert created.status_code in (200, 201), created.text
        with RequestStream(service.url) as stream:
            stream.wait_for(20)
            introspect(service, first, first_machine)
            assert DEBUG_LINE not in service.log_file.read_text()

            rewrite(service, "DEFAULT", debug=True, clean_up_period=7)
            service.process.send_signal(signal.SIGHUP)
            log = wait_for_line(service, "Option [DEFAULT]debug changed from False to True")
            assert ("Option [DEFAULT]clean_up_period changed in the configuration files; it "
                    "takes effect when the process is restarted") in log
            before = sum(stream.answers.values())
            stream.wait_for(before + 20)
            introspect(service, second, second_machine)
            assert DEBUG_LINE in service.log_file.read_text()

            service.config_file.write_text("[DEFAULT]\ndebug = maybe\n")
            service.process.send_signal(signal.SIGHUP)
            wait_for_line(service, "The configuration was not reloaded, the current settings "
                                   "stay in force")
            before = sum(stream.answers.values())
            stream.wait_for(before + 20)
        assert service.process.poll() is None and service.process.pid == pid
        assert set(stream.answers) == {200}, stream.answers
        lines = service.log_file.read_text().splitlines()
    assert sum("[DEFAULT]standalone = False only matters" in line for line in lines) == 1
    debug_after = [n for n, line in enumerate(lines) if DEBUG_LINE in line]
    reload_line = next(n for n, line in enumerate(lines) if "[DEFAULT]debug changed" in line)
    assert debug_after and min(debug_after) > reload_line
    assert ironic.get_node(second)["extra"]["signals_test"] == "seen"


PATIENT_RAMDISK = RetryPolicy(attempts=12, backoff=lambda retry: 2.0)


@pytest.mark.parametrize("fleet", [24], indirect=True)
@pytest.mark.parametrize(("grace", "signals", "bound"), [
    (1, [signal.SIGTERM], 1 + STOP_MARGIN),
    # A second signal ends the wait: far sooner than the 600 s the option would allow.
    (600, [signal.SIGTERM, signal.SIGINT], STOP_MARGIN),
], ids=["sigterm", "sigterm-then-sigint"])
def test_sigterm_during_a_burst_stops_in_time_and_every_node_ends_after_restart(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]], tmp_path: Path,
        grace: int, signals: list[signal.Signals], bound: float) -> None:
    uuids = [uuid for uuid, _ in fleet]
    documents = [ramdisk_data(machine) for _, machine in fleet]
    # A slow link to Ironic keeps callbacks and finish steps in flight when SIGTERM comes.
    with RoundRobinBalancer([("127.0.0.1", ironic.port)], delay=0.5) as slow_ironic:
        service = LocalMetalScope(tmp_path, slow_ironic.url, options={
            "DEFAULT": {"graceful_shutdown_timeout": grace, "clean_up_period": 2}})
        with service:
            assert service.process is not None
            start(service.url, uuids)
            results: list[Any] = []
            ramdisks = threading.Thread(target=lambda: results.extend(asyncio.run(run_fleet(
                service.url, documents, concurrency=8, policy=PATIENT_RAMDISK))))
            ramdisks.start()
            wait_until(lambda: sum(s["state"] == "processing"
                                   for s in statuses(service.url).values()) >= 4)
            asked = time.monotonic()
            for signum in signals:
                service.process.send_signal(signum)
                time.sleep(0.2)
            code = service.process.wait(bound)
            took = time.monotonic() - asked
            assert code == 0, service.log_tail()
            log = service.log_file.read_text()
            assert "Caught SIGTERM, stopping" in log
            assert "Traceback" not in log and "Exception in ASGI application" not in log
            in_flight = {u: s["state"] for u, s in statuses_from_db(service).items()}

            service.start()
            ramdisks.join(600)
            current = wait_settled(service.url, uuids)
        restart_log = service.log_file.read_text()[len(log):]
    print(f"\nstopped in {took:.1f} s; states when stopped: {Counter(in_flight.values())}; "
          f"{sum(1 for r in results if r.attempts > 1)} callbacks retried")
    assert [(r.status, r.uuid) for r in results] == [(200, u) for u in uuids], \
        Counter((r.status, r.error) for r in results if r.status != 200)
    assert {u: (current[u]["state"], current[u]["error"]) for u in uuids} == \
        dict.fromkeys(uuids, ("finished", None))
    interrupted = [u for u, state in in_flight.items() if state == "processing"]
    for uuid in interrupted:
        assert uuid in restart_log
    for uuid, machine in fleet:
        assert ironic.get_node(uuid)["properties"].get("memory_mb") == str(machine.memory_mb)


def wait_until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def statuses_from_db(service: LocalMetalScope) -> dict[str, dict[str, Any]]:
    """The records as the stopped process left them (read from its SQLite file)."""
    import sqlite3

    path = service.workdir / "metalscope.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {uuid: {"state": state} for uuid, state in
                db.execute("SELECT uuid, state FROM nodes")}


class PowerHoldingProxy(IdleClosingProxy):
    """Relays to Ironic, but once ``holding`` never relays the answer to a power change:
    the finish step after a callback (the power-off) waits for it."""

    def __init__(self, backend: tuple[str, int]) -> None:
        super().__init__(backend, idle_close=None)
        self.holding = False
        self.held: list[bytes] = []

    async def before_answer(self, request_line: bytes) -> None:
        if self.holding and request_line.startswith(b"PUT ") and b"/states/power" in \
                request_line:
            self.held.append(request_line)
            await asyncio.Event().wait()


def test_a_finish_step_cut_by_sigterm_is_completed_by_the_recovery_at_start(
        ironic: LocalIronic, tmp_path: Path) -> None:
    """The ramdisk has its 200 and will not post again; the power-off after it is cut by
    the stop. The record is left ``processing``; only the recovery at the next start can
    finish it, from the stored data."""
    machine = make_fleet(7100, 1)[0]
    uuid = ironic.enroll_node(None, {}, [machine.pxe_mac])["uuid"]
    try:
        with PowerHoldingProxy(("127.0.0.1", ironic.port)) as proxy:
            service = LocalMetalScope(tmp_path, proxy.url, options={
                "DEFAULT": {"graceful_shutdown_timeout": 1}})
            with service:
                assert service.process is not None
                response = httpx.post(f"{service.url}/v1/introspection/{uuid}", timeout=30)
                assert response.status_code == 202, response.text
                wait_until(lambda: ironic.get_node(uuid)["power_state"] == "power on")
                proxy.holding = True

                async def post() -> httpx.Response:
                    async with httpx.AsyncClient(timeout=60) as client:
                        return await post_inventory(client, f"{service.url}/v1/continue",
                                                    ramdisk_data(machine), attempts=1)

                assert asyncio.run(post()).json() == {"uuid": uuid}
                wait_until(lambda: bool(proxy.held))
                service.process.send_signal(signal.SIGTERM)
                assert service.process.wait(1 + STOP_MARGIN) == 0, service.log_tail()
                assert statuses_from_db(service)[uuid]["state"] == "processing"
                log = service.log_file.read_text()
                assert "Cancelling 1 background task(s) still running" in log

                rewrite(service, "ironic", endpoint_override=ironic.url)
                service.start()
                status = wait_settled(service.url, [uuid])[uuid]
                restart_log = service.log_file.read_text()[len(log):]
        assert (status["state"], status["error"]) == ("finished", None)
        assert (f"Node {uuid} was left in state processing by a stopped instance; "
                "recovering it") in restart_log
        node = ironic.get_node(uuid)
        assert node["power_state"] == "power off"
        assert node["properties"].get("memory_mb") == str(machine.memory_mb)
    finally:
        ironic.delete_node(uuid)
