"""``GET /metrics`` on the API's listener: Prometheus text, the auth strategy's access rule,
404 when disabled or served on a separate port; the separate listener's own application."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from metalscope.api.metrics import MetricsApp
from metalscope.auth import HttpBasicAuth, load_htpasswd
from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_scrape_counts_what_happened(client: TestClient, fake_ironic: FakeIronic) -> None:
    """A start and an abort show in the counters and the state gauge (read from the
    database); Ironic's requests are counted by call name, never by URL."""
    for index in range(2):
        node = fake_ironic.add_node(macs=[f"52:54:00:00:10:0{index}"])
        assert client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
    assert client.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "X-OpenStack-Request-Id" in response.headers
    values = scraped(response.text)
    assert values[("metalscope_introspections_started_total", ())] == 2
    assert values[("metalscope_introspections_failed_total", (("reason", "aborted"),))] == 1
    assert values[("metalscope_introspections", (("state", "waiting"),))] == 1
    assert values[("metalscope_introspections", (("state", "error"),))] == 1


def test_head_has_no_body(client: TestClient) -> None:
    response = client.head("/metrics")
    assert response.status_code == 200 and response.content == b""


def test_openmetrics_when_asked(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


@pytest.mark.parametrize("metrics,message", [
    ({"enabled": False}, "Metrics are disabled ([metrics]enabled)"),
    ({"port": "separate"}, "Metrics are not served here"),
])
def test_not_served_on_the_api(settings: Settings, fake_ironic: FakeIronic,
                               metrics: dict[str, object], message: str) -> None:
    """Disabled, or on a separate port: 404 on the API's listener (the separate listener
    is the lifespan's, replaced here by a test of MetricsApp itself)."""
    section = settings.metrics.__class__
    port = free_port() if "port" in metrics else 0
    changed = settings.replace(metrics=section(enabled=bool(metrics.get("enabled", True)),
                                               port=port, host="127.0.0.1"))
    with make_client(changed, fake_ironic, ExtensionRegistry()) as client:
        response = client.get("/metrics")
        assert response.status_code == 404 and error_of(response) == message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_separate_listener(settings: Settings, fake_ironic: FakeIronic) -> None:
    """``[metrics]port``: the lifespan serves the metrics there, without authentication,
    while the API's listener answers 404; the listener stops with the application."""
    port = free_port()
    changed = settings.replace(metrics=settings.metrics.__class__(
        enabled=True, port=port, host="127.0.0.1"))
    with make_client(changed, fake_ironic, ExtensionRegistry()) as client:
        client.app.state.services.auth = HttpBasicAuth({})  # no user could pass
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200
        assert ("metalscope_introspections", (("state", "waiting"),)) in scraped(response.text)
        assert httpx.get(f"http://127.0.0.1:{port}/other", timeout=10).status_code == 404
        assert httpx.post(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 405
        assert client.get("/metrics").status_code == 401
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_metrics_app_paths(client: TestClient) -> None:
    app = MetricsApp(client.app.state.services)
    direct = TestClient(app)  # no lifespan: the listener runs it with lifespan "off"
    assert direct.get("/metrics").status_code == 200
    assert direct.get("/metrics/").status_code == 200
    assert direct.head("/metrics").content == b""
    assert direct.get("/").status_code == 404
    response = direct.delete("/metrics")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


@pytest.fixture
def basic_client(settings: Settings, fake_ironic: FakeIronic,
                 tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "htpasswd"
    path.write_text(f"prom:{bcrypt.hashpw(b'scrape', bcrypt.gensalt(rounds=4)).decode()}\n")
    with make_client(settings, fake_ironic, ExtensionRegistry()) as client:
        client.app.state.services.auth = HttpBasicAuth(load_htpasswd(str(path)))
        yield client


def test_http_basic_access_rule(basic_client: TestClient) -> None:
    """http_basic: /metrics needs a user (401 without one or with a wrong password), as
    every non-public route does."""
    assert basic_client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"prom:nope").decode()}
    assert basic_client.get("/metrics", headers=wrong).status_code == 401
    right = {"Authorization": "Basic " + base64.b64encode(b"prom:scrape").decode()}
    response = basic_client.get("/metrics", headers=right)
    assert response.status_code == 200
    assert ("metalscope_introspections_started_total", ()) in scraped(response.text)
