"""IronicClient logic: error texts, retry decisions, negotiation, paging, auth refresh.

HTTP is an ``httpx.MockTransport``; the real Ironic is exercised in tests/integration.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from keystoneauth1 import session as ks_session

from metalscope import latency_share
from metalscope.errors import ConfigurationError, IronicError, IronicNoAnswer, NodeNotInIronic
from metalscope.ironic_client import (
    VERSION_HEADER,
    IronicClient,
    StaticCredentials,
    api_root,
    call_name,
    choose_api_version,
    error_message,
    next_page_params,
    retry_delay,
    should_retry_exception,
    should_retry_status,
)
from metalscope.ironic_http import USER_AGENT, DirectHTTP
from metalscope.keystone_tls import httpx_verify
from metalscope.metrics import render
from metalscope.settings import load_settings

URL = "http://ironic.test:6385"
UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
LOCKED = (f"Node {UUID} is locked by host conductor-1, please retry after the current operation "
          "is completed.")

Handler = Callable[[httpx.Request], httpx.Response]


def ironic_error(status: int, faultstring: str) -> httpx.Response:
    """An error answer shaped like Ironic's: the fault is a JSON string inside JSON."""
    inner = json.dumps({"faultcode": "Client", "faultstring": faultstring, "debuginfo": None})
    return httpx.Response(status, json={"error_message": inner})


def make_client(handler: Handler, credentials: Any = None, **options: Any) -> IronicClient:
    options.setdefault("api_version", "1.109")
    options.setdefault("backoff", 0)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return IronicClient(credentials or StaticCredentials(URL), http, **options)


def answers(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A handler giving ``responses`` in order, and the list of requests it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]
    return handle, seen


class TestErrorMessage:
    def test_faultstring_inside_json_string(self) -> None:
        """Ironic's usual double-encoded body gives the bare faultstring."""
        response = ironic_error(404, "Node nope could not be found.")
        assert error_message(404, response.text) == "Node nope could not be found."

    def test_microversion_error_uses_description(self) -> None:
        inner = json.dumps({"code": 406, "title": "Not Acceptable",
                            "description": "Version 1.200 was requested but is not supported."})
        body = json.dumps({"error_message": inner})
        assert error_message(406, body) == "Version 1.200 was requested but is not supported."

    def test_error_message_already_an_object(self) -> None:
        body = json.dumps({"error_message": {"faultstring": "boom"}})
        assert error_message(500, body) == "boom"

    def test_error_message_plain_string(self) -> None:
        assert error_message(400, json.dumps({"error_message": "not json"})) == "not json"

    def test_openstack_style_error(self) -> None:
        message = "The request you have made requires authentication."
        body = json.dumps({"error": {"message": message}})
        assert error_message(401, body) == "The request you have made requires authentication."

    def test_non_json_body_is_kept(self) -> None:
        assert error_message(502, "<html>Bad Gateway</html>\n") == "<html>Bad Gateway</html>"

    def test_empty_body_names_the_status(self) -> None:
        assert error_message(500, "") == "HTTP 500"


class TestRetryDecisions:
    @pytest.mark.parametrize("status,message,expected", [
        (409, LOCKED, True),
        (409, f"Node {UUID} child_node x is presently locked", True),
        (409, "A port with MAC address 52:54:00:00:00:01 already exists.", False),
        (409, "A node with name n1 already exists.", False),
        (503, "Requested action cannot be performed due to lack of free conductor workers.", True),
        (500, "Internal Server Error", False),
        (404, "Node x could not be found.", False),
        (400, "locked", False),
    ])
    def test_status(self, status: int, message: str, expected: bool) -> None:
        """Only a locked node and an unavailable service are worth another try."""
        assert should_retry_status(status, message) is expected

    @pytest.mark.parametrize("method,exc,expected", [
        ("POST", httpx.ConnectError("refused"), True),
        ("POST", httpx.ConnectTimeout("slow"), True),
        ("POST", httpx.ReadTimeout("slow"), False),
        ("PATCH", httpx.RemoteProtocolError("closed"), False),
        ("GET", httpx.ReadTimeout("slow"), True),
        ("PUT", httpx.ReadError("reset"), True),
        ("DELETE", httpx.RemoteProtocolError("closed"), True),
        ("PATCH", httpx.WriteError("reset while sending"), True),
        ("POST", httpx.WriteTimeout("not sent in time"), True),
        ("PATCH", httpx.ReadError("reset"), False),
        ("GET", httpx.DecodingError("bad gzip"), True),
        ("POST", httpx.DecodingError("bad gzip"), False),
    ])
    def test_transport_failure(self, method: str, exc: httpx.TransportError,
                               expected: bool) -> None:
        """A request that may have reached Ironic is repeated only if repeating is harmless."""
        assert should_retry_exception(method, exc) is expected

    def test_backoff_doubles_and_is_capped(self) -> None:
        assert [retry_delay(n) for n in range(1, 7)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
        assert retry_delay(3, backoff=1, max_backoff=10) == 4.0


class TestVersionsAndPaging:
    @pytest.mark.parametrize("advertised,chosen", [("1.115", "1.109"), ("1.109", "1.109"),
                                                   ("1.80", "1.80"), ("1.46", "1.46"),
                                                   ("2.3", "1.109")])
    def test_choose_api_version(self, advertised: str, chosen: str) -> None:
        """min(Ironic's maximum, 1.109), compared numerically (1.80 < 1.109)."""
        assert choose_api_version({"default_version": {"version": advertised}}) == chosen

    def test_too_old_ironic(self) -> None:
        with pytest.raises(IronicError, match=r"needs at least 1\.46"):
            choose_api_version({"default_version": {"version": "1.45"}})

    def test_next_page(self) -> None:
        page = {"ports": [{}], "next": f"{URL}/v1/ports/detail?sort_key=id&limit=2&marker=abc"}
        assert next_page_params(page) == {"sort_key": "id", "limit": "2", "marker": "abc"}
        assert next_page_params({"ports": []}) is None
        assert next_page_params({"ports": [], "next": f"{URL}/v1/ports?limit=2"}) is None

    @pytest.mark.parametrize("endpoint", [URL, URL + "/", URL + "/v1", URL + "/v1/"])
    def test_api_root(self, endpoint: str) -> None:
        assert api_root(endpoint) == URL
        assert api_root("https://cloud.test/baremetal/") == "https://cloud.test/baremetal"


class TestRetries:
    async def test_locked_node_is_retried_until_it_works(self) -> None:
        handler, seen = answers(ironic_error(409, LOCKED), ironic_error(409, LOCKED),
                                httpx.Response(202))
        client = make_client(handler)
        await client.set_power_state(UUID, "rebooting")
        assert client.calls == len(seen) == 3
        assert all(json.loads(r.content) == {"target": "rebooting"} for r in seen)

    async def test_retries_and_back_off_are_one_wait_on_ironic(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        """For the latency share, the exchange with its retries and the back-off sleeps
        between them is one wait on Ironic (the clock moves only in the sleeps here)."""
        now = [0.0]

        async def sleep(seconds: float) -> None:
            now[0] += seconds

        monkeypatch.setattr(latency_share, "perf_counter", lambda: now[0])
        monkeypatch.setattr(asyncio, "sleep", sleep)
        handler, seen = answers(ironic_error(409, LOCKED), ironic_error(409, LOCKED),
                                httpx.Response(202))
        client = make_client(handler, backoff=1)
        shares: list[latency_share.Share] = []
        with latency_share.accounted(shares.append):
            await client.set_power_state(UUID, "rebooting")
        assert len(seen) == 3
        [share] = shares
        assert (share.total, share.ironic, share.database, share.own) == (3.0, 3.0, 0.0, 0.0)

    async def test_gives_up_after_the_attempts(self) -> None:
        handler, seen = answers(ironic_error(503, "No free conductor workers"))
        client = make_client(handler, attempts=3)
        with pytest.raises(IronicError) as caught:
            await client.set_boot_device(UUID, "pxe")
        assert (caught.value.status, caught.value.message) == (503, "No free conductor workers")
        assert client.calls == len(seen) == 3

    async def test_permanent_conflict_is_not_retried(self) -> None:
        handler, seen = answers(ironic_error(
            409, "A port with MAC address 52:54:00:00:00:01 already exists."))
        client = make_client(handler)
        with pytest.raises(IronicError) as caught:
            await client.create_port(UUID, "52:54:00:00:00:01")
        assert caught.value.status == 409
        assert "already exists" in caught.value.message
        assert len(seen) == 1

    async def test_unreachable_ironic(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("Connection refused")
        client = make_client(refuse, attempts=4)
        with pytest.raises(IronicError) as caught:
            await client.get_node(UUID)
        assert caught.value.status is None
        assert "Connection refused" in caught.value.message
        assert client.calls == 4

    async def test_post_is_not_repeated_after_a_read_timeout(self) -> None:
        def slow(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("timed out")
        client = make_client(slow)
        with pytest.raises(IronicError):
            await client.create_node(driver="fake-hardware")
        assert client.calls == 1


class TestRequests:
    async def test_negotiates_once_then_sends_the_version(self) -> None:
        root = httpx.Response(200, json={"default_version": {"version": "1.115",
                                                             "min_version": "1.1"}})
        handler, seen = answers(root, httpx.Response(200, json={"uuid": UUID}))
        client = make_client(handler, api_version=None)
        await client.get_node(UUID)
        await client.get_node(UUID)
        assert [r.url.path for r in seen] == ["/", f"/v1/nodes/{UUID}", f"/v1/nodes/{UUID}"]
        assert VERSION_HEADER not in seen[0].headers
        assert seen[1].headers[VERSION_HEADER] == seen[2].headers[VERSION_HEADER] == "1.109"
        assert client.api_version == "1.109" and client.calls == 3

    async def test_get_node_errors(self) -> None:
        handler, _ = answers(ironic_error(404, "Node n1 could not be found."))
        with pytest.raises(NodeNotInIronic, match=r"^Node n1 was not found in Ironic$"):
            await make_client(handler).get_node("n1")
        handler, _ = answers(ironic_error(400, "Field bogus is not a valid field."))
        with pytest.raises(IronicError) as caught:
            await make_client(handler).get_node("n1", fields=["bogus"])
        assert caught.value.message == "Cannot get node n1: Field bogus is not a valid field."
        assert caught.value.status == 400

    async def test_fields_and_quoting(self) -> None:
        handler, seen = answers(httpx.Response(200, json={"uuid": UUID}))
        await make_client(handler).get_node("a name/x", fields=["uuid", "driver_info"])
        assert seen[0].url.raw_path == b"/v1/nodes/a%20name%2Fx?fields=uuid%2Cdriver_info"

    async def test_paging_keeps_the_filter_ironic_drops(self) -> None:
        """Ironic's ``next`` link loses ``node=``; the client keeps its own query."""
        first = httpx.Response(200, json={"ports": [{"uuid": "p1"}, {"uuid": "p2"}],
                                          "next": f"{URL}/v1/ports/detail?limit=2&marker=p2"})
        last = httpx.Response(200, json={"ports": [{"uuid": "p3"}]})
        handler, seen = answers(first, last)
        ports = await make_client(handler, page_size=2).list_node_ports(UUID)
        assert [p["uuid"] for p in ports] == ["p1", "p2", "p3"]
        assert dict(seen[0].url.params) == {"node": UUID, "limit": "2"}
        assert dict(seen[1].url.params) == {"node": UUID, "limit": "2", "marker": "p2"}

    async def test_one_page_and_the_next_marker(self) -> None:
        """``list_page`` sends the query as given and gives the marker of Ironic's ``next``
        link; no link (or an empty page) means the last page."""
        full = httpx.Response(200, json={
            "ports": [{"uuid": "p1"}, {"uuid": "p2"}],
            "next": f"{URL}/v1/ports?limit=2&sort_key=uuid&marker=p2"})
        last = httpx.Response(200, json={"ports": [{"uuid": "p3"}]})
        empty = httpx.Response(200, json={"ports": [], "next": f"{URL}/v1/ports?marker=p9"})
        handler, seen = answers(full, last, empty)
        client = make_client(handler)
        query = {"limit": "2", "sort_key": "uuid", "fields": "uuid,address"}
        assert await client.list_page("/v1/ports", "ports", query) == (
            [{"uuid": "p1"}, {"uuid": "p2"}], "p2")
        assert dict(seen[0].url.params) == query and seen[0].url.path == "/v1/ports"
        assert await client.list_page("/v1/ports", "ports", {"marker": "p2"}) == (
            [{"uuid": "p3"}], None)
        assert await client.list_page("/v1/ports", "ports", {}) == ([], None)

    async def test_reset_interfaces_only_when_asked(self) -> None:
        handler, seen = answers(httpx.Response(200, json={"uuid": UUID}))
        client = make_client(handler)
        ops = [{"op": "replace", "path": "/driver", "value": "ipmi"}]
        await client.patch_node(UUID, ops)
        await client.patch_node(UUID, ops, reset_interfaces=True)
        assert [dict(r.url.params) for r in seen] == [{}, {"reset_interfaces": "True"}]
        assert json.loads(seen[1].content) == ops

    async def test_missing_trait_is_not_an_error(self) -> None:
        handler, seen = answers(ironic_error(404, "Node x doesn't have a trait 'CUSTOM_X'"))
        await make_client(handler).remove_trait(UUID, "CUSTOM_X")
        assert seen[0].method == "DELETE" and seen[0].url.path.endswith("/traits/CUSTOM_X")
        handler, _ = answers(ironic_error(400, "bad trait"))
        with pytest.raises(IronicError, match="bad trait"):
            await make_client(handler).remove_trait(UUID, "bad")

    async def test_answer_that_is_not_json(self) -> None:
        handler, _ = answers(httpx.Response(200, text="<html>proxy login</html>"))
        with pytest.raises(IronicError, match="not JSON") as caught:
            await make_client(handler).validate_node(UUID)
        assert caught.value.status == 200


class RotatingToken:
    """Credentials whose token changes each time the previous one is reported stale."""

    def __init__(self) -> None:
        self.token = 1
        self.stale_reports: list[Mapping[str, str]] = []

    async def endpoint(self) -> str:
        return URL + "/v1/"

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        if stale is not None:
            self.stale_reports.append(stale)
            self.token += 1
        return {"X-Auth-Token": f"token-{self.token}"}


class TestAuthentication:
    async def test_401_refreshes_the_token_once(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            ok = request.headers["X-Auth-Token"] == "token-2"
            return httpx.Response(200, json={"uuid": UUID}) if ok else httpx.Response(401)
        credentials = RotatingToken()
        client = make_client(handle, credentials)
        assert (await client.get_node(UUID))["uuid"] == UUID
        assert credentials.stale_reports == [{"X-Auth-Token": "token-1"}]
        assert client.calls == 2

    async def test_second_401_is_an_error(self) -> None:
        handler, seen = answers(httpx.Response(401, json={"error": {"message": "Unauthorized"}}))
        client = make_client(handler, RotatingToken())
        with pytest.raises(IronicError) as caught:
            await client.get_node(UUID)
        assert (caught.value.status, caught.value.message) == (401, "Unauthorized")
        assert [r.headers["X-Auth-Token"] for r in seen] == ["token-1", "token-2"]
        assert seen[0].url.path == f"/v1/nodes/{UUID}"  # "/v1/" of the endpoint not doubled


class TestFromSettings:
    async def test_embedded_defaults_send_no_auth_header(self) -> None:
        client = IronicClient.from_settings(load_settings())
        try:
            credentials = client._credentials
            assert await credentials.endpoint() == "http://127.0.0.1:6385"
            assert await credentials.headers() == {}
        finally:
            await client.aclose()

    async def test_http_basic(self, tmp_path: Path) -> None:
        conf = tmp_path / "inspector.conf"
        conf.write_text("[ironic]\nauth_type = http_basic\nusername = admin\npassword = secret\n"
                        "endpoint = http://ironic.example:6385\n")
        client = IronicClient.from_settings(load_settings([str(conf)]))
        try:
            assert await client._credentials.endpoint() == "http://ironic.example:6385"
            headers = await client._credentials.headers()
            assert headers == {"Authorization": "Basic YWRtaW46c2VjcmV0"}
        finally:
            await client.aclose()

    def test_incomplete_auth_options(self, tmp_path: Path) -> None:
        conf = tmp_path / "inspector.conf"
        conf.write_text("[ironic]\nauth_type = password\n")
        with pytest.raises(ConfigurationError, match=r"\[ironic\]"):
            IronicClient.from_settings(load_settings([str(conf)]))

    async def test_idle_timeout_is_passed_to_the_transport(self) -> None:
        """``connection_idle_timeout = 0``: a new connection for every request."""
        connections: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(1)
            body = json.dumps({"uuid": UUID}).encode()
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        counts = []
        try:
            for idle in (0.0, 4.0):
                settings = load_settings(overrides={"ironic": {
                    "auth_type": "none", "endpoint_override": url,
                    "connection_idle_timeout": idle}})
                client = IronicClient.from_settings(settings, api_version="1.109")
                connections.clear()
                try:
                    for _ in range(3):
                        await client.get_node(UUID)
                finally:
                    await client.aclose()
                counts.append(len(connections))
        finally:
            server.close()
        assert counts == [3, 1]

    async def test_direct_without_a_proxy(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No proxy in the environment: requests go straight to the transport, with
        MetalScope's name; closing the client closes the kept connections."""
        without_proxies(monkeypatch)
        async with http_server() as (url, heads, closed):
            settings = load_settings(overrides={"ironic": {"auth_type": "none",
                                                           "endpoint_override": url}})
            client = IronicClient.from_settings(settings, api_version="1.109")
            assert isinstance(client._http, DirectHTTP)
            for _ in range(2):
                assert (await client.get_node(UUID, fields=["uuid"]))["uuid"] == UUID
            await client.aclose()
            await asyncio.wait_for(closed.wait(), 5)
        assert len(heads) == 2  # one connection, kept
        assert heads[0].startswith(f"GET /v1/nodes/{UUID}?fields=uuid HTTP/1.1\r\n")
        assert f"user-agent: {USER_AGENT}\r\n" in heads[0].lower()
        assert "x-openstack-ironic-api-version: 1.109\r\n" in heads[0].lower()

    async def test_environment_proxy_is_used(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A proxy in the environment: the requests go through httpx.AsyncClient, which
        sends them to the proxy."""
        without_proxies(monkeypatch)
        async with http_server() as (proxy, heads, _):
            monkeypatch.setenv("HTTP_PROXY", proxy)
            settings = load_settings(overrides={"ironic": {
                "auth_type": "none", "endpoint_override": "http://ironic.invalid:6385"}})
            client = IronicClient.from_settings(settings, api_version="1.109")
            try:
                assert isinstance(client._http, httpx.AsyncClient)
                assert (await client.get_node(UUID))["uuid"] == UUID
            finally:
                await client.aclose()
        assert heads[0].startswith(f"GET http://ironic.invalid:6385/v1/nodes/{UUID} HTTP/1.1")
        assert f"user-agent: {USER_AGENT}\r\n" in heads[0].lower()

    def test_tls_options(self) -> None:
        assert httpx_verify(ks_session.Session(verify=True)) is True
        assert httpx_verify(ks_session.Session(verify=False)) is False
        context = httpx_verify(ks_session.Session(verify=certifi.where()))
        assert not isinstance(context, bool) and context.check_hostname


def without_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[tuple[str, list[str], asyncio.Event]]:
    """A keep-alive server answering every request with a node: its URL, the request heads
    it read, and an event set when a client closes its connection."""
    heads: list[str] = []
    closed = asyncio.Event()
    body = json.dumps({"uuid": UUID}).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                heads.append((await reader.readuntil(b"\r\n\r\n")).decode())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            closed.set()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", heads, closed
    finally:
        server.close()


def node_json(**properties: Any) -> dict[str, Any]:
    return {"uuid": UUID, "properties": properties, "extra": {}}


class Scripted:
    """Ironic's answers by (method, path): each an httpx.Response or an exception to raise,
    given in turn (the last one repeats)."""

    def __init__(self, script: dict[tuple[str, str], list[Any]]) -> None:
        self.script = script
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        outcomes = self.script[request.method, request.url.path]
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def count(self, method: str) -> int:
        return sum(m == method for m, _ in self.seen)


NODE_PATH = f"/v1/nodes/{UUID}"
OPS = [{"op": "add", "path": "/properties/cpus", "value": 8}]


class TestLostAnswers:
    async def test_patch_applied_although_its_answer_was_lost(self) -> None:
        ironic = Scripted({("PATCH", NODE_PATH): [httpx.ReadTimeout("timed out")],
                             ("GET", NODE_PATH): [httpx.Response(200, json=node_json(cpus=8))]})
        node = await make_client(ironic).patch_node(UUID, OPS)
        assert node == node_json(cpus=8)
        assert ironic.seen == [("PATCH", NODE_PATH), ("GET", NODE_PATH)]

    async def test_patch_not_applied_is_sent_again(self) -> None:
        ironic = Scripted({
            ("PATCH", NODE_PATH): [httpx.RemoteProtocolError("Server disconnected"),
                                   httpx.Response(200, json=node_json(cpus=8))],
            ("GET", NODE_PATH): [httpx.Response(200, json=node_json(cpus=2))]})
        assert (await make_client(ironic).patch_node(UUID, OPS))["properties"] == {"cpus": 8}
        assert ironic.seen == [("PATCH", NODE_PATH), ("GET", NODE_PATH), ("PATCH", NODE_PATH)]

    async def test_unreachable_while_finding_out(self) -> None:
        """Status None: the caller keeps the node waiting instead of failing it."""
        ironic = Scripted({("PATCH", NODE_PATH): [httpx.ReadError("Connection reset")],
                             ("GET", NODE_PATH): [httpx.ConnectError("Connection refused")]})
        with pytest.raises(IronicError) as caught:
            await make_client(ironic, attempts=3).patch_node(UUID, OPS)
        assert caught.value.status is None
        assert ironic.count("PATCH") == 1 and ironic.count("GET") == 3

    async def test_patch_not_sent_whole_is_repeated_at_once(self) -> None:
        ironic = Scripted({("PATCH", NODE_PATH): [
            httpx.WriteError("Connection reset"), httpx.Response(200, json=node_json(cpus=8))]})
        await make_client(ironic).patch_node(UUID, OPS)
        assert ironic.seen == [("PATCH", NODE_PATH)] * 2

    async def test_last_failure_names_the_lost_answer(self) -> None:
        """Outside reconciliation, a non-idempotent request left unanswered fails with
        IronicNoAnswer: still an IronicError with status None."""
        ironic = Scripted({("POST", "/v1/nodes"): [httpx.ReadTimeout("timed out")]})
        with pytest.raises(IronicNoAnswer) as caught:
            await make_client(ironic).create_node(driver="fake-hardware")
        assert caught.value.status is None and ironic.count("POST") == 1

    async def test_port_created_although_its_answer_was_lost(self) -> None:
        port = {"uuid": "p1", "node_uuid": UUID, "address": "52:54:00:00:00:01"}
        ironic = Scripted({
            ("POST", "/v1/ports"): [httpx.ReadTimeout("timed out")],
            ("GET", "/v1/ports/detail"): [httpx.Response(200, json={"ports": [port]})]})
        assert await make_client(ironic).create_port(UUID, "52:54:00:00:00:01") == port
        assert ironic.count("POST") == 1

    async def test_port_resend_meeting_409_finds_the_first(self) -> None:
        """The lookup ran before the first POST landed; the resend's 409 says it has."""
        port = {"uuid": "p1", "node_uuid": UUID, "address": "52:54:00:00:00:01"}
        ironic = Scripted({
            ("POST", "/v1/ports"): [httpx.ReadTimeout("timed out"), ironic_error(
                409, "A port with MAC address 52:54:00:00:00:01 already exists.")],
            ("GET", "/v1/ports/detail"): [httpx.Response(200, json={"ports": []}),
                                     httpx.Response(200, json={"ports": [port]})]})
        assert await make_client(ironic).create_port(UUID, "52:54:00:00:00:01") == port
        assert ironic.count("POST") == 2

    async def test_port_of_another_node_is_a_conflict(self) -> None:
        other = {"uuid": "p9", "node_uuid": "another-node", "address": "52:54:00:00:00:01"}
        ironic = Scripted({
            ("POST", "/v1/ports"): [httpx.ReadTimeout("timed out"), ironic_error(
                409, "A port with MAC address 52:54:00:00:00:01 already exists.")],
            ("GET", "/v1/ports/detail"): [httpx.Response(200, json={"ports": [other]})]})
        with pytest.raises(IronicError) as caught:
            await make_client(ironic).create_port(UUID, "52:54:00:00:00:01")
        assert caught.value.status == 409

    async def test_port_patch_reconciled(self) -> None:
        port = {"uuid": "p1", "physical_network": "ctlplane"}
        ironic = Scripted({("PATCH", "/v1/ports/p1"): [httpx.ReadTimeout("timed out")],
                             ("GET", "/v1/ports/p1"): [httpx.Response(200, json=port)]})
        ops = [{"op": "add", "path": "/physical_network", "value": "ctlplane"}]
        assert await make_client(ironic).patch_port("p1", ops) == port
        assert ironic.count("PATCH") == 1


class TestMetrics:
    @pytest.mark.parametrize("method,path,name", [
        ("GET", "/", "discover_version"), ("GET", f"/v1/nodes/{UUID}", "get_node"),
        ("GET", "/v1/nodes/detail", "list_nodes"), ("PATCH", f"/v1/nodes/{UUID}", "patch_node"),
        ("PUT", f"/v1/nodes/{UUID}/states/power", "set_power_state"),
        ("DELETE", f"/v1/nodes/{UUID}/traits/CUSTOM_X", "remove_trait"),
        ("GET", "/v1/ports/detail", "list_ports"), ("POST", "/v1/ports", "create_port"),
        ("PATCH", f"/v1/ports/{UUID}", "patch_port"), ("GET", f"/v1/nodes/{UUID}/bios", "other"),
    ])
    def test_call_names_never_carry_identifiers(self, method: str, path: str,
                                                name: str) -> None:
        assert call_name(method, path) == name

    async def test_every_attempt_is_counted_by_call(self) -> None:
        """Two 503s then the node: three observations of get_node, two 5xx errors; a 404
        of another node adds a 4xx."""
        handler, _ = answers(ironic_error(503, "busy"), ironic_error(503, "busy"),
                             httpx.Response(200, json={"uuid": UUID}))
        client = make_client(handler)
        await client.get_node(UUID)
        text = render(client.metrics, None)[0].decode()
        assert 'metalscope_ironic_request_duration_seconds_count{call="get_node"} 3.0' in text
        assert 'metalscope_ironic_request_errors_total{call="get_node",status="5xx"} 2.0' in text
        assert UUID not in text
