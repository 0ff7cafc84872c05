"""http_basic authentication (spec 2.3): public routes stay public, others need a user."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from starlette.testclient import TestClient

from metalscope.auth import HttpBasicAuth, load_htpasswd, parse_basic
from metalscope.errors import ConfigurationError, InvalidRequest
from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    digest = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"# users\nadmin:{digest}\n")
    return path


@pytest.fixture
def basic_client(settings: Settings, fake_ironic: FakeIronic,
                 htpasswd: Path) -> Iterator[TestClient]:
    client = make_client(settings, fake_ironic, ExtensionRegistry())
    with client:
        client.app.state.services.auth = HttpBasicAuth(load_htpasswd(str(htpasswd)))
        yield client


class TestHtpasswd:
    def test_only_bcrypt(self, tmp_path: Path) -> None:
        """A non-bcrypt hash makes the file invalid, naming the user."""
        path = tmp_path / "htpasswd"
        path.write_text("bob:{SHA}abcdef\n")
        with pytest.raises(ConfigurationError,
                           match="Only bcrypt digested passwords are supported for bob"):
            load_htpasswd(str(path))

    def test_unreadable(self, tmp_path: Path) -> None:
        """A missing file prevents start-up with the upstream message."""
        with pytest.raises(ConfigurationError, match="Problem reading auth user file"):
            load_htpasswd(str(tmp_path / "nope"))

    @pytest.mark.parametrize("header,message", [
        ("Basic", "Could not parse Authorization header"),
        ("Bearer abc", 'Unsupported authorization type "Bearer"'),
        ("Basic !!!", "Could not decode authorization token"),
        ("Basic " + base64.b64encode(b"nocolon").decode(), "Could not decode authorization token"),
    ])
    def test_malformed_headers(self, header: str, message: str) -> None:
        """Malformed headers are refused with a reason."""
        with pytest.raises(InvalidRequest, match=message):
            parse_basic(header)


class TestRoutes:
    def test_public_routes(self, basic_client: TestClient) -> None:
        """/ and /v1 answer without credentials; continue is reachable (its own 400)."""
        assert basic_client.get("/").status_code == 200
        assert basic_client.get("/v1").status_code == 200
        assert basic_client.post("/v1/continue", json={}).status_code == 400

    def test_protected_routes(self, basic_client: TestClient) -> None:
        """Other routes need credentials: 401 JSON without, 200 with the right ones."""
        for headers in ({}, basic("admin", "wrong"), basic("nobody", "secret")):
            response = basic_client.get("/v1/introspection", headers=headers)
            assert response.status_code == 401 and error_of(response) == "Authentication required"
            assert "www-authenticate" not in response.headers
        response = basic_client.get("/v1/introspection", headers=basic("admin", "secret"))
        assert response.status_code == 200
        assert basic_client.get("/v1/rules", headers=basic("admin", "secret")).status_code == 200
        assert basic_client.get("/v1/rules").status_code == 401

    def test_malformed_header_is_json_400(self, basic_client: TestClient) -> None:
        """A malformed header gets a JSON 400 (upstream: empty body)."""
        response = basic_client.get("/v1/introspection", headers={"Authorization": "Bearer x"})
        assert response.status_code == 400
        assert error_of(response) == 'Unsupported authorization type "Bearer"'
