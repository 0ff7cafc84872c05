"""Discovery: ``[processing]node_not_found_hook = enroll`` creates unknown machines in Ironic."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from metalscope.simulator import SimulatedNode, ramdisk_data
from metalscope.simulator import make_node as make_machine
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

SEED = 47
OPTIONS = {
    "processing": {"node_not_found_hook": "enroll"},
    "discovery": {"enroll_node_driver": "fake-hardware",
                  "enroll_node_fields": "resource_class:discovered"},
}
DISCOVERED_RULE = {
    "description": "discovered machines",
    "conditions": [{"op": "eq", "field": "data://auto_discovered", "value": True}],
    "actions": [{"action": "add-trait", "name": "CUSTOM_DISCOVERED"},
                {"action": "set-attribute", "path": "/extra/discovered_bmc",
                 "value": "{data[inventory][bmc_address]}"}],
}


@pytest.fixture(scope="module")
def discovery(ironic: LocalIronic,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A MetalScope that enrolls unknown machines, with a rule for discovered nodes."""
    with LocalMetalScope(tmp_path_factory.mktemp("metalscope-discovery"), ironic.url,
                         options=OPTIONS) as service, \
            httpx.Client(base_url=service.url, timeout=60) as api:
        assert api.post("/v1/rules", json=DISCOVERED_RULE).status_code == 201
        yield api


_INDEXES = itertools.count(5)


def nodes_with_bmc(ironic: LocalIronic, address: str | None) -> list[str]:
    """UUIDs of the Ironic nodes whose ``driver_info.ipmi_address`` is ``address``."""
    with httpx.Client(base_url=ironic.url, timeout=30,
                      headers={"X-OpenStack-Ironic-API-Version": "latest"}) as client:
        nodes = client.get("/v1/nodes", params={"fields": "uuid,driver_info"}).json()["nodes"]
    return [n["uuid"] for n in nodes if (n.get("driver_info") or {}).get("ipmi_address")
            == address]


@pytest.fixture
def unknown_machine(mac_factory: Callable[[], str],
                    ironic: LocalIronic) -> Iterator[SimulatedNode]:
    """A bare-metal machine whose MACs and BMC address Ironic has never seen.

    The node Ironic ends up with for it is deleted afterwards.
    """
    index = next(_INDEXES)
    machine = make_machine(SEED, index, virtual=False, macs=[mac_factory(), mac_factory()],
                           bmc_address=f"198.19.{index}.{10 + index}")
    yield machine
    for uuid in nodes_with_bmc(ironic, machine.bmc_address):
        ironic.delete_node(uuid)


def wait_finished(api: httpx.Client, uuid: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(f"/v1/introspection/{uuid}").json()
        if status.get("finished"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out, last status {status}")
        time.sleep(0.1)


def test_unknown_machine_is_enrolled(discovery: httpx.Client, ironic: LocalIronic,
                                     unknown_machine: SimulatedNode) -> None:
    """The posted data creates a node (driver, BMC, fields, ports, properties), rules run."""
    machine = unknown_machine
    response = discovery.post("/v1/continue", json=ramdisk_data(machine))
    assert response.status_code == 200, response.text
    uuid = response.json()["uuid"]
    status = wait_finished(discovery, uuid)
    assert status["state"] == "finished" and status["error"] is None, status

    node = ironic.get_node(uuid)
    assert node["driver"] == "fake-hardware" and node["provision_state"] == "enroll"
    assert node["driver_info"]["ipmi_address"] == machine.bmc_address
    assert node["resource_class"] == "discovered"
    assert node["properties"]["cpus"] == str(machine.cpu.count)
    assert node["properties"]["memory_mb"] == str(machine.memory_mb)
    assert node["properties"]["cpu_arch"] == machine.cpu.architecture
    assert [p["address"] for p in ironic.list_ports(uuid)] == [machine.pxe_mac]

    data = discovery.get(f"/v1/introspection/{uuid}/data").json()
    assert data["auto_discovered"] is True
    assert "CUSTOM_DISCOVERED" in node["traits"]
    assert node["extra"]["discovered_bmc"] == machine.bmc_address


def test_known_machine_is_refused(discovery: httpx.Client, ironic: LocalIronic,
                                  unknown_machine: SimulatedNode) -> None:
    """Posting the same machine again: its MAC is now a port, so no second node is made.

    A byte-identical repost is a ramdisk's retry: answered with the node it created. A new
    boot of the same machine (other bytes) reaches the enroll hook, which refuses it.
    """
    first = discovery.post("/v1/continue", json=ramdisk_data(unknown_machine))
    assert first.status_code == 200, first.text
    wait_finished(discovery, first.json()["uuid"])
    retry = discovery.post("/v1/continue", json=ramdisk_data(unknown_machine))
    assert retry.status_code == 200 and retry.json() == first.json()
    again = discovery.post("/v1/continue", json=ramdisk_data(unknown_machine, with_logs=False))
    assert again.status_code == 400
    message = again.json()["error"]["message"]
    assert "Node not found hook failed: Port " in message and "already exists" in message
    assert len(nodes_with_bmc(ironic, unknown_machine.bmc_address)) == 1
