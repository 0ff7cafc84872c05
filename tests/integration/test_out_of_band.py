"""Out-of-band inspection end to end: a real Ironic with the ``redfish`` hardware type, the
nodes' BMCs emulated by a real sushy-emulator (fake systems with NICs and drives, HTTP basic
authentication), MetalScope as a real process.

Started at API 1.20 with ``method=redfish``, several nodes end ``finished`` without a power
or boot change; Ironic then has the properties the BMC gave (``local_gb`` from the drives;
the fake systems expose no processors or memory, so there are none), a port per NIC MAC, the
boot mode capability, and the effect of a rule on the BMC's vendor. Wrong credentials end in
``error`` naming the node and the Redfish resource. With ``[redfish]default_method =
redfish``, a 1.18 client's start (python-ironic-inspector-client) goes out of band too, and
with a short ``refresh_interval`` a node is inspected again by itself: the emulator, restarted
with one more NIC and drive for that system, shows in the history's diff and in a drift event;
a node opted out (``extra.metalscope_refresh``) is not inspected again.
"""

from __future__ import annotations

import datetime
import shutil
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.redfish import FakeDrive, FakeSystem, LocalRedfishEmulator
from metalscope.testing.redfish_ironic import enroll_redfish_node
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

API_1_20 = {"X-OpenStack-Ironic-Inspector-API-Version": "1.20"}
#: The fake systems expose a NIC per MAC but no PXE flag: every NIC becomes a port. The boot
#: mode capability is off by default, as upstream.
PROCESSING = {"processing": {"add_ports": "all", "keep_ports": "all"},
              "capabilities": {"boot_mode": "true"}}
GB = 10**9


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:.0f} s")
        time.sleep(0.2)
    return result


@pytest.fixture(scope="module")
def enrolled(redfish_ironic: LocalIronic,
             emulated_bmcs: LocalRedfishEmulator) -> Iterator[dict[str, FakeSystem]]:
    """A ``manageable`` redfish node per emulated system (managed at once: each takes ~2 s)."""
    def enroll(system: FakeSystem) -> tuple[str, FakeSystem]:
        node = enroll_redfish_node(redfish_ironic, f"oob-{system.name}-{uuidlib.uuid4().hex[:6]}",
                                   emulated_bmcs.driver_info(system))
        return node["uuid"], system

    with ThreadPoolExecutor(8) as pool:
        nodes = dict(pool.map(enroll, emulated_bmcs.systems))
    yield nodes
    for uuid in nodes:
        redfish_ironic.delete_node(uuid)


@pytest.fixture(scope="module")
def service(redfish_ironic: LocalIronic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp("oob"), redfish_ironic.url,
                         options={**PROCESSING, "drift": {"notifiers": "log"}}) as running:
        yield running


@pytest.fixture
def api(service: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60, headers=API_1_20) as client:
        yield client


def settled_status(api: httpx.Client, uuid: str, after: str = "") -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status: dict[str, Any] = api.get(f"/v1/introspection/{uuid}").json()
        done = status.get("finished") and (status.get("started_at") or "") > after
        return status if done else None
    return wait_until(check, what=f"introspection of {uuid} settled")  # type: ignore[no-any-return]


def add_vendor_rule(api: httpx.Client) -> str:
    response = api.post("/v1/rules", json={
        "description": "emulated BMCs", "conditions": [
            {"op": "eq", "field": "data://inventory.system_vendor.manufacturer",
             "value": "Sushy Emulator"}],
        # No add-trait: the test Ironic's SQLite answers concurrent trait inserts of several
        # nodes with "database is locked" (a 500), which says nothing about MetalScope.
        "actions": [{"action": "set-attribute", "path": "/extra/bmc_vendor",
                     "value": "{data[inventory][system_vendor][manufacturer]}"}]})
    assert response.status_code == 201, response.text
    return str(response.json()["uuid"])


def emulated_power(bmcs: LocalRedfishEmulator, system: FakeSystem) -> str:
    answer = httpx.get(f"{bmcs.address}/redfish/v1/Systems/{system.uuid}",
                       auth=(bmcs.username, bmcs.password), timeout=10)
    return str(answer.json()["PowerState"])


def serve_instead(bmcs: LocalRedfishEmulator, systems: list[FakeSystem]) -> None:
    """Restart the emulator (same port and credentials) with ``systems``; its fake driver
    keeps the systems it knows in its state folder, so that goes first."""
    bmcs.stop()
    shutil.rmtree(bmcs.workdir / "state", ignore_errors=True)
    bmcs.systems = systems
    bmcs.start()


def test_several_nodes_inspected_out_of_band(
        api: httpx.Client, redfish_ironic: LocalIronic, emulated_bmcs: LocalRedfishEmulator,
        service: LocalMetalScope, enrolled: dict[str, FakeSystem]) -> None:
    rule = add_vendor_rule(api)
    chosen = list(enrolled.items())[:4]
    try:
        for uuid, _ in chosen:
            response = api.post(f"/v1/introspection/{uuid}", params={"method": "redfish"})
            assert response.status_code == 202, response.text
        for uuid, system in chosen:
            status = settled_status(api, uuid)
            assert (status["state"], status["error"], status["method"]) == (
                "finished", None, "redfish"), status
            node = redfish_ironic.get_node(uuid)
            check_node(node, system)
            ports = {p["address"] for p in redfish_ironic.list_ports(uuid)}
            assert ports == set(system.nics)
            assert node["power_state"] == "power off"  # untouched, as before
            assert emulated_power(emulated_bmcs, system) == "Off"
            assert node["provision_state"] == "manageable"
            stored = api.get(f"/v1/introspection/{uuid}/data").json()
            assert stored["inspection_method"] == "redfish"
            assert emulated_bmcs.password not in str(stored)
            history = api.get(f"/v1/introspection/{uuid}/history").json()["history"]
            assert [v["source"] for v in history] == ["redfish"]
        assert emulated_bmcs.password not in service.log_file.read_text()
    finally:
        api.delete(f"/v1/rules/{rule}")


def check_node(node: dict[str, Any], system: FakeSystem) -> None:
    properties = node["properties"]
    # The root disk: the smallest disk of at least 4 GiB (100 GB), less a GiB for partitioning.
    smallest = min(d.capacity_bytes for d in system.drives)
    assert int(properties["local_gb"]) == smallest // 2**30 - 1, properties
    # The fake systems expose neither processors nor memory: nothing invented.
    assert "cpus" not in properties and "memory_mb" not in properties, properties
    assert "boot_mode:uefi" in properties.get("capabilities", ""), properties
    assert node["extra"]["bmc_vendor"] == "Sushy Emulator"


def test_wrong_credentials_end_in_error_naming_node_and_resource(
        api: httpx.Client, redfish_ironic: LocalIronic, emulated_bmcs: LocalRedfishEmulator,
        service: LocalMetalScope, enrolled: dict[str, FakeSystem]) -> None:
    uuid = list(enrolled)[4]
    patch = [{"op": "replace", "path": "/driver_info/redfish_password", "value": "not-it"}]
    redfish_ironic._checked("PATCH", f"/v1/nodes/{uuid}", json=patch)
    try:
        response = api.post(f"/v1/introspection/{uuid}", params={"method": "redfish"})
        assert response.status_code == 202, response.text
        status = settled_status(api, uuid)
        assert status["state"] == "error"
        assert status["error"].startswith(
            f"Out-of-band inspection of node {uuid} failed: "), status
        assert "/redfish/v1" in status["error"] and "not-it" not in status["error"]
        assert "not-it" not in service.log_file.read_text()
    finally:
        patch[0]["value"] = emulated_bmcs.password
        redfish_ironic._checked("PATCH", f"/v1/nodes/{uuid}", json=patch)


@pytest.fixture(scope="module")
def redfish_by_default(redfish_ironic: LocalIronic,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """A MetalScope whose starts go out of band unless told otherwise, refreshing every 8 s
    (passes every 0.8 s), its log notifier on."""
    options = {**PROCESSING, "drift": {"notifiers": "log"},
               "redfish": {"default_method": "redfish", "refresh_interval": 8,
                           "refresh_jitter": 0.1}}
    with LocalMetalScope(tmp_path_factory.mktemp("oob-default"), redfish_ironic.url,
                         options=options) as running:
        yield running


def test_a_1_18_client_goes_out_of_band_by_default_and_refresh_sees_a_change(
        redfish_by_default: LocalMetalScope, redfish_ironic: LocalIronic,
        emulated_bmcs: LocalRedfishEmulator, enrolled: dict[str, FakeSystem]) -> None:
    from ironic_inspector_client import ClientV1

    (uuid, system), (opted_out, _) = list(enrolled.items())[5:7]
    redfish_ironic._checked("PATCH", f"/v1/nodes/{opted_out}", json=[
        {"op": "add", "path": "/extra/metalscope_refresh", "value": "false"}])
    client = ClientV1(inspector_url=redfish_by_default.url, api_version=(1, 18))
    client.introspect(uuid)
    client.introspect(opted_out)
    client.wait_for_finish([uuid, opted_out], max_retries=120, retry_interval=0.5)
    old = client.get_status(uuid)
    assert old["error"] is None and "method" not in old
    kept = client.get_status(opted_out)
    assert kept["error"] is None
    with httpx.Client(base_url=redfish_by_default.url, timeout=60, headers=API_1_20) as api:
        assert api.get(f"/v1/introspection/{uuid}").json()["method"] == "redfish"
        assert {p["address"] for p in redfish_ironic.list_ports(uuid)} == set(system.nics)

        grown = replace(system, nics={**system.nics, "52:54:02:5e:00:99": "203.0.113.99"},
                        drives=(*system.drives, FakeDrive("d2", 960 * GB)))
        others = [s for s in emulated_bmcs.systems if s.uuid != system.uuid]
        original = list(emulated_bmcs.systems)
        serve_instead(emulated_bmcs, [*others, grown])
        try:
            new = settled_status(api, uuid, after=old["started_at"])
            assert new["state"] == "finished" and new["method"] == "redfish", new
            history = wait_until(lambda: _versions(api, uuid, 2), what="a second version")
            assert [v["source"] for v in history][:2] == ["redfish", "redfish"]
            diff = api.get(f"/v1/introspection/{uuid}/diff").json()
            assert diff["changed"] is True
            parts = diff["components"]
            assert "52:54:02:5e:00:99" in str(parts["nics"]["added"]), parts["nics"]
            assert parts["disks"]["added"], parts["disks"]
            assert "52:54:02:5e:00:99" in {p["address"] for p in redfish_ironic.list_ports(uuid)}
            wait_until(lambda: "Hardware drift on" in redfish_by_default.log_file.read_text(),
                       timeout=15, what="a drift event in the log")
            # Past its latest due time and two passes more, but opted out: inspected once only.
            time.sleep(max(0.0, time_left(kept["finished_at"], 8 * 1.1 + 2 * 0.8)))
            assert api.get(f"/v1/introspection/{opted_out}").json()["started_at"] == (
                kept["started_at"])
            assert len(_versions(api, opted_out, 1) or []) == 1
        finally:
            serve_instead(emulated_bmcs, original)


def time_left(stamp: str, seconds: float) -> float:
    """Seconds until ``seconds`` have passed since ``stamp`` (ISO 8601, naive is UTC)."""
    moment = datetime.datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return seconds - (datetime.datetime.now(datetime.UTC) - moment).total_seconds()


def _versions(api: httpx.Client, uuid: str, count: int) -> list[dict[str, Any]] | None:
    history: list[dict[str, Any]] = api.get(f"/v1/introspection/{uuid}/history").json()["history"]
    return history if len(history) >= count else None
