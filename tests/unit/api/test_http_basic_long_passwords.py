"""http_basic with passwords bcrypt 5 cannot check: over 72 bytes, or a malformed stored
hash. Upstream's answer for bad credentials (401 ``Authentication required``, JSON, no
``WWW-Authenticate``), never a 500."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from starlette.testclient import TestClient

from metalscope.auth import HttpBasicAuth, load_htpasswd
from metalscope.auth.http_basic import password_matches
from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client

LONG = "p" * 100
FIRST_72 = LONG[:72]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    """``long``: a hash of a long password's first 72 bytes, as truncating tools made it;
    ``broken``: a bcrypt prefix with a hash bcrypt cannot read."""
    path = tmp_path / "htpasswd"
    digest = bcrypt.hashpw(FIRST_72.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"long:{digest}\nbroken:$2y$05$not-a-bcrypt-hash\n")
    return path


@pytest.fixture
def client(settings: Settings, fake_ironic: FakeIronic, htpasswd: Path) -> Iterator[TestClient]:
    client = make_client(settings, fake_ironic, ExtensionRegistry())
    with client:
        client.app.state.services.auth = HttpBasicAuth(load_htpasswd(str(htpasswd)))
        yield client


def test_bcrypt_5_refuses_long_passwords() -> None:
    """The reason for all this: bcrypt 5 raises instead of truncating."""
    assert int(bcrypt.__version__.split(".")[0]) >= 5
    with pytest.raises(ValueError):
        bcrypt.checkpw(LONG.encode(), bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=4)))


@pytest.mark.parametrize("password", [LONG, "é" * 37])  # 100 bytes; 74 bytes in 37 characters
def test_long_password_is_401(client: TestClient, password: str,
                              caplog: pytest.LogCaptureFixture) -> None:
    """Over 72 bytes (counted in UTF-8): 401 in upstream's shape, and a warning."""
    with caplog.at_level(logging.WARNING, logger="metalscope.auth.http_basic"):
        response = client.get("/v1/introspection", headers=basic("long", password))
    assert response.status_code == 401
    assert error_of(response) == "Authentication required"
    assert "www-authenticate" not in response.headers
    assert "longer than the 72 bytes bcrypt can check" in caplog.text
    assert password not in caplog.text


def test_72_bytes_still_work(client: TestClient) -> None:
    """The longest password bcrypt checks is accepted."""
    assert client.get("/v1/introspection", headers=basic("long", FIRST_72)).status_code == 200


def test_unreadable_stored_hash_is_401(client: TestClient,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """A stored hash bcrypt cannot read fails that user's logins (401), logged; others
    and the service go on."""
    with caplog.at_level(logging.WARNING, logger="metalscope.auth.http_basic"):
        response = client.get("/v1/rules", headers=basic("broken", "secret"))
    assert response.status_code == 401 and error_of(response) == "Authentication required"
    assert "bcrypt cannot check the stored hash" in caplog.text
    assert client.get("/v1/rules", headers=basic("long", FIRST_72)).status_code == 200


def test_password_matches() -> None:
    """The check alone: True, False on a wrong or too long password or a broken hash."""
    digest = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4))
    assert password_matches("u", b"secret", digest) is True
    assert password_matches("u", b"wrong", digest) is False
    assert password_matches("u", b"s" * 73, digest) is False
    assert password_matches("u", b"secret", b"$2b$04$short") is False
