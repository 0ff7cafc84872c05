"""Microversion negotiation and the discovery documents (spec 2.2, 2.4.1, 2.4.2)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from metalscope.api.versions import VersionError, parse_version
from tests.unit.api.conftest import error_of

MIN = "X-OpenStack-Ironic-Inspector-API-Minimum-Version"
MAX = "X-OpenStack-Ironic-Inspector-API-Maximum-Version"


class TestParseVersion:
    @pytest.mark.parametrize("value", [None, "", "latest", "LATEST", " 1.20 "])
    def test_defaults_to_max(self, value: str | None) -> None:
        """Absent, empty and latest all mean 1.20."""
        assert parse_version(value) == (1, 20)

    @pytest.mark.parametrize("value", ["1", "1.2.3", "abc", "1.x"])
    def test_malformed(self, value: str) -> None:
        """Malformed versions are a 400 with the upstream message."""
        with pytest.raises(VersionError) as exc:
            parse_version(value)
        assert exc.value.status == 400
        assert exc.value.message == (
            "Malformed API version: expected string in form of X.Y or latest")

    @pytest.mark.parametrize("value", ["1.21", "2.0", "0.9"])
    def test_unsupported(self, value: str) -> None:
        """Versions outside 1.0-1.20 are a 406 naming the range."""
        with pytest.raises(VersionError) as exc:
            parse_version(value)
        assert exc.value.status == 406 and "supported range is 1.0 to 1.20" in exc.value.message


class TestDiscovery:
    def test_root(self, client: TestClient) -> None:
        """GET / lists v1 with an absolute link and the version headers."""
        response = client.get("/")
        assert response.status_code == 200
        assert response.json() == {"versions": [{"id": "1.20", "status": "CURRENT", "links": [
            {"href": "http://testserver/v1", "rel": "self"}]}]}
        assert response.headers[MIN] == "1.0" and response.headers[MAX] == "1.20"
        assert response.text.endswith("}\n") and " " not in response.text

    def test_forwarded_headers(self, client: TestClient) -> None:
        """Links follow X-Forwarded-Proto/Host/Prefix."""
        response = client.get("/", headers={"X-Forwarded-Proto": "https",
                                            "X-Forwarded-Host": "myhost",
                                            "X-Forwarded-Prefix": "/ironic_inspector"})
        assert response.json()["versions"][0]["links"][0]["href"] == "https://myhost/ironic_inspector/v1"

    @pytest.mark.parametrize("path", ["/v1", "/v1/"])
    def test_v1(self, client: TestClient, path: str) -> None:
        """GET /v1 lists continue, introspection and rules."""
        response = client.get(path)
        assert response.status_code == 200
        names = [r["name"] for r in response.json()["resources"]]
        assert names == ["continue", "introspection", "rules"]

    def test_unknown_version(self, client: TestClient) -> None:
        """An unknown single segment is a 404 naming it."""
        response = client.get("/v42")
        assert response.status_code == 404 and error_of(response) == "Version v42 not found."
        assert response.headers[MAX] == "1.20"

    def test_unknown_url(self, client: TestClient) -> None:
        """An unknown URL is a JSON 404 with the upstream text."""
        response = client.get("/v1/nothing/here")
        assert response.status_code == 404 and error_of(response).startswith("404 Not Found")

    def test_bad_version_header_before_routing(self, client: TestClient) -> None:
        """A bad version is rejected even on unknown URLs, with headers."""
        response = client.get("/v1/nothing",
                              headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.99"})
        assert response.status_code == 406 and response.headers[MIN] == "1.0"
        response = client.get("/", headers={"OpenStack-API-Version": "baremetal-introspection abc"})
        assert response.status_code == 400

    def test_method_not_allowed_is_json(self, client: TestClient) -> None:
        """A wrong method gets a JSON 405."""
        response = client.delete("/v1/introspection")
        assert response.status_code == 405 and "405" in error_of(response)
