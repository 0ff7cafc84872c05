"""``[processing]max_interfaces``: how many interfaces, and so lookup MACs, a callback may carry.

Each lookup MAC is a bound parameter of the lookup query: 33,000 of them made PostgreSQL
refuse the statement (a 500). Now the ``validate_interfaces`` hook refuses a larger
inventory and the lookup refuses more distinct MACs (never more than 30,000), both as
upstream's 400 for pre-processing failures.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.errors import HookError, LookupFailed
from metalscope.extensions import ExtensionRegistry
from metalscope.inventory import (
    MAX_LOOKUP_MACS,
    TooManyInterfaces,
    check_interface_count,
    lookup_macs,
)
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from tests.factories import inventory, ramdisk_data, settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client

BMC = "192.0.2.200"


def mac(number: int) -> str:
    return ":".join(f"{(0x020000000000 + number) >> shift & 0xFF:02x}"
                    for shift in range(40, -8, -8))


def interfaces(count: int) -> list[dict[str, Any]]:
    return [{"name": f"eth{i}", "mac_address": mac(i), "ipv4_address": None}
            for i in range(count)]


def all_interfaces(count: int, same_mac: bool = False) -> dict[str, Any]:
    return {f"eth{i}": {"mac": mac(0 if same_mac else i), "ip": None} for i in range(count)}


class TestLookupMacs:
    def test_each_mac_once(self) -> None:
        """A MAC listed under many names is looked up (and bound) once."""
        assert lookup_macs({"all_interfaces": all_interfaces(5000, same_mac=True)}) == [mac(0)]

    def test_limit(self) -> None:
        """Up to the limit passes; one more is a lookup failure naming both numbers."""
        check_interface_count({"all_interfaces": all_interfaces(16)}, 16)
        with pytest.raises(TooManyInterfaces) as caught:
            check_interface_count({"all_interfaces": all_interfaces(17)}, 16)
        assert isinstance(caught.value, LookupFailed)
        assert str(caught.value) == ("The ramdisk reported 17 network interfaces, more than "
                                     "the 16 accepted ([processing]max_interfaces)")

    def test_ceiling_whatever_the_setting(self) -> None:
        """A setting above the databases' parameter limits acts as 30,000."""
        with pytest.raises(TooManyInterfaces, match="more than the 30000 accepted"):
            check_interface_count({"all_interfaces": all_interfaces(MAX_LOOKUP_MACS + 1)},
                                  10**6)


class TestValidateInterfacesHook:
    def test_too_many_interfaces(self) -> None:
        """The hook refuses the inventory before building anything from it."""
        hook = ValidateInterfacesHook(settings(processing={"max_interfaces": 8}))
        data = ramdisk_data(inventory=inventory(interfaces=interfaces(9)))
        with pytest.raises(HookError, match="reported 9 network interfaces, more than the 8"):
            hook.before_processing(data)
        assert "all_interfaces" not in data
        assert data["ipmi_address"] == BMC  # the BMC is still known for the lookup

    def test_at_the_limit(self) -> None:
        hook = ValidateInterfacesHook(settings(processing={"max_interfaces": 8,
                                                           "add_ports": "all"}))
        data = ramdisk_data(inventory=inventory(interfaces=interfaces(8)))
        hook.before_processing(data)
        assert len(data["all_interfaces"]) == 8


def _settings(tmp_path: Any, **processing: Any) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url},
                                    "DEFAULT": {"introspection_delay": 0},
                                    "processing": {"max_interfaces": 64, **processing}})


def _state(client: TestClient, uuid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/v1/introspection/{uuid}").json()
        if body.get("finished") or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_callback_with_too_many_interfaces(tmp_path: Any) -> None:
    """Default hooks: 400 with the hook's reason; the node, found by its BMC, ends in error
    with it; the service goes on."""
    configured = _settings(tmp_path)
    ironic = FakeIronic()
    node = ironic.add_node(driver_info={"ipmi_address": BMC}, macs=[mac(1)])
    with make_client(configured, ironic, ExtensionRegistry.from_settings(configured)) as client:
        assert client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        response = client.post("/v1/continue", json=ramdisk_data(
            inventory=inventory(interfaces=interfaces(65))))
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert ("Preprocessing hook validate_interfaces: The ramdisk reported 65 network "
                "interfaces, more than the 64 accepted ([processing]max_interfaces)") in message
        status = _state(client, node["uuid"])
        assert status["state"] == "error" and "reported 65 network interfaces" in status["error"]
        assert client.get("/").status_code == 200
    assert len(ironic.ports) == 1  # no port was created


def test_lookup_refuses_posted_interfaces(tmp_path: Any) -> None:
    """Without validate_interfaces, ``all_interfaces`` posted as is cannot reach the
    database: a lookup failure (400)."""
    configured = _settings(tmp_path, processing_hooks="ramdisk_error")
    with make_client(configured, FakeIronic(),
                     ExtensionRegistry.from_settings(configured)) as client:
        response = client.post("/v1/continue", json={
            **ramdisk_data(), "all_interfaces": all_interfaces(65)})
        assert response.status_code == 400
        assert ("Look up error: The ramdisk reported 65 network interfaces, more than the 64 "
                "accepted") in response.json()["error"]["message"]
