"""The Redfish collector against real Redfish servers: sushy-emulator (fake driver, basic
authentication) and sushy-static serving a full mockup."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metalscope.hardware.view import build_view
from metalscope.redfish.collector import collect
from metalscope.redfish.credentials import bmc_access
from metalscope.redfish.errors import RedfishError
from metalscope.testing.certificates import TestAuthority
from metalscope.testing.redfish import (
    MOCKUP_UUID,
    FakeDrive,
    FakeSystem,
    LocalRedfishEmulator,
    LocalRedfishMockup,
)
from metalscope.testing.service import free_port

pytestmark = pytest.mark.integration

NODE = "0d7d3b6e-54b1-4c41-8f8e-5a1f0c9e7b21"
PASSWORD = "Very-Secret-Redfish-Pw-42"
GIB = 1 << 30
SYSTEMS = [
    FakeSystem("6a1e0f52-1c1b-4b7e-9a53-2d5c1c0f0a01", "node-a",
               {"52:54:00:12:34:01": "192.0.2.11", "52:54:00:12:34:02": "198.51.100.11"},
               (FakeDrive("sda", 500 * GIB), FakeDrive("sdb", 2000 * GIB, "SATA"))),
    FakeSystem("6a1e0f52-1c1b-4b7e-9a53-2d5c1c0f0a02", "node-b",
               {"52:54:00:12:34:11": "192.0.2.12"}),
]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedfishEmulator]:
    with LocalRedfishEmulator(tmp_path_factory.mktemp("emulator"), SYSTEMS,
                              password=PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def mockup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedfishMockup]:
    with LocalRedfishMockup(tmp_path_factory.mktemp("mockup")) as server:
        yield server


def run(driver_info: dict[str, Any]) -> dict[str, Any]:
    access = bmc_access({"uuid": NODE, "driver_info": driver_info}, verify_default=True)
    return asyncio.run(collect(access, node_uuid=NODE, timeout=5, collect_timeout=60))


def failure(driver_info: dict[str, Any]) -> RedfishError:
    with pytest.raises(RedfishError) as caught:
        run(driver_info)
    assert caught.value.node == NODE
    return caught.value


def test_emulator_inventory(emulator: LocalRedfishEmulator) -> None:
    """What the fake driver serves is there; what it does not is absent and named."""
    data = run(emulator.driver_info(SYSTEMS[0]))
    inventory = data["inventory"]
    assert [i["mac_address"] for i in inventory["interfaces"]] == list(SYSTEMS[0].nics)
    assert [(d["name"], d["size"], d["tran"]) for d in inventory["disks"]] == [
        ("Drive", 500 * GIB, "sas"), ("Drive", 2000 * GIB, "sata")]
    assert data["root_disk"]["size"] == 500 * GIB
    assert inventory["system_vendor"] == {"manufacturer": "Sushy Emulator",
                                          "system_uuid": SYSTEMS[0].uuid}
    assert inventory["boot"] == {"current_boot_mode": "uefi"}
    assert "cpu" not in inventory and "memory" not in inventory
    assert data["redfish_missing"] == ["Processors", "Memory", "PCIeDevices", "Bios"]
    assert data["redfish"]["storage_controllers"][0]["name"] == "RAID 0"
    assert data["inspection_method"] == "redfish"


def test_emulator_second_system_without_storage(emulator: LocalRedfishEmulator) -> None:
    data = run(emulator.driver_info(SYSTEMS[1]))
    assert "disks" not in data["inventory"]
    assert "Storage" in data["redfish_missing"]
    assert "HTTP 500" in data["redfish"]["unavailable"]["Storage"]


def test_mockup_inventory_complete(mockup: LocalRedfishMockup) -> None:
    """Every resource of the mockup reaches the data, and the hardware view reads it."""
    data = run(mockup.driver_info())
    inventory = data["inventory"]
    assert data["redfish_missing"] == []
    assert inventory["cpu"] == {"model_name": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz",
                                "count": 48, "architecture": "x86_64", "frequency": "3200",
                                "socket_count": 2}
    assert inventory["memory"] == {"physical_mb": 98304}
    assert [d["serial"] for d in inventory["disks"]] == ["S4EVNX0M123456", "ZAD1X2Y3"]
    assert [i.get("ipv4_address") for i in inventory["interfaces"]] == ["192.0.2.41", None]
    assert inventory["system_vendor"]["system_uuid"] == MOCKUP_UUID
    assert len(data["pci_devices"]) == 2
    assert len(data["dmi"]["memory"]["devices"]) == 3
    view = build_view(data).categories
    assert all(view[name] for name in ("system", "firmware", "cpu", "memory", "disks", "nics",
                                       "pci", "accelerators", "boot"))


def test_wrong_password(emulator: LocalRedfishEmulator) -> None:
    error = failure(emulator.driver_info(SYSTEMS[0], redfish_password="wrong"))
    assert error.kind == "authentication"
    assert error.resource == f"/redfish/v1/Systems/{SYSTEMS[0].uuid}"
    assert str(error).startswith(f"Out-of-band inspection of node {NODE} failed: "
                                 f"/redfish/v1/Systems/{SYSTEMS[0].uuid}: authentication failed")


def test_no_credentials(emulator: LocalRedfishEmulator) -> None:
    info = emulator.driver_info(SYSTEMS[0])
    del info["redfish_username"], info["redfish_password"]
    assert failure(info).kind == "authentication"


def test_unreachable() -> None:
    error = failure({"redfish_address": f"http://127.0.0.1:{free_port()}"})
    assert error.kind == "unreachable"
    assert error.resource == "/redfish/v1/"
    assert "Connection refused" in error.reason


def test_unknown_system(emulator: LocalRedfishEmulator) -> None:
    error = failure(emulator.driver_info(
        SYSTEMS[0], redfish_system_id="/redfish/v1/Systems/no-such-system"))
    assert error.kind == "missing"
    assert error.resource == "/redfish/v1/Systems/no-such-system"


def test_several_systems_need_a_system_id(emulator: LocalRedfishEmulator) -> None:
    info = emulator.driver_info(SYSTEMS[0])
    del info["redfish_system_id"]
    error = failure(info)
    assert (error.kind, error.resource) == ("missing", "/redfish/v1/Systems")


def test_https_verify_values(tmp_path: Path) -> None:
    """redfish_verify_ca as a CA path verifies; True (the system's CAs) refuses the test CA's
    certificate as unreachable, naming the cause; False skips the check."""
    authority = TestAuthority(tmp_path / "ca")
    certificate = authority.issue("bmc", "127.0.0.1", ips=("127.0.0.1",))
    with LocalRedfishEmulator(tmp_path / "tls", SYSTEMS[1:], certificate=certificate,
                              ca_file=authority.cert_file) as server:
        assert server.address.startswith("https://")
        info = server.driver_info(SYSTEMS[1])
        ca = run({**info, "redfish_verify_ca": str(authority.cert_file)})
        assert ca["inventory"]["system_vendor"]["system_uuid"] == SYSTEMS[1].uuid
        error = failure({**info, "redfish_verify_ca": True})
        assert (error.kind, error.reason) == (
            "unreachable", "the BMC is unreachable: certificate verify failed")
        assert run({**info, "redfish_verify_ca": "false"})["inventory"]["interfaces"]


def test_password_never_logged(emulator: LocalRedfishEmulator,
                               caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG, with sushy's and urllib3's loggers, neither the password nor the
    Authorization header appear, in a success or an authentication failure."""
    caplog.set_level(logging.DEBUG)
    for name in ("sushy", "urllib3", "requests", "metalscope"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    run(emulator.driver_info(SYSTEMS[0]))
    with pytest.raises(RedfishError) as caught:
        run(emulator.driver_info(SYSTEMS[0], redfish_password=PASSWORD + "-wrong"))
    text = caplog.text
    assert any(r.name.startswith("sushy") for r in caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert PASSWORD not in text and PASSWORD not in str(caught.value)
    for user, password in (("admin", PASSWORD), ("admin", PASSWORD + "-wrong")):
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        assert token not in text
    assert "'Authorization'" not in text and "Authorization:" not in text
