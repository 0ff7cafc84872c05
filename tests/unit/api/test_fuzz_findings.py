"""Regressions for what fuzzing the API found (tests/fuzz)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from metalscope.api.body import parse_json
from tests.unit.api.conftest import error_of

NOT_JSON = [b'{"a": NaN}', b"[Infinity]", b"-Infinity", b'{"a": 1e999}', b'{"a": [-1e400]}']


class TestAllowHeader:
    @pytest.mark.parametrize("method,path,allow", [
        ("PUT", "/v1/introspection/node-1", "GET, HEAD, OPTIONS, POST"),
        ("DELETE", "/v1/introspection/node-1/data/unprocessed", "GET, HEAD, OPTIONS, POST"),
        ("PUT", "/v1/rules", "DELETE, GET, HEAD, OPTIONS, POST"),
        ("PATCH", "/v1/rules/0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1",
         "DELETE, GET, HEAD, OPTIONS, POST"),
        ("POST", "/v1", "GET, HEAD, OPTIONS"),
        ("GET", "/v1/continue", "OPTIONS, POST"),
        ("HEAD", "/v1/continue", "OPTIONS, POST"),
    ])
    def test_lists_every_method_of_the_path(self, client: TestClient, method: str, path: str,
                                            allow: str) -> None:
        """A 405 names the methods of every route of the path, not only the first route's."""
        response = client.request(method, path)
        assert response.status_code == 405
        assert response.headers["Allow"] == allow
        if method != "HEAD":
            assert error_of(response).startswith("405 Method Not Allowed")

    @pytest.mark.parametrize("path,allow", [
        ("/v1/introspection/node-1", "GET, HEAD, OPTIONS, POST"),
        ("/v1/continue", "OPTIONS, POST"),
        ("/v1", "GET, HEAD, OPTIONS"),
    ])
    def test_options_answers_what_is_allowed(self, client: TestClient, path: str,
                                             allow: str) -> None:
        """OPTIONS on a known URL is a 200 with the Allow header and no body (as upstream)."""
        response = client.options(path)
        assert response.status_code == 200
        assert response.headers["Allow"] == allow
        assert response.content == b""
        assert response.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"

    def test_options_on_an_unknown_url_is_404(self, client: TestClient) -> None:
        response = client.options("/v1/nothing/here")
        assert response.status_code == 404
        assert response.headers["X-OpenStack-Ironic-Inspector-API-Minimum-Version"] == "1.0"


class TestNonFiniteNumbers:
    @pytest.mark.parametrize("raw", NOT_JSON)
    def test_parse_refuses(self, raw: bytes) -> None:
        """NaN, Infinity and overflowing numbers are not JSON."""
        assert parse_json(raw) is NotImplemented

    def test_finite_numbers_kept(self) -> None:
        """Ordinary and large-but-finite numbers still parse."""
        assert parse_json(b'{"a": 1.5e300, "b": -0.0, "c": 123456789012345678901234567890}') == {
            "a": 1.5e300, "b": -0.0, "c": 123456789012345678901234567890}

    @pytest.mark.parametrize("raw", NOT_JSON[:2])
    @pytest.mark.parametrize("path", ["/v1/continue", "/v1/rules",
                                      "/v1/introspection/node-1/data/unprocessed"])
    def test_bodies_refused(self, client: TestClient, path: str, raw: bytes) -> None:
        """Such a body is a 400, so it is never stored and then served back as non-JSON."""
        response = client.post(path, content=raw)
        assert response.status_code == 400
        assert error_of(response) == "Invalid data: expected a JSON object, got None"

    def test_rule_with_nan_value_not_created(self, client: TestClient) -> None:
        """A rule whose condition value is NaN is refused, not stored."""
        body = (b'{"conditions": [{"op": "eq", "field": "a", "value": NaN}], '
                b'"actions": [{"action": "fail", "message": "x"}]}')
        assert client.post("/v1/rules", content=body).status_code == 400
        assert client.get("/v1/rules").json() == {"rules": []}


class TestHugeVersionNumbers:
    @pytest.mark.parametrize("value", ["1." + "9" * 5000, "9" * 4301 + ".0"])
    def test_malformed_not_a_crash(self, client: TestClient, value: str) -> None:
        """Parts too long for int() are a malformed version (400), as upstream's int() says."""
        response = client.get("/v1", headers={"X-OpenStack-Ironic-Inspector-API-Version": value})
        assert response.status_code == 400
        assert error_of(response) == ("Malformed API version: expected string in form of X.Y "
                                      "or latest")

    def test_long_but_convertible_is_unsupported(self, client: TestClient) -> None:
        """A long number that int() reads is an unsupported version (406)."""
        response = client.get("/v1", headers={"X-OpenStack-Ironic-Inspector-API-Version":
                                              "1." + "9" * 4000})
        assert response.status_code == 406
