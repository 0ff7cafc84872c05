"""Whole introspections through a running MetalScope against the real Ironic."""

from __future__ import annotations

import tarfile
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration


def wait_status(api: httpx.Client, uuid: str, done: Callable[[dict[str, Any]], bool],
                timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/v1/introspection/{uuid}").json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out, last status {status}")
        time.sleep(0.1)


def wait_power(ironic: LocalIronic, uuid: str, state: str, timeout: float = 10) -> bool:
    """Fake power actions complete in the background shortly after Ironic answers."""
    deadline = time.monotonic() + timeout
    while ironic.get_node(uuid)["power_state"] != state:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def api(metalscope: LocalMetalScope) -> httpx.Client:
    with httpx.Client(base_url=metalscope.url, timeout=60) as client:
        yield client


def start_and_wait(api: httpx.Client, uuid: str, manage_boot: bool = True) -> dict[str, Any]:
    response = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": str(manage_boot)})
    assert response.status_code == 202, response.text
    return wait_status(api, uuid, lambda s: s["state"] != "starting")


class TestManagedIntrospection:
    def test_node_properties_and_ports(self, api: httpx.Client, ironic: LocalIronic,
                                       make_node: Any) -> None:
        """A BMC-only node gets its properties, capabilities and PXE port from the inventory."""
        machine = make_machine(seed=11, index=3, virtual=False)
        node = make_node(driver_info={"ipmi_address": machine.bmc_address}, macs=[])
        assert start_and_wait(api, node["uuid"])["state"] == "waiting"
        assert wait_power(ironic, node["uuid"], "power on")
        data = ramdisk_data(machine)
        response = api.post("/v1/continue", json=data)
        assert response.status_code == 200 and response.json() == {"uuid": node["uuid"]}
        status = wait_status(api, node["uuid"], lambda s: s["finished"])
        assert status["state"] == "finished" and status["error"] is None
        props = ironic.get_node(node["uuid"])["properties"]
        assert props["cpus"] == str(machine.cpu.count)
        assert props["memory_mb"] == str(machine.memory_mb)
        assert props["cpu_arch"] == machine.cpu.architecture
        assert int(props["local_gb"]) > 0
        ports = ironic.list_ports(node["uuid"])
        assert [p["address"] for p in ports] == [machine.pxe_mac]
        assert ports[0]["pxe_enabled"] is True
        assert wait_power(ironic, node["uuid"], "power off")
        stored = api.get(f"/v1/introspection/{node['uuid']}/data").json()
        assert stored["inventory"] == data["inventory"] and "logs" not in stored
        assert "all_interfaces" in stored

    def test_unmanaged_lookup_by_mac(self, api: httpx.Client, ironic: LocalIronic,
                                     make_node: Any) -> None:
        """manage_boot=False never touches power; the node is found by its port MAC."""
        machine = make_machine(seed=11, index=4, virtual=True)
        node = make_node(macs=[machine.pxe_mac])
        assert start_and_wait(api, node["uuid"], manage_boot=False)["state"] == "waiting"
        assert api.post("/v1/continue", json=ramdisk_data(machine)).json() == {"uuid": node["uuid"]}
        assert wait_status(api, node["uuid"], lambda s: s["finished"])["state"] == "finished"
        assert ironic.get_node(node["uuid"])["power_state"] in (None, "power off")

    def test_ramdisk_error_fails_waiting_node(self, api: httpx.Client, make_node: Any,
                                              metalscope: LocalMetalScope) -> None:
        """A ramdisk-reported error ends the introspection in error and keeps its logs."""
        machine = make_machine(seed=11, index=5)
        node = make_node(macs=[machine.pxe_mac])
        start_and_wait(api, node["uuid"], manage_boot=False)
        response = api.post("/v1/continue",
                            json=ramdisk_data(machine, error="disk collector crashed"))
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert ("Preprocessing hook ramdisk_error: Ramdisk reported error: disk collector crashed"
                in message)
        status = api.get(f"/v1/introspection/{node['uuid']}").json()
        assert status["state"] == "error" and "disk collector crashed" in status["error"]
        logs = list((metalscope.workdir / "ramdisk-logs").glob(f"{node['uuid']}_*.tar.gz"))
        assert len(logs) == 1 and tarfile.is_tarfile(logs[0])

    def test_abort_then_continue_refused(self, api: httpx.Client, ironic: LocalIronic,
                                         make_node: Any) -> None:
        """An abort answers 202, then powers the node off and finishes the record in error;
        later data for it is refused."""
        machine = make_machine(seed=11, index=6)
        node = make_node(macs=[machine.pxe_mac])
        start_and_wait(api, node["uuid"])
        assert api.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
        status = wait_status(api, node["uuid"], lambda s: s["finished"])
        assert status["state"] == "error" and status["error"] == "Canceled by operator"
        assert wait_power(ironic, node["uuid"], "power off")
        assert api.post("/v1/continue", json=ramdisk_data(machine)).status_code == 400

    def test_reapply_with_body(self, api: httpx.Client, ironic: LocalIronic,
                               make_node: Any) -> None:
        """Reapply answers 202, then re-runs the hooks on new data and updates Ironic."""
        machine = make_machine(seed=11, index=7)
        node = make_node(macs=[machine.pxe_mac])
        start_and_wait(api, node["uuid"], manage_boot=False)
        data = ramdisk_data(machine)
        api.post("/v1/continue", json=data)
        first = wait_status(api, node["uuid"], lambda s: s["finished"])
        data["inventory"]["cpu"]["count"] = 42
        response = api.post(f"/v1/introspection/{node['uuid']}/data/unprocessed", json=data)
        assert response.status_code == 202 and response.text == "{}\n"
        status = wait_status(api, node["uuid"], lambda s: s["state"] in ("finished", "error")
                             and s["started_at"] > first["started_at"])
        assert status["state"] == "finished" and status["error"] is None
        assert ironic.get_node(node["uuid"])["properties"]["cpus"] == "42"
        data = api.get(f"/v1/introspection/{node['uuid']}/data").json()
        assert data["inventory"]["cpu"]["count"] == 42

    def test_rules_applied(self, api: httpx.Client, ironic: LocalIronic, make_node: Any) -> None:
        """A matching rule's actions reach Ironic; a fail rule ends the node in error."""
        machine = make_machine(seed=11, index=8)
        node = make_node(macs=[machine.pxe_mac])
        rule = {"description": "tag", "conditions": [
                    {"op": "eq", "field": "inventory.cpu.count", "value": machine.cpu.count}],
                "actions": [{"action": "add-trait", "name": "CUSTOM_SEEN"},
                            {"action": "set-attribute", "path": "/extra/vendor",
                             "value": "{data[inventory][system_vendor][manufacturer]}"}]}
        created = api.post("/v1/rules", json=rule)
        assert created.status_code == 201
        try:
            start_and_wait(api, node["uuid"], manage_boot=False)
            assert api.post("/v1/continue", json=ramdisk_data(machine)).status_code == 200
            wait_status(api, node["uuid"], lambda s: s["finished"])
            after = ironic.get_node(node["uuid"])
            assert "CUSTOM_SEEN" in after["traits"]
            assert after["extra"]["vendor"] == machine.vendor
        finally:
            api.delete(f"/v1/rules/{created.json()['uuid']}")

    def test_fail_rule(self, api: httpx.Client, make_node: Any) -> None:
        """A fail action ends processing with its message (400 to the ramdisk); the
        processed data stays readable."""
        machine = make_machine(seed=11, index=9)
        node = make_node(macs=[machine.pxe_mac])
        created = api.post("/v1/rules", json={"conditions": [], "actions": [
            {"action": "fail", "message": "not for this cloud"}]}).json()
        try:
            start_and_wait(api, node["uuid"], manage_boot=False)
            response = api.post("/v1/continue", json=ramdisk_data(machine))
            assert response.status_code == 400
            assert response.json()["error"]["message"] == "not for this cloud"
            status = api.get(f"/v1/introspection/{node['uuid']}").json()
            assert status["state"] == "error" and status["error"] == "not for this cloud"
            # The processed data was kept before the rules ran, as upstream does.
            stored = api.get(f"/v1/introspection/{node['uuid']}/data")
            assert stored.status_code == 200
            assert stored.json()["inventory"]["cpu"]["count"] == machine.cpu.count
            assert "logs" not in stored.json()
        finally:
            api.delete(f"/v1/rules/{created['uuid']}")
