"""X-Forwarded-* applied to the scope as upstream's proxy fix applies them to the environ."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from metalscope.api.middleware.proxy_headers import (
    PREFIX_KEY,
    ProxyHeadersMiddleware,
    forwarded_scope,
    last_value,
)
from metalscope.settings import load_settings
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client
from tests.unit.api.middleware.asgi import Inner, call, http_scope

BALANCER = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "inspector.example.org",
            "X-Forwarded-Prefix": "/baremetal-introspection"}


def host_of(scope: dict) -> str | None:  # type: ignore[type-arg]
    return Headers(scope=scope).get("host")


class TestLastValue:
    def test_last_of_a_list(self) -> None:
        headers = Headers(raw=[(b"x-forwarded-for", b"203.0.113.9, 10.1.1.1 ,198.51.100.2")])
        assert last_value(headers, "x-forwarded-for") == "198.51.100.2"

    def test_last_line_wins(self) -> None:
        """Several header lines are one list, as a WSGI server joins them."""
        headers = Headers(raw=[(b"x-forwarded-proto", b"http"), (b"x-forwarded-proto", b"https")])
        assert last_value(headers, "x-forwarded-proto") == "https"

    @pytest.mark.parametrize("raw", [b"", b" , ", b","])
    def test_empty_is_absent(self, raw: bytes) -> None:
        assert last_value(Headers(raw=[(b"x-forwarded-host", raw)]), "x-forwarded-host") is None


class TestForwardedScope:
    def test_no_headers_no_change(self) -> None:
        scope = http_scope(headers={"Host": "10.0.0.5:5050"})
        assert forwarded_scope(scope) == scope

    def test_balancer(self) -> None:
        scope = forwarded_scope(http_scope(headers={"Host": "10.0.0.5:5050", **BALANCER,
                                                    "X-Forwarded-For": "203.0.113.9"}))
        assert scope["scheme"] == "https"
        assert host_of(scope) == "inspector.example.org"
        assert scope["server"] == ("inspector.example.org", 5050)
        assert scope["client"] == ("203.0.113.9", 50000)
        assert scope[PREFIX_KEY] == "/baremetal-introspection"

    def test_host_with_port(self) -> None:
        scope = forwarded_scope(http_scope(headers={"X-Forwarded-Host": "a.example:8443"}))
        assert host_of(scope) == "a.example:8443" and scope["server"] == ("a.example", 8443)

    def test_port_replaces_the_hosts_port(self) -> None:
        scope = forwarded_scope(http_scope(headers={"Host": "10.0.0.5:5050",
                                                    "X-Forwarded-Port": "8443"}))
        assert host_of(scope) == "10.0.0.5:8443" and scope["server"][1] == 8443

    def test_port_after_forwarded_host(self) -> None:
        scope = forwarded_scope(http_scope(headers={"Host": "h", "X-Forwarded-Host": "lb:1",
                                                    "X-Forwarded-Port": "2"}))
        assert host_of(scope) == "lb:2"

    def test_ipv6_host_without_port(self) -> None:
        scope = forwarded_scope(http_scope(headers={"X-Forwarded-Host": "[2001:db8::1]",
                                                    "X-Forwarded-Port": "443"}))
        assert host_of(scope) == "[2001:db8::1]:443"

    def test_only_one_host_header_left(self) -> None:
        scope = forwarded_scope(http_scope(headers={"Host": "inner", "X-Forwarded-Host": "outer"}))
        assert Headers(scope=scope).getlist("host") == ["outer"]

    def test_original_scope_untouched(self) -> None:
        original = http_scope(headers={"Host": "inner", **BALANCER})
        forwarded_scope(original)
        assert original["scheme"] == "http" and host_of(original) == "inner"

    async def test_middleware_passes_the_new_scope(self) -> None:
        inner = Inner()
        await call(ProxyHeadersMiddleware(inner), http_scope(headers=BALANCER))
        assert inner.seen[0]["scheme"] == "https"

    async def test_lifespan_untouched(self) -> None:
        seen = []

        async def app(scope, receive, send):  # type: ignore[no-untyped-def]
            seen.append(scope)

        await ProxyHeadersMiddleware(app)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
        assert seen == [{"type": "lifespan"}]


def client_for(tmp_path: Path, parsing: bool | None) -> TestClient:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    middleware = {} if parsing is None else {"enable_proxy_headers_parsing": parsing}
    settings = load_settings(overrides={"database": {"connection": url},
                                        "oslo_middleware": middleware})
    return make_client(settings, FakeIronic())


class TestLinks:
    """The three values of ``[oslo_middleware]enable_proxy_headers_parsing``."""

    @pytest.mark.parametrize("parsing", [None, True])
    def test_honoured(self, tmp_path: Path, parsing: bool | None) -> None:
        with client_for(tmp_path, parsing) as client:
            root = client.get("/", headers=BALANCER).json()
            v1 = client.get("/v1", headers=BALANCER).json()
        base = "https://inspector.example.org/baremetal-introspection/v1"
        assert root["versions"][0]["links"][0]["href"] == base
        assert {r["links"][0]["href"] for r in v1["resources"]} == {
            f"{base}/continue", f"{base}/introspection", f"{base}/rules"}

    def test_ignored_when_off(self, tmp_path: Path) -> None:
        with client_for(tmp_path, False) as client:
            root = client.get("/", headers={**BALANCER, "X-Forwarded-Port": "8443"}).json()
        assert root["versions"][0]["links"][0]["href"] == "http://testserver/v1"

    @pytest.mark.parametrize("headers,href", [
        ({"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}, "https://testserver/v1"),
        ({"X-Forwarded-Proto": "https", "X-Forwarded-Port": "8443"}, "https://testserver:8443/v1"),
        ({"X-Forwarded-Host": "lb:80"}, "http://lb/v1"),
        ({"X-Forwarded-Prefix": "inspector/"}, "http://testserver/inspector/v1"),
    ])
    def test_default_ports_and_prefix_forms(self, tmp_path: Path, headers: dict[str, str],
                                            href: str) -> None:
        with client_for(tmp_path, None) as client:
            versions = client.get("/", headers=headers).json()["versions"]
            assert versions[0]["links"][0]["href"] == href
