"""HEAD on every GET route; the version headers on every status the API answers (spec 2.2)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from starlette.testclient import TestClient

from metalscope.auth import HttpBasicAuth, load_htpasswd
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client

MIN, MAX = ("X-OpenStack-Ironic-Inspector-API-Minimum-Version",
            "X-OpenStack-Ironic-Inspector-API-Maximum-Version")
RULE = {"uuid": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "description": "r",
        "actions": [{"action": "fail", "message": "no"}]}


@pytest.fixture
def client(settings: Settings, fake_ironic: FakeIronic) -> Iterator[TestClient]:
    """With the installed rule actions, to create rules."""
    with make_client(settings, fake_ironic) as test_client:
        yield test_client


def comparable(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "x-openstack-request-id"}


class TestHead:
    @pytest.fixture
    def paths(self, client: TestClient, fake_ironic: FakeIronic) -> list[str]:
        node = fake_ironic.add_node(macs=["52:54:00:00:00:11"])
        assert client.post(f"/v1/introspection/{node['uuid']}",
                           params={"manage_boot": "false"}).status_code == 202
        assert client.post("/v1/rules", json=RULE).status_code == 201
        uuid = node["uuid"]
        return ["/", "/v1", "/v2", "/v1/introspection", f"/v1/introspection/{uuid}",
                f"/v1/introspection/{uuid}/data", f"/v1/introspection/{uuid}/data/unprocessed",
                "/v1/rules", f"/v1/rules/{RULE['uuid']}", "/v1/rules/" + "0" * 32,
                "/v1/introspection/no-such-node", "/openapi.json"]

    def test_same_status_and_headers_as_get(self, client: TestClient, paths: list[str]) -> None:
        statuses = set()
        for path in paths:
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code, path
            assert comparable(dict(head.headers)) == comparable(dict(get.headers)), path
            assert head.content == b"", path
            statuses.add(get.status_code)
        assert statuses == {200, 404}

    def test_head_where_only_post_exists(self, client: TestClient) -> None:
        response = client.head("/v1/continue")
        assert response.status_code == 405 and response.headers["Allow"] == "OPTIONS, POST"


@pytest.fixture
def basic_client(settings: Settings, fake_ironic: FakeIronic,
                 tmp_path: Path) -> Iterator[TestClient]:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"admin:{bcrypt.hashpw(b'pw', bcrypt.gensalt(rounds=4)).decode()}\n")
    with make_client(settings, fake_ironic) as client:
        client.app.state.services.auth = HttpBasicAuth(load_htpasswd(str(htpasswd)))
        yield client


class TestVersionHeadersOnEveryStatus:
    def test_each_status(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        node = fake_ironic.add_node(macs=["52:54:00:00:00:12"])["uuid"]
        answers = {
            200: client.get("/"),
            202: client.post(f"/v1/introspection/{node}", params={"manage_boot": "0"}),
            201: client.post("/v1/rules", json=RULE),
            204: client.delete("/v1/rules"),
            400: client.post("/v1/rules", content=b"not json"),
            404: client.get("/v1/no/such/url"),
            405: client.put("/v1/rules"),
            406: client.get("/", headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.99"}),
            413: client.post("/v1/continue", content=b"{" + b" " * (9 * 1024 * 1024) + b"}"),
        }
        for status, response in answers.items():
            assert response.status_code == status, (status, response.text)
            assert (response.headers[MIN], response.headers[MAX]) == ("1.0", "1.20"), status

    def test_auth_statuses(self, basic_client: TestClient) -> None:
        bad = {"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}
        for status, response in {401: basic_client.get("/v1/rules", headers=bad),
                                 400: basic_client.get("/v1/rules",
                                                       headers={"Authorization": "Bearer x"})
                                 }.items():
            assert response.status_code == status
            assert (response.headers[MIN], response.headers[MAX]) == ("1.0", "1.20")
