"""CORS as oslo.middleware answers it: simple requests, preflights, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from metalscope.api.middleware.cors import CORSMiddleware, CorsPolicy
from metalscope.settings import load_settings
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client
from tests.unit.api.middleware.asgi import Answer, Inner, call, http_scope

DASHBOARD = "https://dashboard.example.org"
POLICY = CorsPolicy(frozenset({DASHBOARD}), True, ("X-OpenStack-Request-Id",), 3600,
                    ("GET", "POST", "PUT", "HEAD", "PATCH", "DELETE", "OPTIONS"),
                    ("X-Auth-Token", "X-OpenStack-Ironic-Inspector-API-Version"))
PREFLIGHT = {"Origin": DASHBOARD, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "x-auth-token, Content-Type"}
CORS_NAMES = {"vary", "access-control-allow-origin", "access-control-allow-credentials",
              "access-control-max-age", "access-control-allow-methods",
              "access-control-allow-headers", "access-control-expose-headers"}


async def ask(headers: dict[str, str], method: str = "GET", inner: Inner | None = None,
              policy: CorsPolicy = POLICY) -> Answer:
    app = CORSMiddleware(inner or Inner(), policy, keep=("X-Kept",))
    return await call(app, http_scope(method=method, headers=headers))


class TestPreflight:
    async def test_allowed(self) -> None:
        answer = await ask(PREFLIGHT, "OPTIONS", Inner(status=405, headers=[(b"x-kept", b"1")]))
        assert answer.status == 200 and answer.body == b""
        assert dict(answer.headers) == {
            "x-kept": "1", "content-length": "0", "vary": "Origin",
            "access-control-allow-origin": DASHBOARD,
            "access-control-allow-credentials": "true", "access-control-max-age": "3600",
            "access-control-allow-methods": "POST",
            "access-control-allow-headers": "x-auth-token,Content-Type"}

    async def test_2xx_answer_of_the_application_is_kept(self) -> None:
        inner = Inner(status=200, headers=[(b"allow", b"GET, POST")], body=b"")
        answer = await ask(PREFLIGHT, "OPTIONS", inner)
        assert answer.header("allow") == "GET, POST"
        assert answer.header("access-control-allow-methods") == "POST"

    @pytest.mark.parametrize("change", [
        {"Origin": "https://evil.example.org"},
        {"Origin": DASHBOARD.upper()},  # origins compare as sent
        {"Access-Control-Request-Method": "TRACE"},
        {"Access-Control-Request-Method": "post"},  # methods too
        {"Access-Control-Request-Headers": "X-Auth-Token, X-Secret"},
    ])
    async def test_refused_gets_an_empty_200_without_cors_headers(
            self, change: dict[str, str]) -> None:
        answer = await ask({**PREFLIGHT, **change}, "OPTIONS", Inner(status=404))
        assert answer.status == 200 and answer.body == b""
        assert not answer.names() & CORS_NAMES

    async def test_without_request_method(self) -> None:
        answer = await ask({"Origin": DASHBOARD}, "OPTIONS", Inner(status=200, body=b""))
        assert not answer.names() & CORS_NAMES

    async def test_header_names_without_case_and_simple_headers(self) -> None:
        answer = await ask({**PREFLIGHT, "Access-Control-Request-Headers":
                            "X-OPENSTACK-IRONIC-INSPECTOR-API-VERSION,accept,pragma"}, "OPTIONS")
        assert answer.header("access-control-allow-headers") == (
            "X-OPENSTACK-IRONIC-INSPECTOR-API-VERSION,accept,pragma")

    async def test_no_credentials_no_max_age(self) -> None:
        policy = CorsPolicy(POLICY.allowed_origins, False, (), 0, ("GET",), ())
        answer = await ask({"Origin": DASHBOARD, "Access-Control-Request-Method": "GET"},
                           "OPTIONS", policy=policy)
        assert answer.header("access-control-allow-origin") == DASHBOARD
        assert answer.header("access-control-allow-credentials") is None
        assert answer.header("access-control-max-age") is None
        assert answer.header("access-control-allow-headers") is None


class TestSimpleRequests:
    async def test_allowed(self) -> None:
        answer = await ask({"Origin": DASHBOARD}, inner=Inner(status=404))
        assert answer.status == 404 and answer.body == b"inner"
        assert answer.header("access-control-allow-origin") == DASHBOARD
        assert answer.header("vary") == "Origin"
        assert answer.header("access-control-allow-credentials") == "true"
        assert answer.header("access-control-expose-headers") == "X-OpenStack-Request-Id"
        assert answer.header("access-control-allow-methods") is None

    async def test_vary_is_extended(self) -> None:
        answer = await ask({"Origin": DASHBOARD},
                           inner=Inner(headers=[(b"vary", b"Accept-Encoding")]))
        assert answer.header("vary") == "Accept-Encoding,Origin"

    @pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example.org"}])
    async def test_other_origins_untouched(self, headers: dict[str, str]) -> None:
        answer = await ask(headers)
        assert not answer.names() & CORS_NAMES and answer.body == b"inner"

    async def test_existing_cors_answer_untouched(self) -> None:
        inner = Inner(status=404, headers=[(b"access-control-allow-origin", b"https://x")])
        answer = await ask(PREFLIGHT, "OPTIONS", inner)
        assert answer.status == 404 and answer.body == b"inner"
        assert answer.header("access-control-allow-origin") == "https://x"
        assert answer.header("vary") is None


class TestWildcard:
    async def test_any_origin_gets_a_star(self) -> None:
        policy = CorsPolicy(frozenset({"*"}), True, (), 3600, ("GET",), ())
        answer = await ask({"Origin": "https://anyone.example"}, policy=policy)
        assert answer.header("access-control-allow-origin") == "*"

    async def test_listed_origin_is_named(self) -> None:
        policy = CorsPolicy(frozenset({"*", DASHBOARD}), True, (), 3600, ("GET",), ())
        assert (await ask({"Origin": DASHBOARD}, policy=policy)).header(
            "access-control-allow-origin") == DASHBOARD


@pytest.fixture
def cors_client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    settings = load_settings(overrides={"database": {"connection": url},
                                        "cors": {"allowed_origin": [DASHBOARD]}})
    with make_client(settings, FakeIronic()) as client:
        yield client


class TestInTheApp:
    def test_upstream_defaults_let_the_inspector_headers_through(self,
                                                                 cors_client: TestClient) -> None:
        response = cors_client.options("/v1/introspection", headers={
            "Origin": DASHBOARD, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers":
                "X-Auth-Token,X-OpenStack-Ironic-Inspector-API-Version"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == DASHBOARD
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert response.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"

    def test_refused_preflight_of_an_unknown_url_keeps_version_headers(
            self, cors_client: TestClient) -> None:
        response = cors_client.options("/v1/none/such", headers=PREFLIGHT)
        assert response.status_code == 200 and response.content == b""
        assert response.headers["X-OpenStack-Ironic-Inspector-API-Minimum-Version"] == "1.0"
        assert response.headers["X-OpenStack-Request-Id"].startswith("req-")

    def test_inactive_without_allowed_origin(self, client: TestClient) -> None:
        response = client.get("/", headers={"Origin": DASHBOARD})
        assert "access-control-allow-origin" not in response.headers
        assert client.options("/v1/none/such", headers=PREFLIGHT).status_code == 404
