"""Introspections survive an Ironic outage: a real Ironic is stopped and run again (same
database, same port) while ramdisk callbacks are posted to a running MetalScope.

Callbacks that cannot reach Ironic wait ``[processing]ironic_wait`` seconds, are answered a
retryable 503 and leave their node ``waiting``; the ramdisk's retry (the simulator's poster,
or ironic-python-agent's own ``call_inspector`` in a subprocess) then completes them, or the
leader's recovery does from the stored data when the ramdisk gave up. Every node ends
``finished`` and Ironic's log shows exactly one node PATCH per node.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import RetryPolicy, SimulatedNode, ramdisk_data, run_fleet
from metalscope.simulator import make_node as make_machine
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

NODES = 5
# Seconds a callback waits for Ironic in these tests: more than Ironic's start-up (about
# 4 s), so that a callback posted as Ironic starts is served inside its wait.
IRONIC_WAIT = 6
CLEAN_UP_PERIOD = 2
UNREACHABLE = "Ironic could not be reached, please retry later"

# ironic-python-agent's own callback code, run by the Ironic environment's Python: the data
# comes from a file; IPA's log (each attempt: "Posting collected data") then the answer, as
# the last line, go to standard output.
IPA_CALLBACK = """
import json, sys
from oslo_config import cfg
from oslo_log import log
from ironic_python_agent import config, inspector, utils
log.register_options(cfg.CONF)
cfg.CONF(args=["--inspection_callback_url", sys.argv[1]], project="ironic-python-agent",
         default_config_files=[])
log.setup(cfg.CONF, "ironic-python-agent")
with open(sys.argv[2]) as data:
    print(json.dumps(inspector.call_inspector(json.load(data), utils.AccumulatedFailures())))
"""


@pytest.fixture(scope="module")
def outage_ironic(repo_root: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIronic]:
    """An Ironic of this module's own, since the tests stop it."""
    bin_dir = repo_root / ".venv-ironic" / "bin"
    if not (bin_dir / "ironic").is_file():
        pytest.skip(f"Ironic is not installed: {bin_dir / 'ironic'} is missing")
    local = LocalIronic(tmp_path_factory.mktemp("outage-ironic"), bin_dir,
                        schema_cache_dir=repo_root / ".work" / "ironic-schema")
    with local:
        yield local


@pytest.fixture(scope="module")
def service(outage_ironic: LocalIronic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    options = {"processing": {"ironic_wait": IRONIC_WAIT},
               "DEFAULT": {"clean_up_period": CLEAN_UP_PERIOD}}
    with LocalMetalScope(tmp_path_factory.mktemp("outage-metalscope"), outage_ironic.url,
                         options=options) as local:
        yield local


@pytest.fixture
def ironic(outage_ironic: LocalIronic) -> Iterator[LocalIronic]:
    """The module's Ironic, running again after each test whatever happened."""
    yield outage_ironic
    if outage_ironic.process is None:
        outage_ironic.resume()


@pytest.fixture
def api(service: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as client:
        yield client


def waiting_nodes(ironic: LocalIronic, api: httpx.Client,
                  seed: int) -> list[tuple[str, SimulatedNode]]:
    """``NODES`` fake-hardware nodes whose managed introspection waits for the ramdisk."""
    nodes = []
    for index in range(NODES):
        machine = make_machine(seed=seed, index=index)
        node = ironic.enroll_node(None, {"ipmi_address": machine.bmc_address}, [machine.pxe_mac])
        assert api.post(f"/v1/introspection/{node['uuid']}").status_code == 202
        nodes.append((node["uuid"], machine))
    for uuid, _ in nodes:
        wait_for(api, uuid, lambda s: s["state"] == "waiting")
    return nodes


def wait_for(api: httpx.Client, uuid: str, done: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(f"/v1/introspection/{uuid}").json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"node {uuid}: timed out, last status {status}")
        time.sleep(0.2)


def post_all(url: str, nodes: list[tuple[str, SimulatedNode]], attempts: int) -> list[Any]:
    policy = RetryPolicy(attempts=attempts, backoff=lambda _: 1.0)
    documents = [ramdisk_data(machine) for _, machine in nodes]
    return asyncio.run(run_fleet(url, documents, concurrency=len(documents), policy=policy))


def assert_all_finished_once(ironic: LocalIronic, api: httpx.Client,
                             nodes: list[tuple[str, SimulatedNode]]) -> None:
    """Finished without error, powered off, and one node PATCH each in Ironic's log."""
    for uuid, machine in nodes:
        status = wait_for(api, uuid, lambda s: s["finished"])
        assert (status["state"], status["error"]) == ("finished", None), status
        node = ironic.get_node(uuid)
        assert node["properties"]["cpus"] == str(machine.cpu.count)
    patches = [r for r in ironic.api_requests() if r.method == "PATCH"]
    for uuid, _ in nodes:
        mine = [r for r in patches if r.path == f"/v1/nodes/{uuid}"]
        assert [r.status for r in mine] == [200], f"node {uuid}: {mine}"
    for uuid, _ in nodes:
        deadline = time.monotonic() + 30
        while ironic.get_node(uuid)["power_state"] != "power off":
            assert time.monotonic() < deadline, f"node {uuid} was not powered off"
            time.sleep(0.2)


def test_callbacks_posted_while_ironic_is_down(ironic: LocalIronic, api: httpx.Client,
                                               service: LocalMetalScope) -> None:
    """Stopped Ironic: each callback waits, gets a 503 naming Ironic and its node stays
    waiting with nothing failed; Ironic back (same port, same nodes): the retries finish
    every node."""
    nodes = waiting_nodes(ironic, api, seed=301)
    url, port = ironic.url, ironic.port
    ironic.stop()
    started = time.monotonic()
    first = post_all(service.url, nodes, attempts=1)
    elapsed = time.monotonic() - started
    assert [r.status for r in first] == [503] * NODES, first
    assert all(r.error.startswith(UNREACHABLE) for r in first), first[0].error
    assert IRONIC_WAIT <= elapsed < 25  # answered before IPA's 30 s request timeout
    for uuid, _ in nodes:
        status = api.get(f"/v1/introspection/{uuid}").json()
        assert (status["state"], status["error"], status["finished_at"]) == ("waiting", None, None)
    ironic.resume()
    assert (ironic.url, ironic.port) == (url, port)
    again = post_all(service.url, nodes, attempts=5)
    assert [(r.status, r.uuid) for r in again] == [(200, uuid) for uuid, _ in nodes], again
    assert_all_finished_once(ironic, api, nodes)


def run_ipa(ironic: LocalIronic, url: str, machine: SimulatedNode,
            folder: Path) -> subprocess.Popen[str]:
    data = folder / f"ramdisk-{machine.index}.json"
    data.write_text(json.dumps(ramdisk_data(machine)))
    return subprocess.Popen([str(ironic.bin_dir / "python"), "-c", IPA_CALLBACK, url, str(data)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_ironic_restarted_with_callbacks_in_flight(ironic: LocalIronic, api: httpx.Client,
                                                   service: LocalMetalScope,
                                                   tmp_path: Path) -> None:
    """IPA's own call_inspector posts while Ironic restarts. The first callback arrives
    as Ironic stops; two more during the outage, answered 503 after ironic_wait and
    retried by IPA after its 5 s back-off; the last two while Ironic starts again, served
    inside their wait. All end finished, with one PATCH each."""
    nodes = waiting_nodes(ironic, api, seed=302)
    url = f"{service.url}/v1/continue"
    runs = [run_ipa(ironic, url, nodes[0][1], tmp_path)]
    time.sleep(0.6)  # IPA needs about as long to start and post
    ironic.stop()
    runs += [run_ipa(ironic, url, machine, tmp_path) for _, machine in nodes[1:3]]
    time.sleep(IRONIC_WAIT + 1)
    resume = threading.Thread(target=ironic.resume)
    resume.start()
    wait_until(lambda: ironic.process is not None)  # launched, not answering yet
    runs += [run_ipa(ironic, url, machine, tmp_path) for _, machine in nodes[3:]]
    resume.join()
    outputs = [run.communicate(timeout=150) for run in runs]
    for (uuid, _), run, (out, err) in zip(nodes, runs, outputs, strict=True):
        assert run.returncode == 0, (out + err)[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == {"uuid": uuid}
    attempts = [out.count("Posting collected data") for out, _ in outputs]
    assert min(attempts[1:3]) >= 2 and attempts[3:] == [1, 1], attempts
    assert_all_finished_once(ironic, api, nodes)


def test_recovery_processes_callbacks_whose_ramdisk_gave_up(
        ironic: LocalIronic, api: httpx.Client, service: LocalMetalScope) -> None:
    """One attempt each during the outage, no retry: once Ironic answers, the leader's
    recovery processes the stored data (RAMDISK_RETRY_GAP after the 503, within a
    clean-up period); a late retry is answered as the callback that finished the node."""
    nodes = waiting_nodes(ironic, api, seed=303)
    ironic.stop()
    assert [r.status for r in post_all(service.url, nodes, attempts=1)] == [503] * NODES
    ironic.resume()
    assert_all_finished_once(ironic, api, nodes)
    late = post_all(service.url, nodes, attempts=1)
    assert [(r.status, r.uuid) for r in late] == [(200, uuid) for uuid, _ in nodes]
    assert_all_finished_once(ironic, api, nodes)
