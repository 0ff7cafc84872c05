"""oslo.middleware's health check: backends, answers by method and Accept, who is answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.api.middleware.healthcheck import (
    HealthcheckConfig,
    HealthcheckMiddleware,
    health_response,
    negotiate,
    parse_ranges,
)
from metalscope.api.middleware.healthcheck_backends import (
    DisableByFile,
    DisableByFilesPorts,
    EnableByFiles,
    HealthcheckResult,
    create_backends,
    parse_port_paths,
)
from metalscope.auth import HttpBasicAuth
from metalscope.errors import ConfigurationError
from metalscope.settings import load_settings
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client
from tests.unit.api.middleware.asgi import Answer, Inner, call, http_scope


def section(**options: Any) -> Any:
    return load_settings(overrides={"healthcheck": {"enabled": True, **options}}).healthcheck


class TestNegotiate:
    @pytest.mark.parametrize("accept,media", [
        (None, "text/plain"), ("", "text/plain"), ("*/*", "text/plain"),
        ("application/json", "application/json"), ("text/html", "text/html"),
        ("application/json, text/html", "text/html"),  # equal q: offer order decides
        ("text/html;q=0.5, application/json", "application/json"),
        ("text/*", "text/plain"), ("application/*", "application/json"),
        ("text/html;q=0.5, */*", "text/plain"),  # the most specific range gives the q
        ("image/png", "text/plain"), ("application/json;q=0", "text/plain"),
        ("garbage", "text/plain"), ("application/json;q=x", "text/plain"),
        ("APPLICATION/JSON", "application/json"),
    ])
    def test_oslo_choices(self, accept: str | None, media: str) -> None:
        assert negotiate(accept) == media


class TestBackends:
    def test_disable_by_file(self, tmp_path: Path) -> None:
        flag = tmp_path / "down"
        backend = DisableByFile(str(flag))
        assert backend.check(5050) == HealthcheckResult(True, "OK", f"Path '{flag}' was not found")
        flag.touch()
        assert backend.check(5050) == HealthcheckResult(False, "DISABLED BY FILE",
                                                        f"Path '{flag}' was found")

    def test_disable_by_file_without_path(self) -> None:
        assert DisableByFile(None).check(1) == HealthcheckResult(
            True, "OK", "No 'disable_by_file_path' configuration value specified")

    def test_disable_by_files_ports(self, tmp_path: Path) -> None:
        (tmp_path / "5050").touch()
        backend = DisableByFilesPorts(parse_port_paths([f"5050:{tmp_path / '5050'}",
                                                        f" 6060:{tmp_path / '6060'}", ""]))
        assert backend.check(5050) == HealthcheckResult(False, "DISABLED BY FILE")
        assert backend.check(6060) == HealthcheckResult(True, "OK")
        assert backend.check(7070) == HealthcheckResult(True, "OK")
        assert backend.check(None) == HealthcheckResult(True, "OK")

    @pytest.mark.parametrize("entry", ["/no/port", "http:/x", ":/x"])
    def test_port_paths_refused(self, entry: str) -> None:
        with pytest.raises(ConfigurationError, match="port:path"):
            parse_port_paths([entry])

    def test_enable_by_files(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a", tmp_path / "b"
        first.touch()
        backend = EnableByFiles((str(first), str(second)))
        assert backend.check(1) == HealthcheckResult(False, "FILE PATH MISSING",
                                                     f"File path {second} is missing")
        second.touch()
        assert backend.check(1) == HealthcheckResult(True, "OK",
                                                     "Specified file paths are available")

    def test_created_in_order_unknown_ignored(self, caplog: pytest.LogCaptureFixture) -> None:
        backends = create_backends(section(backends=["enable_by_files", "nope",
                                                     "disable_by_files_ports"]))
        assert [type(b) for b in backends] == [EnableByFiles, DisableByFilesPorts]
        assert "unknown backend nope" in caplog.text

    def test_exclusive_pair(self) -> None:
        with pytest.raises(ConfigurationError, match="cannot be enabled at the same time"):
            create_backends(section(backends=["disable_by_file", "enable_by_files"]))

    def test_bad_source_range(self) -> None:
        with pytest.raises(ConfigurationError, match="allowed_source_ranges"):
            parse_ranges(["10.0.0.0/33"])


def config_with(tmp_path: Path, down: bool = False, **options: Any) -> HealthcheckConfig:
    flag = tmp_path / "down"
    if down:
        flag.touch()
    return HealthcheckConfig.from_settings(section(
        backends=["disable_by_file"], disable_by_file_path=str(flag), **options))


class TestAnswers:
    def test_healthy_plain(self, tmp_path: Path) -> None:
        response = health_response(config_with(tmp_path), "GET", None, 5050)
        assert (response.status_code, response.body) == (200, b"OK")
        assert response.headers["content-type"] == "text/plain; charset=UTF-8"

    def test_disabled_json(self, tmp_path: Path) -> None:
        response = health_response(config_with(tmp_path, down=True), "GET", "application/json",
                                   5050)
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert response.body == b'{\n    "detailed": false,\n    "reasons": [\n        ' \
                                b'"DISABLED BY FILE"\n    ]\n}'

    def test_no_backends(self, tmp_path: Path) -> None:
        config = HealthcheckConfig.from_settings(section())
        assert health_response(config, "GET", None, 1).body == b""
        assert health_response(config, "GET", "application/json", 1).body == \
            b'{\n    "detailed": false,\n    "reasons": []\n}'

    @pytest.mark.parametrize("down,status,headers", [
        (False, 204, {}),
        (True, 503, {"content-type": "text/plain; charset=UTF-8", "content-length": "0"})])
    def test_head(self, tmp_path: Path, down: bool, status: int,
                  headers: dict[str, str]) -> None:
        response = health_response(config_with(tmp_path, down), "HEAD", "application/json", 1)
        assert (response.status_code, response.body) == (status, b"")
        assert dict(response.headers) == headers

    def test_detailed_json(self, tmp_path: Path) -> None:
        response = health_response(config_with(tmp_path, down=True, detailed=True), "GET",
                                   "application/json", 1)
        body = json.loads(response.body)
        assert set(body) == {"detailed", "gc", "greenthreads", "now", "platform",
                             "python_version", "reasons", "threads"}
        assert body["detailed"] is True and body["greenthreads"] == []
        assert body["reasons"] == [{"class": "HealthcheckResult", "reason": "DISABLED BY FILE",
                                    "details": f"Path '{tmp_path / 'down'}' was found"}]
        assert any("health_response" in stack for stack in body["threads"])
        assert len(body["gc"]["counts"]) == 3

    def test_detailed_html(self, tmp_path: Path) -> None:
        response = health_response(config_with(tmp_path, detailed=True), "GET", "text/html", 1)
        page = response.body.decode()
        assert response.headers["content-type"] == "text/html; charset=UTF-8"
        assert "<H1>Server status</H1>" in page and "<TD>HealthcheckResult</TD>" in page
        assert "&#39;" in page and "thread(s) active:" in page

    def test_plain_html(self, tmp_path: Path) -> None:
        page = health_response(config_with(tmp_path), "GET", "text/html", 1).body.decode()
        assert page.startswith("<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n"
                               "<BODY>\n\n<H2>Result of 1 checks:</H2>")
        assert "\n    <TD>OK</TD>\n" in page and "Server status" not in page


class TestWhoIsAnswered:
    async def ask(self, config: HealthcheckConfig, **scope: Any) -> Answer:
        return await call(HealthcheckMiddleware(Inner(), config), http_scope(**scope))

    async def test_other_paths_pass(self, tmp_path: Path) -> None:
        config = config_with(tmp_path)
        for path in ("/", "/healthcheck/", "/healthcheckx", "/v1/healthcheck"):
            assert (await self.ask(config, path=path)).body == b"inner"
        assert (await self.ask(config, path="/healthcheck")).body == b"OK"

    async def test_own_path(self, tmp_path: Path) -> None:
        config = config_with(tmp_path, path="/status/health")
        assert (await self.ask(config, path="/healthcheck")).body == b"inner"
        assert (await self.ask(config, path="/status/health")).body == b"OK"

    async def test_any_method(self, tmp_path: Path) -> None:
        """oslo.middleware answers every method; only HEAD is special."""
        answer = await self.ask(config_with(tmp_path), path="/healthcheck", method="POST")
        assert (answer.status, answer.body) == (200, b"OK")

    async def test_serving_port_selects_the_file(self, tmp_path: Path) -> None:
        (tmp_path / "public").touch()
        config = HealthcheckConfig.from_settings(section(
            backends=["disable_by_files_ports"],
            disable_by_file_paths=[f"5050:{tmp_path / 'public'}", f"5051:{tmp_path / 'admin'}"]))
        assert (await self.ask(config, path="/healthcheck", server=("h", 5050))).status == 503
        assert (await self.ask(config, path="/healthcheck", server=("h", 5051))).status == 200

    @pytest.mark.parametrize("client,answered", [
        (("10.1.2.3", 1), True), (("192.0.2.1", 1), False), (("::1", 1), True),
        (("2001:db8::1", 1), False), (None, False), (("not-an-ip", 1), False)])
    async def test_source_ranges(self, tmp_path: Path, client: Any, answered: bool) -> None:
        config = config_with(tmp_path, allowed_source_ranges=["10.0.0.0/8", "::1/128"])
        answer = await self.ask(config, path="/healthcheck", client=client)
        assert (answer.body == b"OK") is answered

    @pytest.mark.parametrize("header,answered", [
        ("X-Forwarded-For", False), ("X-Forwarded-Proto", False), ("X-Forwarded-Host", False),
        ("X-Forwarded-Prefix", False), ("X-Forwarded", False), ("X-Forwarded-Port", True)])
    async def test_proxied_requests(self, tmp_path: Path, header: str, answered: bool) -> None:
        config = config_with(tmp_path, ignore_proxied_requests=True)
        answer = await self.ask(config, path="/healthcheck", headers={header: "x"})
        assert (answer.body == b"OK") is answered
        empty = await self.ask(config, path="/healthcheck", headers={header: ""})
        assert empty.body == b"OK"


@pytest.fixture
def health_client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    settings = load_settings(overrides={"database": {"connection": url},
                                        "healthcheck": {"enabled": True}})
    with make_client(settings, FakeIronic()) as client:
        client.app.state.services.auth = HttpBasicAuth({})  # type: ignore[attr-defined]
        yield client


class TestInTheApp:
    def test_before_auth_and_versions(self, health_client: TestClient) -> None:
        response = health_client.get("/healthcheck", headers={
            "X-OpenStack-Ironic-Inspector-API-Version": "9.9", "Authorization": "Basic !"})
        assert response.status_code == 200
        assert "X-OpenStack-Ironic-Inspector-API-Maximum-Version" not in response.headers
        assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
        assert health_client.head("/healthcheck").status_code == 204
        assert health_client.get("/v1/introspection").status_code == 401

    def test_disabled_is_an_unknown_version(self, client: TestClient) -> None:
        response = client.get("/healthcheck")
        assert response.status_code == 404
        assert response.json() == {"error": {"message": "Version healthcheck not found."}}
        assert response.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"
