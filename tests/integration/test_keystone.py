"""``auth_strategy = keystone`` against a real Keystone (spec 2.3).

One Keystone per session (``keystone`` fixture). This module adds MetalScope's service user
(role ``service`` in project ``service``, the user its ``[keystone_authtoken]`` section
validates tokens with), a system administrator, a system reader (also a member of a project)
and a project-scoped reader, then runs ``metalscope serve`` with ``auth_strategy = keystone``
and a policy file it can edit while the service runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import ironic_inspector_client
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.keystone import REGION, LocalKeystone
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

SERVICE_PASSWORD = "metalscope-service-secret"
PASSWORD = "user-secret"
RULE = {"description": "keystone test rule", "conditions": [],
        "actions": [{"action": "set-attribute", "path": "/extra/keystone", "value": "yes"}]}


@dataclass
class Secured:
    """MetalScope under keystone authentication, with tokens of each kind of caller."""

    service: LocalMetalScope
    keystone: LocalKeystone
    policy_file: Path
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return self.service.url

    def call(self, method: str, path: str, token: str | None = None,
             **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.tokens.get(token, token)} if token else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def write_policy(self, text: str) -> None:
        """Replace the policy file; oslo.policy notices a newer modification time."""
        previous = self.policy_file.stat().st_mtime
        self.policy_file.write_text(text)
        os.utime(self.policy_file, (previous + 10, previous + 10))


def _users(keystone: LocalKeystone) -> None:
    keystone.create_project("service")
    keystone.create_project("demo")
    keystone.create_user("metalscope", SERVICE_PASSWORD, project_roles={"service": ["service"]})
    keystone.create_user("inspector-admin", PASSWORD, system_roles=("admin",))
    keystone.create_user("inspector-reader", PASSWORD, system_roles=("reader",),
                         project_roles={"demo": ["member"]})
    keystone.create_user("project-reader", PASSWORD, project_roles={"demo": ["reader", "member"]})


@pytest.fixture(scope="module")
def secured(keystone: LocalKeystone, ironic: LocalIronic,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    _users(keystone)
    workdir = tmp_path_factory.mktemp("metalscope-keystone")
    policy_file = workdir / "policy.yaml"
    policy_file.write_text("{}\n")
    options = {
        "DEFAULT": {"auth_strategy": "keystone"},
        "keystone_authtoken": {
            "auth_type": "password", "auth_url": keystone.url,
            "www_authenticate_uri": keystone.url, "username": "metalscope",
            "password": SERVICE_PASSWORD, "project_name": "service",
            "user_domain_name": "Default", "project_domain_name": "Default",
            "region_name": REGION, "token_cache_time": 300,
        },
        "oslo_policy": {"policy_file": policy_file},
    }
    tokens = {
        "admin": keystone.token("inspector-admin", PASSWORD, system=True),
        "reader": keystone.token("inspector-reader", PASSWORD, system=True),
        "reader-in-project": keystone.token("inspector-reader", PASSWORD, project="demo"),
        "project-reader": keystone.token("project-reader", PASSWORD, project="demo"),
        "service": keystone.token("metalscope", SERVICE_PASSWORD, project="service"),
    }
    with LocalMetalScope(workdir, ironic.url, options=options) as service:
        yield Secured(service, keystone, policy_file, tokens)


@pytest.fixture
def node(make_node: Any) -> dict[str, Any]:
    return make_node()


class TestWithoutToken:
    def test_public_routes(self, secured: Secured) -> None:
        """Version discovery answers anyone; the ramdisk's callback is reached (its own 400)."""
        assert secured.call("GET", "/").status_code == 200
        assert secured.call("GET", "/v1").status_code == 200
        response = secured.call("POST", "/v1/continue", json={"inventory": "nonsense"})
        assert response.status_code not in (401, 403)
        assert response.status_code == 400

    @pytest.mark.parametrize("method,path", [
        ("GET", "/v1/introspection"), ("GET", "/v1/rules"), ("DELETE", "/v1/rules"),
        ("POST", "/v1/introspection/9d2b0a3c-2f43-4b8e-9d43-6a2f8bb4e1f5"),
    ])
    def test_protected_routes(self, secured: Secured, method: str, path: str) -> None:
        response = secured.call(method, path)
        assert response.status_code == 401
        assert response.json() == {"error": {"message": "Authentication required"}}
        assert response.headers["www-authenticate"] == f'Keystone uri="{secured.keystone.url}"'

    def test_invalid_token(self, secured: Secured) -> None:
        forged = secured.tokens["admin"][:-4] + "AAAA"
        for token in ("not-a-token", forged):
            response = secured.call("GET", "/v1/introspection", token)
            assert response.status_code == 401, token
            assert response.json() == {"error": {"message": "Authentication required"}}

    def test_revoked_token(self, secured: Secured) -> None:
        """A token Keystone revoked before MetalScope ever saw it is refused."""
        token = secured.keystone.token("inspector-admin", PASSWORD, system=True)
        secured.keystone.revoke(token)
        assert secured.call("GET", "/v1/introspection", token).status_code == 401


class TestAdmin:
    def test_start_status_rules(self, secured: Secured, node: dict[str, Any]) -> None:
        response = secured.call("POST", f"/v1/introspection/{node['uuid']}", "admin",
                                params={"manage_boot": "false"})
        assert response.status_code == 202, response.text
        assert secured.call("GET", f"/v1/introspection/{node['uuid']}", "admin").status_code == 200
        assert secured.call("GET", "/v1/introspection", "admin").status_code == 200
        created = secured.call("POST", "/v1/rules", "admin", json=RULE)
        assert created.status_code == 201, created.text
        assert secured.call("GET", "/v1/rules", "admin").status_code == 200
        uuid = created.json()["uuid"]
        assert secured.call("DELETE", f"/v1/rules/{uuid}", "admin").status_code == 204
        aborted = secured.call("POST", f"/v1/introspection/{node['uuid']}/abort", "admin")
        assert aborted.status_code == 202, aborted.text

    def test_service_role(self, secured: Secured) -> None:
        """The ``service`` role is an administrator of the inspection API."""
        assert secured.call("GET", "/v1/rules", "service").status_code == 200


class TestReader:
    def test_reads_statuses_only(self, secured: Secured, node: dict[str, Any]) -> None:
        assert secured.call("GET", "/v1/introspection", "reader").status_code == 200
        assert secured.call("GET", f"/v1/introspection/{node['uuid']}", "reader").status_code == 404
        for method, path, body in (
                ("POST", f"/v1/introspection/{node['uuid']}", None),
                ("POST", f"/v1/introspection/{node['uuid']}/abort", None),
                ("GET", f"/v1/introspection/{node['uuid']}/data", None),
                ("GET", "/v1/rules", None), ("POST", "/v1/rules", RULE),
                ("DELETE", "/v1/rules", None)):
            response = secured.call(method, path, "reader", json=body)
            assert response.status_code == 403, (method, path)
            assert response.json() == {"error": {"message": "Access denied by policy"}}

    def test_project_scope_reads_nothing(self, secured: Secured) -> None:
        """The reader rule wants a system-scoped reader: project-scoped readers get 403."""
        for token in ("project-reader", "reader-in-project"):
            response = secured.call("GET", "/v1/introspection", token)
            assert response.status_code == 403, token


class TestPolicyFile:
    def test_override_takes_effect(self, secured: Secured) -> None:
        """Overriding one rule in the running service's policy file changes that rule only."""
        assert secured.call("GET", "/v1/rules", "reader").status_code == 403
        try:
            secured.write_policy('"introspection:rule:get": "role:reader and system_scope:all"\n')
            assert secured.call("GET", "/v1/rules", "reader").status_code == 200
            assert secured.call("POST", "/v1/rules", "reader", json=RULE).status_code == 403
            assert secured.call("GET", "/v1/rules", "project-reader").status_code == 403
        finally:
            secured.write_policy("{}\n")
        assert secured.call("GET", "/v1/rules", "reader").status_code == 403


class TestInspectorClient:
    @pytest.fixture
    def session(self, secured: Secured) -> ks_session.Session:
        auth = v3.Password(auth_url=secured.keystone.url, username="inspector-admin",
                           password=PASSWORD, user_domain_id="default", system_scope="all")
        return ks_session.Session(auth=auth)

    def test_whole_introspection(self, secured: Secured, session: ks_session.Session,
                                 make_node: Any, ironic: LocalIronic) -> None:
        """The real client with a Keystone session starts and reads; the ramdisk posts its
        data without any token; a reader token then sees the result."""
        machine = make_machine(seed=53, index=301, virtual=False)
        node = make_node(driver_info={"ipmi_address": machine.bmc_address}, macs=[machine.pxe_mac])
        client = ironic_inspector_client.ClientV1(inspector_url=secured.url, session=session,
                                                  api_version=(1, 18))
        client.introspect(node["uuid"], manage_boot=False)
        assert client.get_status(node["uuid"])["state"] in ("starting", "waiting")
        assert client.rules.get_all() == []
        response = httpx.post(f"{secured.url}/v1/continue", json=ramdisk_data(machine), timeout=60)
        assert response.status_code == 200, response.text
        status = client.wait_for_finish([node["uuid"]], retry_interval=0.2, max_retries=150)
        assert status[node["uuid"]]["error"] is None
        by_reader = secured.call("GET", f"/v1/introspection/{node['uuid']}", "reader")
        assert by_reader.status_code == 200 and by_reader.json()["finished"] is True
        assert client.get_data(node["uuid"])["inventory"]["cpu"]["count"] == machine.cpu.count

    def test_client_error_for_reader(self, secured: Secured) -> None:
        auth = v3.Password(auth_url=secured.keystone.url, username="inspector-reader",
                           password=PASSWORD, user_domain_id="default", system_scope="all")
        client = ironic_inspector_client.ClientV1(inspector_url=secured.url,
                                                  session=ks_session.Session(auth=auth))
        with pytest.raises(ironic_inspector_client.ClientError) as error:
            client.rules.get_all()
        assert error.value.response.status_code == 403
        assert "Access denied by policy" in str(error.value)


class TestFleetPages:
    """The fleet pages: the same rule as ``GET /v1/introspection``, a token from the header
    (a reverse proxy) or from the login form's cookie."""

    def test_anonymous_gets_a_login_page(self, secured: Secured) -> None:
        response = secured.call("GET", "/ui/")
        assert response.status_code == 401
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert 'href="/ui/login"' in response.text
        assert secured.call("GET", "/ui/login").status_code == 200

    def test_header_token_as_a_reverse_proxy_sends_it(self, secured: Secured) -> None:
        assert secured.call("GET", "/ui/", "reader").status_code == 200
        assert secured.call("GET", "/ui/", "project-reader").status_code == 403

    def test_login_cookie_logout(self, secured: Secured) -> None:
        with httpx.Client(base_url=secured.url, timeout=60) as browser:
            origin = {"Origin": secured.url}
            refused = browser.post("/ui/login", data={"token": "not-a-token"}, headers=origin)
            assert refused.status_code == 401 and "set-cookie" not in refused.headers
            forged = browser.post("/ui/login", data={"token": secured.tokens["reader"]},
                                  headers={"Origin": "http://evil.test"})
            assert forged.status_code == 403 and "set-cookie" not in forged.headers
            login = browser.post("/ui/login", data={"token": secured.tokens["reader"]},
                                 headers=origin)
            assert login.status_code == 303, login.text
            assert "samesite=strict" in login.headers["set-cookie"].lower()
            assert browser.get("/ui/").status_code == 200
            assert browser.post("/ui/logout", headers=origin).status_code == 303
            assert browser.get("/ui/").status_code == 401
