"""Every route declares upstream's policy rule; keystone decisions leave as upstream's
401/403 JSON errors (spec 2.3)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from metalscope.auth.base import Identity
from metalscope.auth.keystone import KeystoneAccess
from metalscope.auth.token_cache import TokenCache
from metalscope.errors import AccessDenied
from metalscope.extensions import ExtensionRegistry
from metalscope.policy import RULE_NAMES, PolicyEnforcer
from metalscope.settings import Settings, load_settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client
from tests.unit.test_auth_keystone import CountingValidator, tokens

NODE = "9d2b0a3c-2f43-4b8e-9d43-6a2f8bb4e1f5"
RULE = "3b6c8e12-7f9e-4c1e-8a41-5a0c2f1d9e77"

#: (method, path, rule, public) for every route of the API.
ROUTES = [
    ("GET", "/", "introspection", True),
    ("GET", "/v1", "introspection:version", True),
    ("GET", "/v2", "introspection:version", True),
    ("POST", "/v1/continue", "introspection:continue", True),
    ("GET", "/v1/introspection", "introspection:status", False),
    ("GET", f"/v1/introspection/{NODE}", "introspection:status", False),
    ("POST", f"/v1/introspection/{NODE}", "introspection:start", False),
    ("POST", f"/v1/introspection/{NODE}/abort", "introspection:abort", False),
    ("GET", f"/v1/introspection/{NODE}/data", "introspection:data", False),
    ("GET", f"/v1/introspection/{NODE}/data/unprocessed", "introspection:data", False),
    ("POST", f"/v1/introspection/{NODE}/data/unprocessed", "introspection:reapply", False),
    ("GET", f"/v1/introspection/{NODE}/history", "introspection:history", False),
    ("GET", f"/v1/introspection/{NODE}/history/1", "introspection:history", False),
    ("GET", f"/v1/introspection/{NODE}/history/1/unprocessed", "introspection:history", False),
    ("GET", f"/v1/introspection/{NODE}/diff", "introspection:history", False),
    ("GET", "/v1/rules", "introspection:rule:get", False),
    ("GET", f"/v1/rules/{RULE}", "introspection:rule:get", False),
    ("POST", "/v1/rules", "introspection:rule:create", False),
    ("POST", f"/v1/rules/{RULE}", "introspection:rule:create", False),
    ("DELETE", "/v1/rules", "introspection:rule:delete", False),
    ("GET", "/metrics", "metrics:get", False),
    ("DELETE", f"/v1/rules/{RULE}", "introspection:rule:delete", False),
]
#: HEAD runs the GET handler: the same rule.
ROUTES += [("HEAD", path, rule, public) for method, path, rule, public in ROUTES if method == "GET"]


class RefuseAll:
    """Records the rule each request is checked against, then refuses it."""

    challenge = None

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity | None:
        self.seen.append((rule, public))
        raise AccessDenied()

    async def aclose(self) -> None:
        return None


@pytest.fixture
def refusing(settings: Settings, fake_ironic: FakeIronic) -> Iterator[tuple[TestClient, RefuseAll]]:
    access = RefuseAll()
    with make_client(settings, fake_ironic, ExtensionRegistry()) as client:
        client.app.state.services.auth = access
        yield client, access


@pytest.fixture
def keystone_client(settings: Settings, fake_ironic: FakeIronic,
                    tmp_path: Path) -> Iterator[tuple[TestClient, CountingValidator]]:
    validator = CountingValidator(tokens())
    policy = load_settings(overrides={"oslo_policy": {"policy_file": str(tmp_path / "none")}})
    access = KeystoneAccess(validator, PolicyEnforcer(policy), TokenCache(300),
                            'Keystone uri="http://keystone.test/identity"')
    with make_client(settings, fake_ironic, ExtensionRegistry()) as client:
        client.app.state.services.auth = access
        yield client, validator


def test_every_route_names_its_rule(refusing: tuple[TestClient, RefuseAll]) -> None:
    """Each route is checked against upstream's rule, before its body or node is looked at."""
    client, access = refusing
    for method, path, rule, public in ROUTES:
        access.seen.clear()
        response = client.request(method, path, content=b"not json")
        assert response.status_code == 403, (method, path)
        if method != "HEAD":
            assert error_of(response) == "Access denied by policy"
        assert access.seen == [(rule, public)], (method, path)
    assert {rule for _m, _p, rule, _pub in ROUTES} == RULE_NAMES


def test_every_openapi_operation_is_covered(refusing: tuple[TestClient, RefuseAll]) -> None:
    """No route escapes the table above (a new route must name its rule)."""
    client, _access = refusing
    spec = client.get("/openapi.json").json()
    # The fleet pages answer HTML and check their rule themselves (test_ui_access.py).
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if not path.startswith("/ui")}
    assert len(operations) == len({(m, p) for m, p, _r, _pub in ROUTES if p != "/v2"})


class TestKeystoneAnswers:
    def test_public_routes_without_token(
            self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        client, validator = keystone_client
        assert client.get("/").status_code == 200
        assert client.get("/v1").status_code == 200
        response = client.post("/v1/continue", json={})
        assert response.status_code == 400  # reached the handler: its own validation
        assert validator.calls == 0

    def test_no_or_invalid_token(
            self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        """401 JSON with keystonemiddleware's WWW-Authenticate header."""
        client, _validator = keystone_client
        for headers in ({}, {"X-Auth-Token": "forged"}):
            response = client.get("/v1/introspection", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": {"message": "Authentication required"}}
            assert response.headers["www-authenticate"] == 'Keystone uri="http://keystone.test/identity"'
            assert "x-openstack-ironic-inspector-api-maximum-version" in response.headers

    @pytest.mark.parametrize("token", ["caf\u00e9", "x" * 9000, "a b\x7f"])
    def test_implausible_token(self, keystone_client: tuple[TestClient, CountingValidator],
                               token: str) -> None:
        """Tokens that cannot be Keystone's are a 401 without a question to Keystone."""
        client, validator = keystone_client
        response = client.get("/v1/introspection",
                              headers={"X-Auth-Token": token.encode("latin-1")})
        assert response.status_code == 401 and error_of(response) == "Authentication required"
        assert validator.calls == 0

    def test_reader(self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        client, _validator = keystone_client
        reader = {"X-Auth-Token": "reader"}
        assert client.get("/v1/introspection", headers=reader).status_code == 200
        for method, path in (("POST", f"/v1/introspection/{NODE}"), ("GET", "/v1/rules"),
                             ("POST", "/v1/rules"), ("DELETE", "/v1/rules")):
            response = client.request(method, path, headers=reader, json={})
            assert response.status_code == 403, (method, path)
            assert response.json() == {"error": {"message": "Access denied by policy"}}

    def test_history_is_admin_only(
            self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        """``introspection:history`` defaults to ``introspection:data``'s rule."""
        client, _validator = keystone_client
        for token, status in (("reader", 403), ("admin", 404)):
            response = client.get(f"/v1/introspection/{NODE}/history",
                                  headers={"X-Auth-Token": token})
            assert response.status_code == status, token

    def test_admin(self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        client, validator = keystone_client
        admin = {"X-Auth-Token": "admin"}
        assert client.get("/v1/introspection", headers=admin).status_code == 200
        assert client.get("/v1/rules", headers=admin).status_code == 200
        assert client.get(f"/v1/introspection/{NODE}", headers=admin).status_code == 404
        assert validator.calls == 1

    def test_keystone_down(self, keystone_client: tuple[TestClient, CountingValidator]) -> None:
        client, validator = keystone_client
        validator.down = True
        response = client.get("/v1/introspection", headers={"X-Auth-Token": "admin"})
        assert response.status_code == 503
        assert response.json() == {
            "error": {"message": "The Keystone service is temporarily unavailable."}}
        assert client.get("/", headers={"X-Auth-Token": "admin"}).status_code == 200
