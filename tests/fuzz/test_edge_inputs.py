"""Hand-made hostile requests where a schema-driven fuzzer does not go.

Malformed and non-finite JSON, wrong Content-Types and encodings, huge numbers and
bodies, unicode and control characters in paths, queries and headers, UUID look-alikes,
odd microversion headers, and ramdisk data aimed at a node that is really waiting. Every
answer is a JSON error or success with the version headers, never a 5xx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metalscope.testing.service import LocalMetalScope
from tests.fuzz.conftest import FINISHED, MACS, NODES, RULE_UUIDS, WAITING

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

MAX_HEADER = "X-OpenStack-Ironic-Inspector-API-Maximum-Version"
VERSION = "X-OpenStack-Ironic-Inspector-API-Version"
UUID_LIKES = ["{f0000000-0000-4000-8000-000000000001}", "F0000000000040008000000000000001",
              "urn:uuid:f0000000-0000-4000-8000-000000000001",
              "f0000000-0000-4000-8000-00000000000",
              "f0000000-0000-4000-8000-0000000000001", "g0000000-0000-4000-8000-000000000001",
              "00000000-0000-0000-0000-000000000000", "%00", "%FF%FE", "%E2%80%AE", "%F0%9F%92%A5",
              "a" * 2000, "..%2F..%2Fetc%2Fpasswd", "%20", "~", "-_-", "x.y"]
BODIES = [b"", b"{", b"}", b"nul", b"null", b"true", b"0", b'""', b"[]", b"[{}]",
          b'{"a": NaN}', b'{"a": Infinity}', b"1e999", b'{"a": 1e999}', b"9" * 5000,
          b'{"a": ' + b"9" * 5000 + b"}", b'{"a": "\\ud800"}', b'{"\\u0000": "\\u0000"}',
          b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf{}", b'{"a": 1, "a": 2}',
          b"[" * 100000 + b"]" * 100000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
          json.dumps({"x" * 100000: "y" * 100000}).encode()]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=x", "application/json; charset=utf-16",
                 "application/octet-stream", ""]
# (HTTP clients refuse to send leading or trailing blanks; tests/unit covers those.)
VERSIONS = ["", "latest", "LaTeSt", "1.0", "01.018", "1.19", "1.20", "1.21", "0.9",
            "2.0",
            "1", "1.", ".1", "1.2.3", "1.x", "-1.0", "+1.0", "1_0.1", "99999999999999999999.0",
            "1." + "9" * 10000, "9" * 5000 + ".1", "1.\t5", "1.5, 1.6"]
STANDARD_VERSIONS = ["baremetal-introspection", "BAREMETAL-INTROSPECTION 1.5",
                     "baremetal-introspection 1.99", "baremetal-introspection x",
                     "compute 2.1, baremetal-introspection 1.2", "baremetal-introspection 1.2 1.3",
                     ",,,", "baremetal-introspection\t1.0"]


@pytest.fixture(scope="module")
def api(fuzz_target: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_target.url, timeout=60) as client:
        yield client


def assert_clean(response: httpx.Response) -> None:
    """Not a 5xx; a JSON body (or an empty 204) and the version headers."""
    assert response.status_code < 500, (response.request.method, response.request.url,
                                        response.status_code, response.text[:500])
    assert response.headers[MAX_HEADER] == "1.20"
    if response.status_code != 204:
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        if response.status_code >= 400:
            assert isinstance(body["error"]["message"], str)


@pytest.mark.parametrize("node_id", UUID_LIKES)
@pytest.mark.parametrize("method,template", [
    ("GET", "/v1/introspection/{}"), ("POST", "/v1/introspection/{}?manage_boot=0"),
    ("POST", "/v1/introspection/{}/abort"), ("GET", "/v1/introspection/{}/data"),
    ("GET", "/v1/introspection/{}/data/unprocessed"), ("GET", "/v1/rules/{}"),
    ("DELETE", "/v1/rules/{}"),
])
def test_odd_identifiers(api: httpx.Client, service_log: Path, method: str, template: str,
                         node_id: str) -> None:
    """UUID look-alikes, control and right-to-left characters, overlong names."""
    assert_clean(api.request(method, template.format(node_id)))


@pytest.mark.parametrize("query", [
    "limit=-1", "limit=1001", "limit=1e3", "limit=0x10", "limit=%EF%BC%91", "limit=1_0",
    "limit=" + "9" * 5000, "limit=", "limit=1&limit=x", "marker=", "marker=%00",
    f"marker={UUID_LIKES[0]}", f"marker={FINISHED.uuid.upper()}", "state=", "state=,",
    "state=waiting,,finished", "state=%00", "state=" + ",".join(["error"] * 5000),
    "state=WAITING", "%FF=%FF", "limit=1&marker=" + "a" * 5000,
])
def test_odd_list_queries(api: httpx.Client, service_log: Path, query: str) -> None:
    """Pagination and state filters with hostile values."""
    assert_clean(api.get(f"/v1/introspection?{query}"))


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
@pytest.mark.parametrize("path", ["/v1/continue", "/v1/rules", f"/v1/rules/{RULE_UUIDS[0]}",
                                  f"/v1/introspection/{FINISHED.uuid}/data/unprocessed"])
def test_malformed_bodies(api: httpx.Client, service_log: Path, path: str, body: bytes) -> None:
    """Broken, non-finite, deeply nested and huge JSON is a 4xx (or ignored where optional)."""
    response = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert_clean(response)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_content_types(api: httpx.Client, service_log: Path, content_type: str) -> None:
    """The body is read as JSON whatever the Content-Type says (spec 2.1)."""
    rule = {"actions": [{"action": "add-trait", "name": "CUSTOM_X"}], "scope": content_type}
    response = api.post("/v1/rules", content=json.dumps(rule).encode(),
                        headers={"Content-Type": content_type})
    assert_clean(response)
    assert response.status_code == 201
    assert api.delete(f"/v1/rules/{response.json()['uuid']}").status_code == 204


@pytest.mark.parametrize("value", VERSIONS)
def test_legacy_version_header(api: httpx.Client, service_log: Path, value: str) -> None:
    """Odd legacy version headers: 200, 400 or 406, each with the JSON error shape."""
    response = api.get("/v1/rules", headers={VERSION: value})
    assert_clean(response)
    assert response.status_code in (200, 400, 406)


@pytest.mark.parametrize("value", STANDARD_VERSIONS)
def test_standard_version_header(api: httpx.Client, service_log: Path, value: str) -> None:
    """Odd standard version headers, alone and beside a valid legacy one."""
    assert_clean(api.get("/v1/rules", headers={"OpenStack-API-Version": value}))
    response = api.get("/v1/rules", headers={"OpenStack-API-Version": value, VERSION: "1.5"})
    assert response.status_code == 200


@pytest.mark.parametrize("raw", [b"1.\xff", "\u0661.\u0662".encode(), b"\xb9.\xb2"])
def test_non_ascii_header_bytes(api: httpx.Client, service_log: Path, raw: bytes) -> None:
    """Raw non-ASCII bytes (Arabic-Indic digits, superscripts) are a malformed version."""
    response = api.get("/v1", headers=[(VERSION.encode(), raw)])
    assert_clean(response)
    assert response.status_code == 400


def test_body_over_the_limit(api: httpx.Client, service_log: Path) -> None:
    """A rule body larger than max_request_body_size is a 413, not a stored giant."""
    rule = {"actions": [{"action": "fail", "message": "x" * (2 << 20)}]}
    response = api.post("/v1/rules", json=rule)
    assert_clean(response)
    assert response.status_code == 413


def test_unicode_rule_round_trip(api: httpx.Client, service_log: Path) -> None:
    """Unicode (astral, combining, RTL, NUL) in a rule comes back exactly as sent."""
    text = "r\u00e8gle \U0001f4a5 \u202e\u0301 \x00 \ud7ff"
    rule = {"description": text, "scope": "\U0001f4a5" * 255,
            "conditions": [{"op": "eq", "field": "data://inventory.system_vendor", "value": text}],
            "actions": [{"action": "set-capability", "name": "\u00e9", "value": text}]}
    created = api.post("/v1/rules", json=rule)
    assert_clean(created)
    assert created.status_code == 201
    shown = api.get(f"/v1/rules/{created.json()['uuid']}").json()
    assert shown["description"] == text and shown["conditions"][0]["value"] == text
    assert api.delete(f"/v1/rules/{shown['uuid']}").status_code == 204


@pytest.mark.parametrize("inventory", [
    {"interfaces": "eth0"}, {"interfaces": [None, 1, "x", []]},
    {"interfaces": [{"name": "eth0", "mac_address": None}]},
    {"interfaces": [{"name": ["eth0"], "mac_address": MACS[1]}]},
])
def test_garbled_data_for_a_waiting_node(api: httpx.Client, service_log: Path,
                                         inventory: dict[str, object]) -> None:
    """Ramdisk data naming the waiting node's MAC but broken elsewhere is refused cleanly."""
    data = {"inventory": inventory, "boot_interface": MACS[1], "logs": "not base64 \U0001f4a5"}
    assert_clean(api.post("/v1/continue", json=data))


@pytest.mark.parametrize("cpu", [None, "x", ["flags"]], ids=["no-cpu", "cpu-str", "cpu-list"])
def test_data_with_missing_or_malformed_cpu_for_a_waiting_node(api: httpx.Client,
                                                                cpu: object) -> None:
    """Complete-looking ramdisk data without a usable ``inventory.cpu``: a 4xx (upstream
    answered 500), and the node ends settled with the reason rather than half-processed."""
    response = api.post(f"/v1/introspection/{NODES[2].uuid}", params={"manage_boot": "0"})
    assert response.status_code == 202, response.text
    for _ in range(300):
        if api.get(f"/v1/introspection/{NODES[2].uuid}").json()["state"] == "waiting":
            break
        time.sleep(0.1)
    inventory: dict[str, object] = {
        "interfaces": [{"name": "eth0", "mac_address": MACS[2], "ipv4_address": "192.0.2.3"}],
        "memory": {"physical_mb": 1024}}
    if cpu is not None:
        inventory["cpu"] = cpu
    response = api.post("/v1/continue", json={"inventory": inventory, "boot_interface": MACS[2]})
    assert response.status_code < 500, response.text
    for _ in range(300):
        status = api.get(f"/v1/introspection/{NODES[2].uuid}").json()
        if status["finished"]:
            break
        time.sleep(0.1)
    assert status["state"] in ("finished", "error"), (response.text, status)
    if response.status_code >= 400:
        assert status["error"], status


def test_waiting_node_still_answers(api: httpx.Client) -> None:
    """After all this the seeded nodes still have a well-formed status."""
    for node in (FINISHED, WAITING):
        assert_clean(api.get(f"/v1/introspection/{node.name}"))
