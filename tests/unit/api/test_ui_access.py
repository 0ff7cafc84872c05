"""Who may see the fleet pages: the rule of ``GET /v1/introspection`` under each
auth_strategy; errors are HTML pages; keystone's login form, cookie and logout."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from pathlib import Path

import bcrypt
import pytest
from starlette.testclient import TestClient

from metalscope.auth import HttpBasicAuth, Identity, KeystoneAccess, load_htpasswd
from metalscope.auth.token_cache import TokenCache
from metalscope.errors import AccessDenied
from metalscope.policy import PolicyEnforcer
from metalscope.settings import load_settings
from tests.unit.api.test_ui_pages import NODE, make_settings
from tests.unit.test_auth_keystone import CountingValidator, tokens
from tests.unit.ui.fleet_fake import FakeFleetStore, row, summary
from tests.unit.ui.pages import page_client, parse

KEYSTONE = """[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
auth_type = password
auth_url = http://keystone.test/identity
username = inspector
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
[database]
connection = {url}
"""
SAME_SITE = {"Origin": "http://testserver"}


def fleet() -> FakeFleetStore:
    return FakeFleetStore([row(NODE, "rack-1", hardware=summary())])


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Recording:
    """Lets everyone in and records the rule asked for."""

    challenge = None

    def __init__(self) -> None:
        self.rules: list[tuple[str, bool]] = []

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity:
        self.rules.append((rule, public))
        return Identity("someone")

    async def aclose(self) -> None:
        return None


class Refusing(Recording):
    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity:
        raise AccessDenied()


def test_noauth_is_open(tmp_path: Path) -> None:
    with page_client(make_settings(tmp_path), fleet()) as client:
        assert client.get("/ui/").status_code == 200
        assert client.get(f"/ui/nodes/{NODE}").status_code == 200
        # No login page without Keystone.
        assert client.get("/ui/login").status_code == 404
        assert client.post("/ui/logout", headers=SAME_SITE).status_code == 404


def test_rule_is_the_status_rule(tmp_path: Path) -> None:
    access = Recording()
    with page_client(make_settings(tmp_path), fleet(), access) as client:
        client.get("/ui/")
        client.get(f"/ui/nodes/{NODE}")
        client.head("/ui/")
    assert access.rules == [("introspection:status", False)] * 3


@pytest.mark.parametrize("path", ["/ui/", f"/ui/nodes/{NODE}", "/ui/nodes/unknown"])
def test_policy_refusal_is_a_403_page(tmp_path: Path, path: str) -> None:
    """Refused before anything is looked up: an unknown node is a 403 too."""
    with page_client(make_settings(tmp_path), fleet(), Refusing()) as client:
        response = client.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-frame-options"] == "DENY"
    assert "Access denied by policy" in response.text


class TestHttpBasic:
    @pytest.fixture
    def client(self, tmp_path: Path) -> Iterator[TestClient]:
        path = tmp_path / "htpasswd"
        path.write_text(f"admin:{bcrypt.hashpw(b'secret', bcrypt.gensalt(4)).decode()}\n")
        access = HttpBasicAuth(load_htpasswd(str(path)))
        settings = make_settings(tmp_path, DEFAULT={"auth_strategy": "http_basic",
                                                    "http_basic_auth_user_file": str(path)})
        with page_client(settings, fleet(), access) as client:
            yield client

    def test_challenge_makes_the_browser_prompt(self, client: TestClient) -> None:
        response = client.get("/ui/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic realm=")
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert parse(response.text).by_id("login-link") is None

    def test_user_gets_in(self, client: TestClient) -> None:
        assert client.get("/ui/", headers=basic("admin", "secret")).status_code == 200
        assert client.get("/ui/", headers=basic("admin", "wrong")).status_code == 401

    def test_malformed_header_is_a_400_page(self, client: TestClient) -> None:
        response = client.get("/ui/", headers={"Authorization": "Basic ###"})
        assert response.status_code == 400
        assert "text/html" in response.headers["content-type"]

    def test_static_files_need_no_credentials(self, client: TestClient) -> None:
        """The error pages use the stylesheet."""
        assert client.get("/ui/static/ui.css").status_code == 200


class TestKeystone:
    @pytest.fixture
    def validator(self) -> CountingValidator:
        return CountingValidator(tokens())

    def client(self, tmp_path: Path, validator: CountingValidator,
               base_url: str = "http://testserver") -> TestClient:
        policy = load_settings(overrides={"oslo_policy": {"policy_file": str(tmp_path / "no")}})
        access = KeystoneAccess(validator, PolicyEnforcer(policy), TokenCache(300),
                                'Keystone uri="http://keystone.test/identity"')
        url = make_settings(tmp_path).database.connection
        conf = tmp_path / "inspector.conf"
        conf.write_text(KEYSTONE.format(url=url))
        return page_client(load_settings([str(conf)]), fleet(), access, base_url)

    def test_anonymous_gets_a_login_link(self, tmp_path: Path,
                                         validator: CountingValidator) -> None:
        with self.client(tmp_path, validator) as client:
            response = client.get("/ui/")
        assert response.status_code == 401
        assert parse(response.text).by_id("login-link").attrs["href"] == (  # type: ignore[union-attr]
            "/ui/login")

    def test_header_from_a_reverse_proxy(self, tmp_path: Path,
                                         validator: CountingValidator) -> None:
        with self.client(tmp_path, validator) as client:
            assert client.get("/ui/", headers={"X-Auth-Token": "admin"}).status_code == 200
            assert client.get("/ui/", headers={"X-Auth-Token": "nobody"}).status_code == 403
            assert client.get("/ui/", headers={"X-Auth-Token": "forged"}).status_code == 401

    def test_login_sets_the_cookie_then_logout(self, tmp_path: Path,
                                               validator: CountingValidator) -> None:
        with self.client(tmp_path, validator) as client:
            form = client.get("/ui/login")
            assert form.status_code == 200
            assert parse(form.text).by_id("token") is not None
            response = client.post("/ui/login", data={"token": "reader"}, headers=SAME_SITE)
            assert response.status_code == 303
            assert response.headers["location"] == "/ui/"
            cookie = response.headers["set-cookie"]
            assert cookie.startswith("metalscope_ui_token=reader;")
            for attribute in ("HttpOnly", "SameSite=strict", "Path=/ui"):
                assert attribute.lower() in cookie.lower()
            assert "secure" not in cookie.lower()
            page = client.get("/ui/")
            assert page.status_code == 200
            assert parse(page.text).by_id("logout") is not None
            out = client.post("/ui/logout", headers={"Referer": "http://testserver/ui/"})
            assert out.status_code == 303 and out.headers["location"] == "/ui/login"
            assert 'metalscope_ui_token=""' in out.headers["set-cookie"]
            assert client.get("/ui/").status_code == 401

    def test_secure_cookie_over_https(self, tmp_path: Path,
                                      validator: CountingValidator) -> None:
        with self.client(tmp_path, validator, "https://testserver") as client:
            response = client.post("/ui/login", data={"token": "admin"},
                                   headers={"Origin": "https://testserver"})
        assert "secure" in response.headers["set-cookie"].lower()

    def test_bad_token_is_refused_without_cookie(self, tmp_path: Path,
                                                 validator: CountingValidator) -> None:
        with self.client(tmp_path, validator) as client:
            response = client.post("/ui/login", data={"token": "forged"}, headers=SAME_SITE)
            assert response.status_code == 401
            assert "set-cookie" not in response.headers
            assert parse(response.text).by_id("login-error") is not None
            refused = client.post("/ui/login", data={"token": "nobody"}, headers=SAME_SITE)
            assert refused.status_code == 403 and "set-cookie" not in refused.headers

    @pytest.mark.parametrize("headers", [
        {}, {"Origin": "http://evil.test"}, {"Origin": "null"},
        {"Referer": "http://evil.test/ui/"}, {"Origin": "https://testserver"}])
    def test_cross_site_posts_are_refused(self, tmp_path: Path, validator: CountingValidator,
                                          headers: dict[str, str]) -> None:
        with self.client(tmp_path, validator) as client:
            response = client.post("/ui/login", data={"token": "admin"}, headers=headers)
            assert response.status_code == 403
            assert "set-cookie" not in response.headers
            assert client.post("/ui/logout", headers=headers).status_code == 403
        assert validator.calls == 0

    @pytest.mark.parametrize("body", [b"", b"token=", b"token=a&token=b", b"\xff",
                                      b"token=" + b"x" * 20000])
    def test_bad_forms_are_400(self, tmp_path: Path, validator: CountingValidator,
                               body: bytes) -> None:
        with self.client(tmp_path, validator) as client:
            response = client.post("/ui/login", content=body, headers={
                **SAME_SITE, "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400
