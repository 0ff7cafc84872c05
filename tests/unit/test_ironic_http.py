"""DirectHTTP: the requests it hands to the transport are the ones httpx.AsyncClient built.

Each request is compared with ``AsyncClient.build_request`` for the same inputs (URL and query
encoding, headers, JSON body, timeouts); answers, redirects and errors come back as through
the client, and the Ironic client's retry decisions on them are unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from metalscope import __version__
from metalscope.errors import IronicError, IronicNoAnswer
from metalscope.ironic_client import (
    CONNECT_TIMEOUT,
    VERSION_HEADER,
    IronicClient,
    StaticCredentials,
)
from metalscope.ironic_http import (
    DEFAULT_HEADERS,
    USER_AGENT,
    DirectHTTP,
    proxy_configured,
    with_defaults,
)

URL = "http://ironic.test:6385"
NODE = f"{URL}/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
TIMEOUT = httpx.Timeout(60.0, connect=CONNECT_TIMEOUT)

Handler = Callable[[httpx.Request], httpx.Response]


def direct(handler: Handler) -> tuple[DirectHTTP, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)
    return DirectHTTP(httpx.MockTransport(record), TIMEOUT), seen


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


async def sent(params: Any = None, headers: Any = None, json: Any = None,
               method: str = "GET", url: str = NODE) -> tuple[httpx.Request, httpx.Request]:
    """The request DirectHTTP sent, and the one AsyncClient builds for the same inputs."""
    http, seen = direct(ok)
    await http.request(method, url, params=params, headers=headers, json=json)
    client = httpx.AsyncClient(timeout=TIMEOUT, headers={"User-Agent": USER_AGENT})
    expected = client.build_request(method, url, params=params, headers=headers, json=json)
    await client.aclose()
    return seen[0], expected


class TestRequestBuilt:
    @pytest.mark.parametrize("params", [
        None, {}, {"fields": "uuid,name,driver_info"}, {"address": "52:54:00:12:34:56"},
        {"marker": "a b&c=d/é?#", "limit": "2", "sort_dir": "asc"},
        {"reset_interfaces": "True"},
    ])
    async def test_url_and_query_as_the_client_encodes_them(self, params: Any) -> None:
        request, expected = await sent(params=params)
        assert str(request.url) == str(expected.url)
        assert request.url.raw_path == expected.url.raw_path

    async def test_quoted_path(self) -> None:
        request, expected = await sent(url=f"{URL}/v1/nodes/a%2Fb/traits/CUSTOM%20X")
        assert request.url.raw_path == expected.url.raw_path == b"/v1/nodes/a%2Fb/traits/CUSTOM%20X"

    async def test_headers_are_the_clients_with_metalscopes_name(self) -> None:
        own = {VERSION_HEADER: "1.109", "X-Auth-Token": "secret"}
        request, expected = await sent(headers=own)
        assert list(request.headers.multi_items()) == list(expected.headers.multi_items())
        assert request.headers["User-Agent"] == f"metalscope/{__version__}"
        assert request.headers["Host"] == "ironic.test:6385"
        assert request.headers[VERSION_HEADER] == "1.109"
        assert request.headers["X-Auth-Token"] == "secret"
        assert "cookie" not in request.headers

    def test_httpx_default_headers_are_kept(self) -> None:
        """Accept, Accept-Encoding (what httpx always decodes) and Connection as httpx's."""
        defaults = httpx.AsyncClient().headers
        assert defaults["Accept"] == DEFAULT_HEADERS["Accept"]
        assert defaults["Connection"] == DEFAULT_HEADERS["Connection"]
        ours = DEFAULT_HEADERS["Accept-Encoding"].split(", ")
        assert ours == ["gzip", "deflate"]
        assert set(ours) <= set(defaults["Accept-Encoding"].split(", "))

    def test_own_header_replaces_a_default_whatever_its_case(self) -> None:
        merged = with_defaults({"accept": "application/json"})
        assert httpx.Headers(merged).get_list("Accept") == ["application/json"]
        assert with_defaults(None) == dict(DEFAULT_HEADERS)

    @pytest.mark.parametrize("body", [{"target": "power on", "name": "nœud"},
                                      [{"op": "add", "path": "/extra/x", "value": 1}]])
    async def test_json_body(self, body: Any) -> None:
        request, expected = await sent(method="PATCH", json=body)
        assert request.content == expected.content
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Content-Length"] == str(len(expected.content))
        assert list(request.headers.multi_items()) == list(expected.headers.multi_items())

    async def test_no_body_no_content_headers(self) -> None:
        request, expected = await sent(method="DELETE")
        assert request.content == b"" == expected.content
        assert "content-type" not in request.headers

    async def test_timeouts_are_the_clients(self) -> None:
        request, expected = await sent()
        assert request.extensions["timeout"] == expected.extensions["timeout"] == {
            "connect": CONNECT_TIMEOUT, "read": 60.0, "write": 60.0, "pool": 60.0}


class TestAnswers:
    async def test_body_is_read_and_the_response_closed(self) -> None:
        http, _ = direct(ok)
        response = await http.request("GET", NODE)
        assert response.json() == {"ok": True}
        assert response.is_closed
        assert response.request.url == NODE

    async def test_redirect_is_the_answer(self) -> None:
        def moved(request: httpx.Request) -> httpx.Response:
            return httpx.Response(302, headers={"Location": f"{URL}/elsewhere"})
        http, seen = direct(moved)
        response = await http.request("GET", NODE)
        assert (response.status_code, len(seen)) == (302, 1)

    async def test_transport_errors_pass_through(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("Connection refused", request=request)
        http, _ = direct(refuse)
        with pytest.raises(httpx.ConnectError, match="refused"):
            await http.request("GET", NODE)

    async def test_failure_while_reading_closes_the_answer(self) -> None:
        closed: list[bool] = []

        class Broken(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                yield b"{"
                raise httpx.ReadError("Connection reset")

            async def aclose(self) -> None:
                closed.append(True)

        http, _ = direct(lambda request: httpx.Response(200, stream=Broken()))
        with pytest.raises(httpx.ReadError):
            await http.request("GET", NODE)
        assert closed

    async def test_aclose_closes_the_transport(self) -> None:
        class Transport(httpx.MockTransport):
            closed = False

            async def aclose(self) -> None:
                self.closed = True

        transport = Transport(ok)
        await DirectHTTP(transport, TIMEOUT).aclose()
        assert transport.closed


class TestIronicClientOnIt:
    """The Ironic client's decisions on the answers and errors DirectHTTP hands back."""

    def client(self, handler: Handler) -> IronicClient:
        http = DirectHTTP(httpx.MockTransport(handler), TIMEOUT)
        return IronicClient(StaticCredentials(URL, {"X-Auth-Token": "t"}), http,
                            api_version="1.109", backoff=0, attempts=3)

    async def test_get_node(self) -> None:
        seen: list[httpx.Request] = []

        def node(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"uuid": "u"})
        assert await self.client(node).get_node("u", fields=["uuid"]) == {"uuid": "u"}
        assert str(seen[0].url) == f"{URL}/v1/nodes/u?fields=uuid"
        assert seen[0].headers[VERSION_HEADER] == "1.109"
        assert seen[0].headers["X-Auth-Token"] == "t"

    async def test_redirect_is_an_error_status(self) -> None:
        client = self.client(lambda request: httpx.Response(301, text="moved"))
        with pytest.raises(IronicError) as caught:
            await client.validate_node("u")
        assert caught.value.status == 301
        assert client.calls == 1

    async def test_unreachable_is_retried_then_an_error(self) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("Connection refused", request=request)
        client = self.client(refuse)
        with pytest.raises(IronicError, match="Cannot reach Ironic") as caught:
            await client.create_node(driver="ipmi")
        assert not isinstance(caught.value, IronicNoAnswer)
        assert client.calls == 3

    async def test_post_without_answer_is_not_repeated(self) -> None:
        def silent(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("Timed out", request=request)
        client = self.client(silent)
        with pytest.raises(IronicNoAnswer):
            await client.create_node(driver="ipmi")
        assert client.calls == 1


class TestProxyConfigured:
    @pytest.mark.parametrize(("proxies", "expected"), [
        ({}, False), ({"no": "*"}, False), ({"http": ""}, False), ({"ftp": "http://p:3128"}, False),
        ({"http": "http://p:3128"}, True), ({"https": "p:3128"}, True),
        ({"all": "socks5://p:1080", "no": "localhost"}, True),
    ])
    def test_from_the_stdlib_mapping(self, proxies: dict[str, str], expected: bool) -> None:
        assert proxy_configured(proxies) is expected

    def test_reads_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(name.upper(), raising=False)
        assert not proxy_configured()
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
        assert proxy_configured()
