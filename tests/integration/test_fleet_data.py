"""The fleet's data end to end: a real Ironic, MetalScope as a real process (``store_data =
none``: the summaries do not depend on stored data), simulated ramdisks.

Machines of different vendors are introspected: each finished node, and the node failed by
a rule after processing, has its summary with its Ironic name and the rules it matched; the
node whose ramdisk failed and the node still waiting are listed without one. Sorting,
filtering and searching read those rows; a node deleted from Ironic leaves the fleet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from metalscope.fleet.query import FleetPage, FleetQuery, FleetRow
from metalscope.simulator import SimulatedNode, make_node, ramdisk_data
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(ironic: LocalIronic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp("fleet"), ironic.url,
                         options={"processing": {"store_data": "none"}}) as running:
        yield running


@pytest.fixture
def api(service: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as client:
        yield client


def wait_until(check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)
    return result


def fleet(service: LocalMetalScope, query: FleetQuery) -> FleetPage:
    async def read() -> FleetPage:
        repo = Repository(create_engine(f"sqlite:///{service.workdir / 'metalscope.sqlite'}"))
        try:
            return await repo.fleet.page(query)
        finally:
            await repo.engine.dispose()
    return asyncio.run(read())


def rows_of(service: LocalMetalScope, uuids: set[str], **query: Any) -> list[FleetRow]:
    page = fleet(service, FleetQuery(limit=500, **query))
    return [row for row in page.rows if row.uuid in uuids]


def introspect(api: httpx.Client, uuid: str, data: dict[str, Any] | None) -> str:
    """Start without managed boot, post ``data`` (None: leave it waiting); the final state."""
    started = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert started.status_code == 202, started.text
    wait_until(lambda: api.get(f"/v1/introspection/{uuid}").json()["state"] == "waiting")
    if data is None:
        return "waiting"
    api.post("/v1/continue", json=data)
    status = wait_until(lambda: (s := api.get(f"/v1/introspection/{uuid}").json())["state"]
                        in ("finished", "error") and s)
    return str(status["state"])


def machines() -> list[SimulatedNode]:
    return [make_node(21, 0, vendor="Dell", virtual=False),
            make_node(21, 1, vendor="HPE", virtual=False),
            make_node(21, 2, vendor="Supermicro", virtual=False),
            make_node(21, 3, vendor="Lenovo", virtual=False),
            make_node(21, 4, vendor="Dell", virtual=False)]


def test_processed_nodes_are_summarised_and_listed(
        api: httpx.Client, service: LocalMetalScope, ironic: LocalIronic,
        make_node: Any) -> None:
    dell, hpe, smc, lenovo, waiting = machines()
    nodes = {m.name: make_node(name=f"fleet-{m.name}", macs=list(m.macs))
             for m in (dell, hpe, smc, lenovo, waiting)}
    uuids = {n["uuid"] for n in nodes.values()}
    marked = api.post("/v1/rules", json={
        "description": "HPE servers", "actions": [{"action": "extend-attribute",
                                                   "path": "/extra/tags", "value": "hpe"}],
        "conditions": [{"op": "eq", "field": "inventory.system_vendor.manufacturer",
                        "value": hpe.vendor}]})
    refused = api.post("/v1/rules", json={
        "description": "no Lenovo", "actions": [{"action": "fail", "message": "not Lenovo"}],
        "conditions": [{"op": "eq", "field": "inventory.system_vendor.manufacturer",
                        "value": lenovo.vendor}]})
    assert marked.status_code == refused.status_code == 201
    try:
        states = {m.name: introspect(api, nodes[m.name]["uuid"], data) for m, data in (
            (dell, ramdisk_data(dell)), (hpe, ramdisk_data(hpe)),
            (smc, ramdisk_data(smc, error="The ramdisk could not read the disks")),
            (lenovo, ramdisk_data(lenovo)), (waiting, None))}
    finally:
        for rule in (marked, refused):
            api.delete(f"/v1/rules/{rule.json()['uuid']}")
    assert states == {dell.name: "finished", hpe.name: "finished", smc.name: "error",
                      lenovo.name: "error", waiting.name: "waiting"}
    # The finishing step saves the summary in the background: wait for the last one.
    wait_until(lambda: all(r.summary is not None for r in rows_of(service, uuids)
                           if r.state == "finished"))

    rows = {r.uuid: r for r in rows_of(service, uuids)}
    assert len(rows) == 5
    for machine in (dell, hpe, lenovo):
        row = rows[nodes[machine.name]["uuid"]]
        assert row.name == f"fleet-{machine.name}" and row.summary is not None
        summary = row.summary
        assert (summary.vendor, summary.model) == (machine.vendor, machine.model)
        assert (summary.memory_mib, summary.cpu_count) == (machine.memory_mb, machine.cpu.count)
        assert (summary.disk_count, summary.macs) == (len(machine.disks), machine.macs)
        assert row.inspected_at is not None
    assert [r.description for r in rows[nodes[hpe.name]["uuid"]].summary.rules] == [  # type: ignore[union-attr]
        "HPE servers"]
    assert rows[nodes[dell.name]["uuid"]].summary.rules == ()  # type: ignore[union-attr]
    assert rows[nodes[lenovo.name]["uuid"]].error == "not Lenovo"
    for machine in (smc, waiting):  # error before processing, and not processed yet
        row = rows[nodes[machine.name]["uuid"]]
        assert row.summary is None and row.name is None
    assert "The ramdisk could not read the disks" in (rows[nodes[smc.name]["uuid"]].error or "")

    by_memory = [r.uuid for r in rows_of(service, uuids, sort="memory_mib")]
    expected = sorted((dell, hpe, lenovo), key=lambda m: (m.memory_mb, nodes[m.name]["uuid"]),
                      reverse=True)
    assert by_memory[:3] == [nodes[m.name]["uuid"] for m in expected]
    assert [r.uuid for r in rows_of(service, uuids, search=hpe.macs[-1].upper())] == [
        nodes[hpe.name]["uuid"]]
    assert [r.uuid for r in rows_of(service, uuids, search=f"FLEET-{dell.name}")] == [
        nodes[dell.name]["uuid"]]
    assert {r.uuid for r in rows_of(service, uuids, state="error")} == {
        nodes[smc.name]["uuid"], nodes[lenovo.name]["uuid"]}
    assert [r.uuid for r in rows_of(service, uuids, state="in_progress")] == [
        nodes[waiting.name]["uuid"]]

    # A node deleted from Ironic is forgotten by the clean-up, its summary with it.
    gone = nodes[dell.name]["uuid"]
    ironic.delete_node(gone)
    wait_until(lambda: api.get(f"/v1/introspection/{gone}").status_code == 404)
    assert gone not in {r.uuid for r in rows_of(service, uuids)}
