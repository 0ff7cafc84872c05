"""The hardware history and diff routes of API 1.19 over a real SQLite repository."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.history_seed import processed, seed
from tests.unit.api.conftest import error_of, make_client

V19 = {"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}
V18 = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
NOT_FOUND = ("404 Not Found: The requested URL was not found on the server. If you entered "
             "the URL manually please check your spelling and try again.")


@pytest.fixture
def node(fake_ironic: FakeIronic, settings: Settings) -> dict[str, Any]:
    """A node named ``rack-1`` with three versions: memory shrinks at version 3."""
    ironic_node = fake_ironic.add_node(name="rack-1")
    seed(settings, ironic_node["uuid"], [processed(65536), processed(65536), processed(57344)])
    return ironic_node


def history_of(client: TestClient, node_id: str, **params: Any) -> Any:
    return client.get(f"/v1/introspection/{node_id}/history", params=params, headers=V19)


PATHS = ("/history", "/history/1", "/history/1/unprocessed", "/diff")


class TestVersionGating:
    @pytest.mark.parametrize("path", PATHS)
    @pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE", "OPTIONS"])
    def test_below_119_unknown_path(self, client: TestClient, node: dict[str, Any], path: str,
                                    method: str) -> None:
        """At 1.18 every method on the new paths answers exactly what an unknown path does."""
        url = f"/v1/introspection/{node['uuid']}{path}"
        answer = client.request(method, url, headers=V18)
        unknown = client.request(method, f"/v1/introspection/{node['uuid']}/nothing",
                                 headers=V18)
        assert (answer.status_code, answer.content) == (unknown.status_code, unknown.content)
        assert answer.status_code == 404
        assert answer.headers.get("allow") is None
        if method != "HEAD":
            assert error_of(answer) == NOT_FOUND

    def test_old_versions_ignore_policy(self, client: TestClient, node: dict[str, Any]) -> None:
        """Version 1.0 gets the unknown path's 404 too."""
        response = client.get(f"/v1/introspection/{node['uuid']}/history",
                              headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.0"})
        assert error_of(response) == NOT_FOUND

    def test_latest_reaches_the_routes(self, client: TestClient, node: dict[str, Any]) -> None:
        assert client.get(f"/v1/introspection/{node['uuid']}/history").status_code == 200

    def test_other_methods_405_at_119(self, client: TestClient, node: dict[str, Any]) -> None:
        response = client.post(f"/v1/introspection/{node['uuid']}/history", headers=V19)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, OPTIONS"


class TestHistory:
    def test_newest_first_with_links(self, client: TestClient, node: dict[str, Any]) -> None:
        response = history_of(client, node["uuid"])
        assert response.status_code == 200
        versions = response.json()["history"]
        assert [v["version"] for v in versions] == [3, 2, 1]
        first = versions[-1]
        assert first["summary"] == "summary 1" and first["changed"] is None
        assert first["source"] == "inband" and first["error"] is None
        assert first["finished_at"] == "2026-01-01T12:05:00"
        href = f"http://testserver/v1/introspection/{node['uuid']}/history/1"
        assert first["links"] == [{"href": href, "rel": "self"},
                                  {"href": f"{href}/unprocessed", "rel": "unprocessed"}]
        assert "data" not in first

    def test_by_name(self, client: TestClient, node: dict[str, Any]) -> None:
        assert len(history_of(client, "rack-1").json()["history"]) == 3

    def test_paging(self, client: TestClient, node: dict[str, Any]) -> None:
        page = history_of(client, node["uuid"], limit=2).json()["history"]
        assert [v["version"] for v in page] == [3, 2]
        rest = history_of(client, node["uuid"], limit=2, marker=2).json()["history"]
        assert [v["version"] for v in rest] == [1]
        assert history_of(client, node["uuid"], marker=1).json()["history"] == []

    @pytest.mark.parametrize(("params", "message"), [
        ({"limit": "x"}, "Bad request: invalid literal for int() with base 10: 'x'"),
        ({"limit": "-1"}, "Bad request: Limit cannot be negative"),
        ({"limit": "1001"}, "Bad request: Limit over 1000"),
        ({"marker": "abc"}, "Bad request: Marker must be a positive integer version number, "
                            "got 'abc'"),
        ({"marker": "0"}, "Bad request: Marker must be a positive integer version number, "
                          "got '0'"),
    ])
    def test_bad_paging(self, client: TestClient, node: dict[str, Any], params: dict[str, str],
                        message: str) -> None:
        response = history_of(client, node["uuid"], **params)
        assert response.status_code == 400 and error_of(response) == message

    def test_unknown_marker(self, client: TestClient, node: dict[str, Any]) -> None:
        response = history_of(client, node["uuid"], marker=9)
        assert response.status_code == 404
        assert error_of(response) == f"Version 9 of node {node['uuid']} was not found"

    def test_unknown_node_uuid(self, client: TestClient) -> None:
        uuid = "11111111-2222-3333-4444-555555555555"
        response = history_of(client, uuid)
        assert response.status_code == 404
        assert error_of(response) == f"Could not find node {uuid} in cache"

    def test_unknown_node_name(self, client: TestClient) -> None:
        response = history_of(client, "no-such-node")
        assert response.status_code == 404

    def test_known_node_without_history(self, client: TestClient, fake_ironic: FakeIronic,
                                        settings: Settings) -> None:
        bare = fake_ironic.add_node()
        seed(settings, bare["uuid"], [])
        response = history_of(client, bare["uuid"])
        assert response.status_code == 404
        assert error_of(response) == f"No hardware history for node {bare['uuid']}"


class TestVersion:
    def test_with_processed_data(self, client: TestClient, node: dict[str, Any]) -> None:
        response = client.get("/v1/introspection/rack-1/history/3", headers=V19)
        assert response.status_code == 200
        body = response.json()
        assert body["version"] == 3 and body["data"] == processed(57344)

    def test_unprocessed(self, client: TestClient, node: dict[str, Any]) -> None:
        response = client.get(f"/v1/introspection/{node['uuid']}/history/2/unprocessed",
                              headers=V19)
        assert response.status_code == 200 and response.json() == {"raw": 1}

    @pytest.mark.parametrize("version", ["0", "x", "-1", "1.5", "\u0661"])
    def test_bad_version(self, client: TestClient, node: dict[str, Any], version: str) -> None:
        response = client.get(f"/v1/introspection/{node['uuid']}/history/{version}",
                              headers=V19)
        assert response.status_code == 400
        assert "Version must be a positive integer version number" in error_of(response)

    def test_missing_version(self, client: TestClient, node: dict[str, Any]) -> None:
        response = client.get(f"/v1/introspection/{node['uuid']}/history/4", headers=V19)
        assert response.status_code == 404
        assert error_of(response) == f"Version 4 of node {node['uuid']} was not found"


class TestDiff:
    def diff(self, client: TestClient, node_id: str, **params: Any) -> Any:
        return client.get(f"/v1/introspection/{node_id}/diff", params=params, headers=V19)

    def test_latest_against_previous(self, client: TestClient, node: dict[str, Any]) -> None:
        response = self.diff(client, "rack-1")
        assert response.status_code == 200
        body = response.json()
        assert (body["from"]["version"], body["to"]["version"]) == (2, 3)
        assert body["changed"] is True
        assert body["memory"]["total_mb"]["delta"] == -8192
        assert set(body["components"]) >= {"system", "memory", "disks", "nics"}

    def test_explicit_range(self, client: TestClient, node: dict[str, Any]) -> None:
        body = self.diff(client, node["uuid"], **{"from": 1, "to": 2}).json()
        assert (body["from"]["version"], body["to"]["version"]) == (1, 2)
        assert body["changed"] is False

    def test_from_only(self, client: TestClient, node: dict[str, Any]) -> None:
        body = self.diff(client, node["uuid"], **{"from": 1}).json()
        assert (body["from"]["version"], body["to"]["version"]) == (1, 3)

    def test_same_version_unchanged(self, client: TestClient, node: dict[str, Any]) -> None:
        body = self.diff(client, node["uuid"], **{"from": 3, "to": 3}).json()
        assert body["changed"] is False
        assert body["counts"] == {"added": 0, "removed": 0, "changed": 0}

    def test_first_version_has_nothing_before(self, client: TestClient,
                                              node: dict[str, Any]) -> None:
        response = self.diff(client, node["uuid"], to=1)
        assert response.status_code == 404
        assert error_of(response) == (f"Node {node['uuid']} has no version before version 1 "
                                      "to compare with")

    @pytest.mark.parametrize("params", [{"from": "x"}, {"to": "0"}, {"to": "1e3"}])
    def test_bad_numbers(self, client: TestClient, node: dict[str, Any],
                         params: dict[str, str]) -> None:
        response = self.diff(client, node["uuid"], **params)
        assert response.status_code == 400
        assert "must be a positive integer version number" in error_of(response)

    def test_missing_version(self, client: TestClient, node: dict[str, Any]) -> None:
        response = self.diff(client, node["uuid"], **{"from": 7})
        assert response.status_code == 404
        assert error_of(response) == f"Version 7 of node {node['uuid']} was not found"


@pytest.fixture
def disabled_client(tmp_path: Path, fake_ironic: FakeIronic,
                    request: pytest.FixtureRequest) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'off.sqlite'}"
    migrate.upgrade(url)
    settings = load_settings(overrides={"database": {"connection": url},
                                        "DEFAULT": {"introspection_delay": 0},
                                        **request.param})
    with make_client(settings, fake_ironic, ExtensionRegistry()) as test_client:
        yield test_client


@pytest.mark.parametrize("disabled_client", [
    {"processing": {"store_data": "none"}}, {"history": {"enabled": False}}],
    indirect=True)
@pytest.mark.parametrize("path", PATHS)
def test_history_not_kept(disabled_client: TestClient, path: str) -> None:
    """Without history (disabled, or data not in the database) every route says why."""
    response = disabled_client.get(
        f"/v1/introspection/11111111-2222-3333-4444-555555555555{path}", headers=V19)
    assert response.status_code == 404
    assert error_of(response) == ("Hardware history is not kept: it needs "
                                  "[processing]store_data = database and "
                                  "[history]enabled = True.")
