"""The HTTP middleware options through real HTTP against ``metalscope serve`` processes.

``[healthcheck]`` (paths, backends, files created and removed, detailed pages, source
ranges), ``[cors]`` (a browser's preflight and simple requests), ``[oslo_middleware]
enable_proxy_headers_parsing`` (a TLS-terminating balancer's headers, honoured and not),
``X-OpenStack-Request-Id``, HEAD on GET routes and the version headers on error statuses,
a 500 caused by a database that lost a table included.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

DASHBOARD = "https://dashboard.example.org"
BALANCER = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "inspector.example.org",
            "X-Forwarded-Prefix": "/baremetal-introspection", "X-Forwarded-For": "203.0.113.7"}
PUBLIC = "https://inspector.example.org/baremetal-introspection"
MIN, MAX = ("X-OpenStack-Ironic-Inspector-API-Minimum-Version",
            "X-OpenStack-Ironic-Inspector-API-Maximum-Version")
REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
#: What Chromium sends before a cross-origin GET with the inspector's headers.
BROWSER_PREFLIGHT = {
    "Origin": DASHBOARD, "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "x-auth-token,x-openstack-ironic-inspector-api-version",
    "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "empty",
    "Referer": f"{DASHBOARD}/", "Accept": "*/*",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
}
RULE = {"uuid": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "description": "mark big",
        "conditions": [{"op": "ge", "field": "memory_mb", "value": 1}],
        "actions": [{"action": "set-attribute", "path": "/extra/big", "value": "yes"}]}


def serve(tmp_path_factory: pytest.TempPathFactory, ironic: LocalIronic, name: str,
          options: dict[str, dict[str, Any]]) -> Iterator[LocalMetalScope]:
    with LocalMetalScope(tmp_path_factory.mktemp(name), ironic.url, options=options) as service:
        yield service


@pytest.fixture(scope="module")
def main(tmp_path_factory: pytest.TempPathFactory,
         ironic: LocalIronic) -> Iterator[LocalMetalScope]:
    """Health check with ``disable_by_file``, CORS for the dashboard, proxy option unset."""
    flag = tmp_path_factory.mktemp("flags") / "maintenance"
    yield from serve(tmp_path_factory, ironic, "metalscope-http-main", {
        "healthcheck": {"enabled": True, "backends": "disable_by_file",
                        "disable_by_file_path": flag},
        "cors": {"allowed_origin": DASHBOARD, "expose_headers": "X-OpenStack-Request-Id"}})


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory,
           ironic: LocalIronic) -> Iterator[LocalMetalScope]:
    """Own path, detailed, per-port files, loopback only; proxy headers ignored."""
    flags = tmp_path_factory.mktemp("port-flags")
    service_dir = tmp_path_factory.mktemp("metalscope-http-custom")
    service = LocalMetalScope(service_dir, ironic.url)
    service.sections.update({
        "healthcheck": {"enabled": True, "path": "/status/health", "detailed": True,
                        "backends": "disable_by_files_ports",
                        "disable_by_file_paths": f"{service.port}:{flags / 'this-port'},"
                                                 f"1:{flags / 'other-port'}",
                        "allowed_source_ranges": "127.0.0.0/8,::1/128"},
        "oslo_middleware": {"enable_proxy_headers_parsing": False}})
    with service:
        yield service


@pytest.fixture(scope="module")
def fenced(tmp_path_factory: pytest.TempPathFactory,
           ironic: LocalIronic) -> Iterator[LocalMetalScope]:
    """Health check for 10.0.0.0/8 only."""
    yield from serve(tmp_path_factory, ironic, "metalscope-http-fenced", {
        "healthcheck": {"enabled": True, "allowed_source_ranges": "10.0.0.0/8"}})


@pytest.fixture
def damaged(tmp_path_factory: pytest.TempPathFactory,
            ironic: LocalIronic) -> Iterator[LocalMetalScope]:
    """A service whose database loses its rules table while it runs."""
    for service in serve(tmp_path_factory, ironic, "metalscope-http-damaged", {}):
        database = service.sections["database"]["connection"].removeprefix("sqlite:///")
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TABLE rules")
        yield service


def http(service: LocalMetalScope) -> httpx.Client:
    return httpx.Client(base_url=service.url, timeout=30)


class TestHealthcheck:
    def test_answers(self, main: LocalMetalScope) -> None:
        with http(main) as client:
            plain = client.get("/healthcheck")
            head = client.head("/healthcheck")
            as_json = client.get("/healthcheck", headers={"Accept": "application/json"})
            as_html = client.get("/healthcheck", headers={"Accept": "text/html"})
        assert (plain.status_code, plain.text) == (200, "OK")
        assert plain.headers["content-type"] == "text/plain; charset=UTF-8"
        assert MAX not in plain.headers
        assert REQUEST_ID.fullmatch(plain.headers["x-openstack-request-id"])
        assert head.status_code == 204 and head.content == b""
        assert as_json.json() == {"detailed": False, "reasons": ["OK"]}
        assert "<TD>OK</TD>" in as_html.text and "Server status" not in as_html.text

    def test_disable_by_file(self, main: LocalMetalScope) -> None:
        flag = Path(main.sections["healthcheck"]["disable_by_file_path"])
        with http(main) as client:
            flag.touch()
            try:
                down = client.get("/healthcheck")
                down_head = client.head("/healthcheck")
                api = client.get("/v1/introspection")
            finally:
                flag.unlink()
            up = client.get("/healthcheck")
        assert (down.status_code, down.text) == (503, "DISABLED BY FILE")
        assert down_head.status_code == 503
        assert api.status_code == 200  # only the health check reports the maintenance
        assert (up.status_code, up.text) == (200, "OK")

    def test_own_path_detailed_and_port_file(self, custom: LocalMetalScope) -> None:
        flag = Path(custom.sections["healthcheck"]["disable_by_file_paths"].split(",")[0]
                    .split(":", 1)[1])
        with http(custom) as client:
            assert client.get("/healthcheck").status_code == 404  # the API's unknown version
            healthy = client.get("/status/health", headers={"Accept": "application/json"})
            flag.touch()
            try:
                down = client.get("/status/health", headers={"Accept": "application/json"})
                page = client.get("/status/health", headers={"Accept": "text/html"})
            finally:
                flag.unlink()
        assert healthy.status_code == 200
        assert healthy.json()["detailed"] is True and healthy.json()["threads"]
        assert healthy.json()["reasons"] == [{"class": "HealthcheckResult", "details": "",
                                              "reason": "OK"}]
        assert down.status_code == 503 and down.json()["reasons"][0]["reason"] == "DISABLED BY FILE"
        assert page.status_code == 503 and "<H1>Server status</H1>" in page.text

    def test_source_outside_the_ranges_reaches_the_api(self, fenced: LocalMetalScope) -> None:
        response = httpx.get(f"{fenced.url}/healthcheck", timeout=30)
        assert response.status_code == 404
        assert response.json() == {"error": {"message": "Version healthcheck not found."}}
        assert response.headers[MAX] == "1.20"

    def test_disabled_by_default(self, metalscope: LocalMetalScope) -> None:
        assert httpx.get(f"{metalscope.url}/healthcheck", timeout=30).status_code == 404


class TestCors:
    def test_browser_preflight(self, main: LocalMetalScope) -> None:
        response = httpx.options(f"{main.url}/v1/introspection", headers=BROWSER_PREFLIGHT,
                                 timeout=30)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == DASHBOARD
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-allow-methods"] == "GET"
        assert response.headers["access-control-allow-headers"] == (
            "x-auth-token,x-openstack-ironic-inspector-api-version")
        assert response.headers["access-control-max-age"] == "3600"
        assert response.headers["vary"] == "Origin"

    def test_preflight_from_another_origin(self, main: LocalMetalScope) -> None:
        response = httpx.options(f"{main.url}/v1/introspection", timeout=30,
                                 headers={**BROWSER_PREFLIGHT, "Origin": "https://evil.example"})
        assert response.status_code == 200
        assert not [name for name in response.headers if name.startswith("access-control-")]

    def test_preflight_with_a_header_not_allowed(self, main: LocalMetalScope) -> None:
        response = httpx.options(f"{main.url}/v1/rules", timeout=30, headers={
            **BROWSER_PREFLIGHT, "Access-Control-Request-Headers": "x-auth-token,x-secret"})
        assert "access-control-allow-origin" not in response.headers

    def test_simple_get(self, main: LocalMetalScope) -> None:
        allowed = httpx.get(f"{main.url}/v1", headers={"Origin": DASHBOARD}, timeout=30)
        other = httpx.get(f"{main.url}/v1", headers={"Origin": "https://evil.example"},
                          timeout=30)
        assert allowed.status_code == other.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == DASHBOARD
        assert allowed.headers["access-control-expose-headers"] == "X-OpenStack-Request-Id"
        assert allowed.headers["vary"] == "Origin"
        assert "access-control-allow-origin" not in other.headers

    def test_off_without_allowed_origin(self, metalscope: LocalMetalScope) -> None:
        response = httpx.get(f"{metalscope.url}/v1", headers={"Origin": DASHBOARD}, timeout=30)
        assert "access-control-allow-origin" not in response.headers


def start_introspection(client: httpx.Client, uuid: str) -> None:
    response = client.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 30
    while client.get(f"/v1/introspection/{uuid}").json()["state"] == "starting":
        assert time.monotonic() < deadline
        time.sleep(0.1)


class TestProxyHeaders:
    def test_balancer_links(self, main: LocalMetalScope, make_node: Any) -> None:
        node = make_node()
        with http(main) as client:
            start_introspection(client, node["uuid"])
            root = client.get("/", headers=BALANCER).json()
            v1 = client.get("/v1", headers=BALANCER).json()
            status = client.get(f"/v1/introspection/{node['uuid']}", headers=BALANCER).json()
            listed = client.get("/v1/introspection", headers=BALANCER).json()
            rule = client.post("/v1/rules", json=RULE, headers=BALANCER).json()
            client.delete(f"/v1/rules/{RULE['uuid']}")
            client.post(f"/v1/introspection/{node['uuid']}/abort")
        assert root["versions"][0]["links"][0]["href"] == f"{PUBLIC}/v1"
        hrefs = {r["links"][0]["href"] for r in v1["resources"]}
        assert hrefs == {f"{PUBLIC}/v1/{name}" for name in ("continue", "introspection", "rules")}
        assert status["links"][0]["href"] == f"{PUBLIC}/v1/introspection/{node['uuid']}"
        assert all(link["href"].startswith(f"{PUBLIC}/v1/introspection/")
                   for entry in listed["introspection"] for link in entry["links"])
        assert rule["links"][0]["href"] == f"/baremetal-introspection/v1/rules/{RULE['uuid']}"

    def test_direct_links_unchanged(self, main: LocalMetalScope) -> None:
        root = httpx.get(f"{main.url}/", timeout=30).json()
        assert root["versions"][0]["links"][0]["href"] == f"{main.url}/v1"

    def test_ignored_when_disabled(self, custom: LocalMetalScope) -> None:
        with http(custom) as client:
            root = client.get("/", headers=BALANCER).json()
            v1 = client.get("/v1", headers=BALANCER).json()
        assert root["versions"][0]["links"][0]["href"] == f"{custom.url}/v1"
        assert {r["links"][0]["href"] for r in v1["resources"]} == {
            f"{custom.url}/v1/{name}" for name in ("continue", "introspection", "rules")}

    def test_forwarded_for_is_not_a_healthcheck_source(self, fenced: LocalMetalScope) -> None:
        """The source ranges judge the TCP peer, not what a client claims (as upstream)."""
        response = httpx.get(f"{fenced.url}/healthcheck", timeout=30,
                             headers={"X-Forwarded-For": "10.1.2.3"})
        assert response.status_code == 404


class TestRequestId:
    def test_unique_per_request(self, main: LocalMetalScope) -> None:
        with http(main) as client:
            ids = [client.get(path).headers["x-openstack-request-id"]
                   for path in ("/", "/", "/v1/rules", "/nope/nope", "/healthcheck")]
        assert all(REQUEST_ID.fullmatch(value) for value in ids)
        assert len(set(ids)) == len(ids)

    @pytest.mark.parametrize("caller", ["req-0f1e2d3c-4b5a-4978-8877-665544332211",
                                        "req-NOT-A-UUID", "something else"])
    def test_caller_id_never_replaces_ours(self, main: LocalMetalScope, caller: str) -> None:
        response = httpx.get(f"{main.url}/v1", headers={"X-OpenStack-Request-Id": caller},
                             timeout=30)
        assert response.status_code == 200
        assert REQUEST_ID.fullmatch(response.headers["x-openstack-request-id"])
        assert response.headers["x-openstack-request-id"] != caller


class TestHttpDetails:
    @pytest.mark.parametrize("path", ["/", "/v1", "/v1/introspection", "/v1/rules",
                                      "/v1/introspection/no-such-node", "/v7"])
    def test_head_like_get(self, main: LocalMetalScope, path: str) -> None:
        with http(main) as client:
            get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["content-type"] == get.headers["content-type"]
        assert (head.headers[MIN], head.headers[MAX]) == ("1.0", "1.20")

    def test_version_headers_on_errors(self, main: LocalMetalScope) -> None:
        with http(main) as client:
            answers = {404: client.get("/v1/no/such/thing"), 405: client.put("/v1/rules"),
                       413: client.post("/v1/rules", content=b"[" + b"1," * 600_000 + b"1]"),
                       406: client.get("/", headers={"OpenStack-API-Version":
                                                     "baremetal-introspection 2.0"})}
        for status, response in answers.items():
            assert response.status_code == status
            assert (response.headers[MIN], response.headers[MAX]) == ("1.0", "1.20")
            assert REQUEST_ID.fullmatch(response.headers["x-openstack-request-id"])

    def test_500_when_the_database_loses_a_table(self, damaged: LocalMetalScope) -> None:
        response = httpx.get(f"{damaged.url}/v1/rules", timeout=30)
        assert response.status_code == 500
        assert response.json() == {"error": {"message": "Internal server error"}}
        assert (response.headers[MIN], response.headers[MAX]) == ("1.0", "1.20")
        assert REQUEST_ID.fullmatch(response.headers["x-openstack-request-id"])
        assert response.headers["content-type"] == "application/json"
        log = damaged.log_file.read_text()
        assert "Unexpected error while handling a request" in log and "no such table" in log
