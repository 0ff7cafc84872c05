"""Malformed requests get a 4xx with the upstream error shape, never a 500."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client

UUID = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"

CONTINUE_BODIES = [
    b"", b"{", b"\xff\xfe", b"[]", b"{}", b'{"inventory": null}', b'{"inventory": []}',
    b'{"inventory": {"interfaces": "eth0"}}', b'{"inventory": {"interfaces": [1, "x", null]}}',
    b'{"inventory": {"interfaces": [{"name": 5, "mac_address": 7}]}, "boot_interface": 3}',
    b'{"inventory": {"interfaces": [{"name": "e", "mac_address": "zz:zz"}], "bmc_address": 5}}',
    b'{"inventory": {"bmc_address": ["1.2.3.4"], "interfaces": [{}]}}',
    b'{"error": {"nested": true}, "logs": 42}',
    b'{"inventory": {"interfaces": [{"name": "e", "mac_address": "52:54:00:00:00:01"}], '
    b'"cpu": "fast", "memory": 7, "disks": {"a": 1}}, "root_disk": "sda", "lldp_raw": 5, '
    b'"pci_devices": {"x": 1}, "data": "extra"}',
    b"[" * 5000 + b"]" * 5000,
    json.dumps({"inventory": {"interfaces": [{"name": "x" * 10000,
                                              "mac_address": "1" * 10000}]}}).encode(),
]

RULE_BODIES = [
    b"", b"nope", b"[1]", b"{}", b'{"actions": "fail"}', b'{"actions": [1]}', b'{"actions": []}',
    b'{"actions": [{"action": "fail"}]}', b'{"actions": [{"action": "nosuch"}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": {"op": "eq"}}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": [{"op": "eq", "field": 5}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "matches", "field": "a"}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "matches", "field": "a", "value": "("}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "eq", "field": "a", "value": 1, "multiple": "some"}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "eq", "field": "a[", "value": 1}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "in-net", "field": "a", "value": "not-a-net"}]}',
    b'{"actions": [{"action": "fail", "message": "x"}], "uuid": "not-a-uuid"}',
    b'{"actions": [{"action": "fail", "message": "x"}], "uuid": 5}',
    b'{"actions": [{"action": "fail", "message": "x"}], "scope": "' + b"s" * 300 + b'"}',
    b'{"actions": [{"action": "fail", "message": "x"}], "description": {"a": 1}}',
    b'{"actions": [{"action": "fail", "message": "x"}], "conditions": '
    b'[{"op": "eq", "field": "ftp://a", "value": 1}]}',
]

PATHS = [
    ("GET", "/v1/introspection/%00"), ("GET", "/v1/introspection/" + "a" * 5000),
    ("POST", "/v1/introspection/..%2F..%2Fetc"), ("GET", "/v1/introspection?limit=1e3"),
    ("GET", "/v1/introspection?limit=99999999999999999999999"),
    ("GET", "/v1/introspection?marker="),
    ("GET", "/v1/introspection?state="), ("GET", f"/v1/introspection/{UUID}/data/unprocessed"),
    ("POST", f"/v1/introspection/{UUID}/abort"), ("GET", "/v1/rules/not-a-uuid"),
    ("DELETE", "/v1/rules/%20"), ("PUT", "/v1/rules"), ("PATCH", "/v1/introspection/x"),
    ("GET", "/v1/continue"), ("POST", "/v1"), ("GET", "/v1/rules/a/b/c"),
]


@pytest.fixture
def full_client(settings: Settings, fake_ironic: FakeIronic) -> TestClient:
    with make_client(settings, fake_ironic, ExtensionRegistry.from_settings(settings)) as client:
        yield client


def assert_clean_error(response) -> None:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert isinstance(response.json()["error"]["message"], str)


@pytest.mark.parametrize("body", CONTINUE_BODIES)
def test_continue_garbage(full_client: TestClient, body: bytes) -> None:
    """Broken ramdisk data is refused with a 4xx and a message."""
    assert_clean_error(full_client.post("/v1/continue", content=body))


@pytest.mark.parametrize("body", RULE_BODIES)
def test_rule_garbage(full_client: TestClient, body: bytes) -> None:
    """Invalid rules are refused with a 4xx and a message."""
    assert_clean_error(full_client.post("/v1/rules", content=body))


@pytest.mark.parametrize("method,path", PATHS)
def test_odd_paths(full_client: TestClient, method: str, path: str) -> None:
    """Odd URLs and methods get JSON 4xx answers."""
    assert_clean_error(full_client.request(method, path))


@pytest.mark.parametrize("version", ["1.5.", "-1.0", "1.", "x", "99999999999999999999.1"])
def test_odd_versions(full_client: TestClient, version: str) -> None:
    """Odd version headers are a 400 or 406, never a crash."""
    response = full_client.get("/v1", headers={"X-OpenStack-Ironic-Inspector-API-Version": version})
    assert response.status_code in (400, 406)
