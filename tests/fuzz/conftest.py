"""A MetalScope of the fuzz tier's own, with nodes and rules for the fuzzer to find.

The fuzzer creates rules, starts and aborts introspections and posts ramdisk data, so it gets
a ``metalscope serve`` process of its own (against the session's real Ironic): nothing it
leaves behind reaches the other tiers. Before the first request the process is given state
to hit, under fixed UUIDs and names so that the fuzzing configuration (built when the test
module is imported) can name them: a finished introspection with stored data and three
versions of hardware history (API 1.19), one waiting for its ramdisk, a node never
introspected, an active node and two rules.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

#: Simulator seed of the fuzz tier's machines; no other test uses it, so MACs do not clash.
MACHINE_SEED = 7007


@dataclass(frozen=True)
class SeededNode:
    uuid: str
    name: str
    index: int
    provision_state: str = "manageable"


FINISHED = SeededNode("f0000000-0000-4000-8000-000000000001", "fuzz-finished", 1)
WAITING = SeededNode("f0000000-0000-4000-8000-000000000002", "fuzz-waiting", 2)
FRESH = SeededNode("f0000000-0000-4000-8000-000000000003", "fuzz-fresh", 3)
ACTIVE = SeededNode("f0000000-0000-4000-8000-000000000004", "fuzz-active", 4, "active")
NODES = (FINISHED, WAITING, FRESH, ACTIVE)
RULE_UUIDS = ("f1000000-0000-4000-8000-000000000001", "f1000000-0000-4000-8000-000000000002")
#: The PXE MACs of the seeded machines, for ramdisk data the lookup can match.
MACS = tuple(make_machine(seed=MACHINE_SEED, index=n.index, virtual=False).pxe_mac for n in NODES)


def _rules() -> list[dict[str, object]]:
    return [
        {"uuid": RULE_UUIDS[0], "description": "big memory",
         "conditions": [{"op": "ge", "field": "memory_mb", "value": 1024}],
         "actions": [{"action": "set-capability", "name": "fuzz", "value": "yes"}]},
        {"uuid": RULE_UUIDS[1], "scope": "fuzz",
         "actions": [{"action": "add-trait", "name": "CUSTOM_FUZZ"}]},
    ]


def _wait_state(api: httpx.Client, uuid: str, states: set[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/v1/introspection/{uuid}").json().get("state") not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"node {uuid} did not reach {states}")
        time.sleep(0.1)


def _introspect(api: httpx.Client, node: SeededNode, post_data: bool) -> None:
    response = api.post(f"/v1/introspection/{node.uuid}", params={"manage_boot": "false"})
    assert response.status_code == 202, response.text
    _wait_state(api, node.uuid, {"waiting"})
    if post_data:
        machine = make_machine(seed=MACHINE_SEED, index=node.index, virtual=False)
        response = api.post("/v1/continue", json=ramdisk_data(machine))
        assert response.status_code == 200, response.text
        _wait_state(api, node.uuid, {"finished"})


#: States in which the service is still working on a node; :func:`restore` waits them out.
BUSY = {"starting", "processing", "enrolling", "aborting", "reapplying"}


def _settled_state(api: httpx.Client, uuid: str, timeout: float = 30) -> str | None:
    """The node's introspection state once no background work is running on it."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/introspection/{uuid}")
        state = response.json().get("state") if response.status_code == 200 else None
        if state not in BUSY:
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"node {uuid} still {state} after {timeout} s")
        time.sleep(0.05)


def restore(api: httpx.Client) -> None:
    """Put the service back in the seeded state after a fuzzer's sequence of requests.

    The stateful phase chooses its next request from earlier answers (a created rule, a
    node the ramdisk data found), so every sequence must start from the same state: the
    seeded rules only, FINISHED finished without error, WAITING waiting for its ramdisk and
    no introspection in progress on FRESH or ACTIVE.
    """
    assert api.delete("/v1/rules").status_code == 204
    for rule in _rules():
        response = api.post("/v1/rules", json=rule)
        assert response.status_code == 201, response.text
    for node in (FRESH, ACTIVE):
        if _settled_state(api, node.uuid) == "waiting":
            api.post(f"/v1/introspection/{node.uuid}/abort")
            _settled_state(api, node.uuid)
    status = api.get(f"/v1/introspection/{FINISHED.uuid}").json()
    if _settled_state(api, FINISHED.uuid) != "finished" or status.get("error"):
        _introspect(api, FINISHED, post_data=True)
    if _settled_state(api, WAITING.uuid) != "waiting":
        _introspect(api, WAITING, post_data=False)


def seed(api: httpx.Client, ironic: LocalIronic, database_url: str) -> None:
    """Enroll the seeded nodes, run their introspections, create the rules and give FINISHED
    a hardware history."""
    for node, mac in zip(NODES, MACS, strict=True):
        ironic.enroll_node(node.name, {}, [mac], provision_state=node.provision_state,
                           uuid=node.uuid)
    _introspect(api, FINISHED, post_data=True)
    _introspect(api, WAITING, post_data=False)
    for rule in _rules():
        response = api.post("/v1/rules", json=rule)
        assert response.status_code == 201, response.text
    asyncio.run(seed_history(database_url, FINISHED))


#: How many hardware versions FINISHED gets; the fuzzer draws version numbers from these.
HISTORY_VERSIONS = (1, 2, 3)


async def seed_history(database_url: str, node: SeededNode) -> None:
    """Versions of ``node``'s hardware, recorded through the repository: the machine, then
    the same machine with a NIC and some memory gone."""
    machine = make_machine(seed=MACHINE_SEED, index=node.index, virtual=False)
    full = ramdisk_data(machine, with_logs=False)
    shrunk = copy.deepcopy(full)
    shrunk["inventory"]["interfaces"] = shrunk["inventory"]["interfaces"][:1]
    shrunk["inventory"]["memory"]["physical_mb"] //= 2
    repo = Repository(create_engine(database_url))
    finished = datetime.datetime(2026, 1, 1, 12, 0)
    try:
        for number, data in zip(HISTORY_VERSIONS, (full, full, shrunk), strict=True):
            when = finished + datetime.timedelta(days=number)
            await repo.record_version(node.uuid, started_at=when, finished_at=when,
                                      source="inband", processed=data, unprocessed=data,
                                      error=None, summary=None, changed=number > 1)
    finally:
        await repo.engine.dispose()


@pytest.fixture(scope="session")
def fuzz_target(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[LocalMetalScope]:
    """A seeded ``metalscope serve`` (noauth, SQLite, stored data) only the fuzz tier uses."""
    service = LocalMetalScope(tmp_path_factory.mktemp("metalscope-fuzz"), ironic.url)
    with service:
        with httpx.Client(base_url=service.url, timeout=30) as api:
            seed(api, ironic, service.sections["database"]["connection"])
        yield service
    for node in NODES:
        ironic.delete_node(node.uuid)


#: What the API logs with the traceback of an exception no handler expected (a 500).
UNHANDLED = "Unexpected error while handling a request"


@pytest.fixture
def service_log(fuzz_target: LocalMetalScope) -> Iterator[Path]:
    """The service's log; the test fails if a request raised an unhandled exception meanwhile.

    Background work (reapply, processing) logs its own failures with tracebacks by design;
    only the API's last-resort handler counts here.
    """
    size = fuzz_target.log_file.stat().st_size
    yield fuzz_target.log_file
    with fuzz_target.log_file.open(errors="replace") as log:
        log.seek(size)
        written = log.read()
    assert UNHANDLED not in written, written[written.index(UNHANDLED):][:4000]
