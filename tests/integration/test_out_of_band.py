"""Out-of-band inspection end to end: a real Ironic (whose policy shows BMC passwords), a
real ``sushy-emulator`` BMC with HTTP basic authentication and ``metalscope serve``; the
start at API 1.20 with ``method=redfish`` reads the BMC and processes the data as a
ramdisk's, the node's power is left alone, and the password never reaches the log."""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.redfish import FakeSystem, LocalRedfishEmulator
from metalscope.testing.service import LocalMetalScope
from tests.conftest import _ironic_venv

pytestmark = pytest.mark.integration

V = {"X-OpenStack-Ironic-Inspector-API-Version": "1.20"}
PASSWORD = "bmc-Secret-7d1f"
SYSTEM = FakeSystem(uuid=str(uuidlib.uuid4()), name="oob-1",
                    nics={"52:54:00:aa:bb:01": "192.0.2.11"})


@pytest.fixture(scope="module")
def ironic(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIronic]:
    """An Ironic like the session's whose policy lets every caller read BMC passwords."""
    bin_dir = _ironic_venv(repo_root) / "bin"
    if not (bin_dir / "ironic").is_file():
        pytest.skip(f"Ironic is not installed: {bin_dir / 'ironic'} is missing")
    workdir = tmp_path_factory.mktemp("ironic-oob")
    policy = workdir / "policy.yaml"
    policy.write_text('"show_password": ""\n')
    local = LocalIronic(workdir, bin_dir, schema_cache_dir=repo_root / ".work" / "ironic-schema",
                        options={"oslo_policy": {"policy_file": str(policy)}})
    with local:
        yield local


@pytest.fixture(scope="module")
def bmc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedfishEmulator]:
    with LocalRedfishEmulator(tmp_path_factory.mktemp("bmc"), [SYSTEM],
                              password=PASSWORD) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def service(ironic: LocalIronic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp("metalscope-oob"), ironic.url) as local:
        yield local


def finished(http: httpx.Client, uuid: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = http.get(f"/v1/introspection/{uuid}", headers=V).json()
        if status.get("finished") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_redfish_inspection_end_to_end(ironic: LocalIronic, bmc: LocalRedfishEmulator,
                                       service: LocalMetalScope) -> None:
    node = ironic.enroll_node("oob-node", bmc.driver_info(SYSTEM), [])
    power_before = node["power_state"]
    with httpx.Client(base_url=service.url, timeout=60) as http:
        started = http.post(f"/v1/introspection/{node['uuid']}", params={"method": "redfish"},
                            headers=V)
        assert started.status_code == 202, started.text
        status = finished(http, node["uuid"])
        assert status["state"] == "finished", status
        assert status["method"] == "redfish"
        data = http.get(f"/v1/introspection/{node['uuid']}/data").json()
        history = http.get(f"/v1/introspection/{node['uuid']}/history", headers=V).json()
    assert data["inspection_method"] == "redfish"
    macs = {i.get("mac_address") for i in data["inventory"]["interfaces"]}
    assert "52:54:00:aa:bb:01" in macs
    assert [v["source"] for v in history["history"]] == ["redfish"]
    assert ironic.get_node(node["uuid"])["power_state"] == power_before
    assert PASSWORD not in service.log_file.read_text()
    assert PASSWORD not in str(data)


def test_wrong_credentials_end_in_error_naming_node_and_resource(
        ironic: LocalIronic, bmc: LocalRedfishEmulator, service: LocalMetalScope) -> None:
    wrong = "not-the-" + PASSWORD
    node = ironic.enroll_node("oob-wrong", bmc.driver_info(SYSTEM, redfish_password=wrong), [])
    with httpx.Client(base_url=service.url, timeout=60) as http:
        started = http.post(f"/v1/introspection/{node['uuid']}", params={"method": "redfish"},
                            headers=V)
        assert started.status_code == 202, started.text
        status = finished(http, node["uuid"])
    assert status["state"] == "error"
    assert status["error"].startswith(f"Out-of-band inspection of node {node['uuid']} failed: ")
    assert "/redfish/v1" in status["error"] and wrong not in status["error"]
    assert wrong not in service.log_file.read_text()
