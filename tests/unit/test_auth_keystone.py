"""keystone access control: token documents, validation against a stand-in Keystone (httpx
MockTransport), the cache in front of it, and the 401/403 decisions (spec 2.3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.auth import create_access_control
from metalscope.auth.base import Identity
from metalscope.auth.keystone import KeystoneAccess
from metalscope.auth.keystone_tokens import (
    ServiceCredentials,
    TokenValidator,
    ValidToken,
    identity_from_token,
    parse_token,
)
from metalscope.auth.token_cache import TokenCache
from metalscope.errors import AccessDenied, ConfigurationError, NotAuthenticated, ServiceUnavailable
from metalscope.policy import PolicyEnforcer
from metalscope.settings import load_settings


def token_document(roles: list[str], *, system: bool = False, project: str | None = None,
                   expires_in: float = 3600) -> dict[str, Any]:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    token: dict[str, Any] = {
        "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
        "roles": [{"id": f"id-{r}", "name": r} for r in roles],
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "methods": ["password"],
    }
    if system:
        token["system"] = {"all": True}
    if project:
        token["project"] = {"id": project, "name": "demo", "domain": {"id": "default"}}
    return {"token": token}


class TestTokenDocument:
    def test_system_scoped(self) -> None:
        identity = identity_from_token(token_document(["admin", "reader"], system=True))
        assert identity == Identity("alice", ("admin", "reader"), user_id="u1",
                                    user_domain_id="default", system_scope="all")
        assert identity.policy_values()["system_scope"] == "all"

    def test_project_scoped(self) -> None:
        identity = identity_from_token(token_document(["member"], project="p1"))
        assert identity.project_id == "p1" and identity.project_domain_id == "default"
        assert identity.system_scope is None and identity.roles == ("member",)

    def test_domain_scoped(self) -> None:
        document = token_document(["admin"])
        document["token"]["domain"] = {"id": "d1", "name": "D"}
        assert identity_from_token(document).domain_id == "d1"

    def test_expired_or_malformed_is_invalid(self) -> None:
        assert parse_token(token_document(["admin"], expires_in=-1)) is None
        assert parse_token({"token": {"roles": []}}) is None
        assert parse_token({"nothing": 1}) is None
        assert parse_token({"token": {"user": {"id": "u"}, "expires_at": "not a date"}}) is None

    def test_valid(self) -> None:
        valid = parse_token(token_document(["reader"], system=True))
        assert valid is not None and valid.expires_at is not None
        assert valid.identity.user == "alice"


# -- TokenValidator against a stand-in Keystone ----------------------------------------------

class FakeServiceCredentials:
    def __init__(self) -> None:
        self.tokens = iter(f"service-{i}" for i in range(100))
        self.current = next(self.tokens)
        self.invalidations = 0
        self.auth_url = "http://keystone.test/identity"

    async def endpoint(self) -> str:
        return "http://keystone.test/identity/v3"

    async def token(self) -> str:
        return self.current

    async def invalidate(self) -> None:
        self.invalidations += 1
        self.current = next(self.tokens)


class StandInKeystone:
    """Answers ``GET /v3/auth/tokens`` from a table of subject tokens."""

    def __init__(self) -> None:
        self.valid: dict[str, dict[str, Any]] = {}
        self.accepted_service_tokens = {"service-0"}
        self.requests: list[httpx.Request] = []
        self.status: int | None = None
        self.fail_connections = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_connections:
            self.fail_connections -= 1
            raise httpx.ConnectError("refused", request=request)
        assert request.url.path == "/identity/v3/auth/tokens"
        if self.status is not None:
            return httpx.Response(self.status, text="broken")
        if request.headers["x-auth-token"] not in self.accepted_service_tokens:
            return httpx.Response(401, json={"error": {"code": 401}})
        document = self.valid.get(request.headers["x-subject-token"])
        if document is None:
            return httpx.Response(404, json={"error": {"code": 404}})
        return httpx.Response(200, json=document)


@pytest.fixture
def keystone() -> StandInKeystone:
    return StandInKeystone()


@pytest.fixture
def service() -> FakeServiceCredentials:
    return FakeServiceCredentials()


@pytest.fixture
async def validator(keystone: StandInKeystone, service: FakeServiceCredentials) -> Any:
    http = httpx.AsyncClient(transport=httpx.MockTransport(keystone))
    validator = TokenValidator(service, http, attempts=3, retry_delay=0)  # type: ignore[arg-type]
    yield validator
    await validator.aclose()


class TestValidator:
    async def test_valid_token(self, validator: TokenValidator, keystone: StandInKeystone) -> None:
        """200: the identity; the request carries both tokens and asks for no catalog."""
        keystone.valid["user-token"] = token_document(["admin"], system=True)
        valid = await validator.validate("user-token")
        assert valid is not None and valid.identity.roles == ("admin",)
        request = keystone.requests[0]
        assert request.headers["x-auth-token"] == "service-0"
        assert request.headers["x-subject-token"] == "user-token"
        assert "nocatalog" in request.url.params

    async def test_unknown_token(self, validator: TokenValidator) -> None:
        """404: not a valid token."""
        assert await validator.validate("nope") is None

    async def test_service_token_refreshed_once(self, validator: TokenValidator,
                                                keystone: StandInKeystone,
                                                service: FakeServiceCredentials) -> None:
        """401 means our own token was refused: fetch a new one and ask again, once."""
        keystone.valid["user-token"] = token_document(["reader"], system=True)
        keystone.accepted_service_tokens = {"service-1"}
        assert await validator.validate("user-token") is not None
        assert service.invalidations == 1 and len(keystone.requests) == 2

    async def test_service_token_refused_twice(self, validator: TokenValidator,
                                               keystone: StandInKeystone) -> None:
        keystone.accepted_service_tokens = set()
        with pytest.raises(ServiceUnavailable):
            await validator.validate("user-token")

    @pytest.mark.parametrize("status", [403, 500, 503])
    async def test_keystone_errors(self, validator: TokenValidator, keystone: StandInKeystone,
                                   status: int) -> None:
        """Anything but 200/404 (after a 401 retry) is a 503, not a silent deny or allow."""
        keystone.status = status
        with pytest.raises(ServiceUnavailable, match="temporarily unavailable"):
            await validator.validate("user-token")

    async def test_unreachable_is_retried(self, validator: TokenValidator,
                                          keystone: StandInKeystone) -> None:
        keystone.valid["user-token"] = token_document(["admin"])
        keystone.fail_connections = 2
        assert await validator.validate("user-token") is not None
        keystone.fail_connections = 3
        with pytest.raises(ServiceUnavailable):
            await validator.validate("user-token")


# -- KeystoneAccess: cache + policy ----------------------------------------------------------

class CountingValidator:
    def __init__(self, tokens: dict[str, dict[str, Any]], delay: float = 0) -> None:
        self.tokens = tokens
        self.calls = 0
        self.delay = delay
        self.down = False

    async def validate(self, token: str) -> ValidToken | None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.down:
            raise ServiceUnavailable("The Keystone service is temporarily unavailable.")
        document = self.tokens.get(token)
        return parse_token(document) if document else None

    async def aclose(self) -> None:
        return None


def tokens() -> dict[str, dict[str, Any]]:
    """Token documents by token, built per test (they expire)."""
    return {
        "admin": token_document(["admin", "member", "reader"], system=True),
        "project-admin": token_document(["admin"], project="p1"),
        "service": token_document(["service"], project="service"),
        "reader": token_document(["reader", "member"], system=True),
        "project-reader": token_document(["reader"], project="p1"),
        "nobody": token_document([], project="p1"),
        "short": token_document(["admin"], system=True, expires_in=5),
    }


@pytest.fixture
def counting() -> CountingValidator:
    return CountingValidator(tokens())


@pytest.fixture
def access(tmp_path: Path, counting: CountingValidator) -> KeystoneAccess:
    settings = load_settings(overrides={"oslo_policy": {"policy_file": str(tmp_path / "none")}})
    return KeystoneAccess(counting, PolicyEnforcer(settings), TokenCache(300),
                          'Keystone uri="http://keystone.test"')


def headers(token: str | None) -> dict[str, str]:
    return {"x-auth-token": token} if token else {}


class TestAccess:
    async def test_no_token(self, access: KeystoneAccess) -> None:
        """No token: 401 on protected routes, public routes pass anonymously."""
        with pytest.raises(NotAuthenticated, match="Authentication required"):
            await access.check("introspection:status", headers(None), public=False)
        assert await access.check("introspection:continue", headers(None), public=True) is None

    async def test_invalid_token(self, access: KeystoneAccess) -> None:
        with pytest.raises(NotAuthenticated):
            await access.check("introspection:status", headers("forged"), public=False)
        assert await access.check("introspection", headers("forged"), public=True) is None

    @pytest.mark.parametrize("token,start,status", [
        ("admin", True, True), ("project-admin", True, True), ("service", True, True),
        ("reader", False, True), ("project-reader", False, False), ("nobody", False, False),
    ])
    async def test_roles(self, access: KeystoneAccess, token: str, start: bool,
                         status: bool) -> None:
        """Admin and service may start; a system reader may only read; others get 403."""
        for rule, allowed in (("introspection:start", start), ("introspection:status", status)):
            if allowed:
                identity = await access.check(rule, headers(token), public=False)
                assert identity is not None and identity.user == "alice"
            else:
                with pytest.raises(AccessDenied, match="Access denied by policy"):
                    await access.check(rule, headers(token), public=False)

    async def test_public_route_with_a_valid_token(self, access: KeystoneAccess) -> None:
        identity = await access.check("introspection:continue", headers("nobody"), public=True)
        assert identity is not None

    async def test_cached(self, access: KeystoneAccess, counting: CountingValidator) -> None:
        """Keystone is asked once per token while the cache holds it, valid or not."""
        for _ in range(3):
            await access.check("introspection:status", headers("reader"), public=False)
            with pytest.raises(NotAuthenticated):
                await access.check("introspection:status", headers("forged"), public=False)
        assert counting.calls == 2

    async def test_cache_bounded_by_token_expiry(self, access: KeystoneAccess) -> None:
        await access.check("introspection:status", headers("short"), public=False)
        entry = access.cache.get("short")
        assert entry is not None
        assert entry.expires - access.cache._clock() <= 5

    async def test_concurrent_requests_share_one_validation(self, tmp_path: Path) -> None:
        counting = CountingValidator(tokens(), delay=0.05)
        settings = load_settings(overrides={"oslo_policy": {"policy_file": str(tmp_path / "x")}})
        access = KeystoneAccess(counting, PolicyEnforcer(settings), TokenCache(300))
        results = await asyncio.gather(*(
            access.check("introspection:status", headers("reader"), public=False)
            for _ in range(20)))
        assert counting.calls == 1 and all(r is not None for r in results)

    async def test_cancelled_caller_does_not_break_the_others(self, tmp_path: Path) -> None:
        counting = CountingValidator(tokens(), delay=0.05)
        settings = load_settings(overrides={"oslo_policy": {"policy_file": str(tmp_path / "x")}})
        access = KeystoneAccess(counting, PolicyEnforcer(settings), TokenCache(300))
        first = asyncio.ensure_future(access.identity("reader"))
        second = asyncio.ensure_future(access.identity("reader"))
        await asyncio.sleep(0.01)
        first.cancel()
        assert (await second) is not None and counting.calls == 1

    async def test_keystone_down(self, access: KeystoneAccess, counting: CountingValidator) -> None:
        """Keystone unreachable: 503 on protected routes; the ramdisk's routes still work."""
        counting.down = True
        with pytest.raises(ServiceUnavailable):
            await access.check("introspection:status", headers("admin"), public=False)
        assert await access.check("introspection:continue", headers("admin"), public=True) is None
        assert len(access.cache) == 0  # failures are not cached


class TestConfiguration:
    def test_needs_service_credentials(self) -> None:
        settings = load_settings(overrides={"DEFAULT": {"auth_strategy": "keystone"},
                                            "keystone_authtoken": {"auth_type": None}})
        with pytest.raises(ConfigurationError, match=r"\[keystone_authtoken\]"):
            create_access_control(settings)

    def test_from_upstream_section(self, tmp_path: Path) -> None:
        """keystonemiddleware's options, password plugin loaded by keystoneauth; no I/O."""
        conf = tmp_path / "inspector.conf"
        conf.write_text("""[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
auth_type = password
auth_url = http://keystone.test/identity
www_authenticate_uri = http://keystone.test/public
username = ironic-inspector
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = RegionTwo
token_cache_time = 60
memcached_servers = 127.0.0.1:11211
""")
        access = create_access_control(load_settings([str(conf)]))
        assert isinstance(access, KeystoneAccess)
        assert access.challenge == 'Keystone uri="http://keystone.test/public"'
        assert access.cache.ttl == 60
        validator = access.validator
        assert isinstance(validator, TokenValidator)
        assert validator.service.auth_url == "http://keystone.test/identity"
        assert validator.service._region_name == "RegionTwo"
        assert validator.service._interface == "internal"


class FakePlugin:
    """keystoneauth plugin stand-in: a catalog with or without the identity endpoint."""

    auth_url = "http://keystone.test/identity"

    def __init__(self, catalog_url: str | None) -> None:
        self.catalog_url = catalog_url
        self.calls: list[dict[str, Any]] = []

    def get_endpoint(self, session: Any, **kwargs: Any) -> str | None:
        self.calls.append(kwargs)
        if "endpoint_override" in kwargs:
            return f"{kwargs['endpoint_override']}/v3/"
        return self.catalog_url


class TestServiceEndpoint:
    async def test_from_catalog(self) -> None:
        """The identity endpoint of the configured interface and region, looked up once."""
        plugin = FakePlugin("http://internal.test:5000/v3/")
        service = ServiceCredentials(plugin, None, "internal", "RegionTwo")  # type: ignore[arg-type]
        assert await service.endpoint() == "http://internal.test:5000/v3"
        assert await service.endpoint() == "http://internal.test:5000/v3"
        assert plugin.calls == [{"service_type": "identity", "interface": "internal",
                                 "region_name": "RegionTwo", "version": (3, 0)}]

    async def test_falls_back_to_auth_url(self, caplog: pytest.LogCaptureFixture) -> None:
        """No such endpoint in the catalog: auth_url is used, with a warning."""
        service = ServiceCredentials(FakePlugin(None), None, "admin", None)  # type: ignore[arg-type]
        assert await service.endpoint() == "http://keystone.test/identity/v3"
        assert "No admin identity endpoint" in caplog.text
