"""The OpenAPI document: every route described, a valid document, served at /openapi.json."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.openapi.utils import get_openapi
from starlette.testclient import TestClient

from metalscope.api.openapi import OPERATIONS, build_document
from metalscope.api.openapi_pages import PAGE_OPERATIONS
from metalscope.app import create_app
from metalscope.settings import load_settings


def app_document() -> dict[str, Any]:
    return build_document(create_app(load_settings(overrides={})))


def test_every_route_is_described() -> None:
    """Each documented route has a description in OPERATIONS, and each description a route."""
    app = create_app(load_settings(overrides={}))
    plain = get_openapi(title="routes", version="0", routes=app.routes)
    routes = {(method, path) for path, methods in plain["paths"].items() for method in methods}
    assert routes == set(OPERATIONS) | set(PAGE_OPERATIONS)


def test_document_is_valid_openapi() -> None:
    """Schemathesis loads every operation of the document without a schema error."""
    schema = schemathesis.openapi.from_dict(app_document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(OPERATIONS) + len(PAGE_OPERATIONS)


def test_no_validation_error_responses() -> None:
    """FastAPI's 422 never happens (inputs are read by hand): it is not documented."""
    document = app_document()
    codes = {code for methods in document["paths"].values() for operation in methods.values()
             for code in operation["responses"]}
    assert "422" not in codes and "HTTPValidationError" not in document["components"]["schemas"]


def test_protected_routes_document_auth_errors() -> None:
    """Public routes (spec 2.3) never answer 401; every other route may; all may answer 403."""
    public = {("get", "/"), ("get", "/{version}"), ("post", "/v1/continue"),
              ("head", "/"), ("head", "/{version}")}
    for (method, path), operation in OPERATIONS.items():
        responses = operation.render(None)["responses"]
        assert ("401" in responses) is ((method, path) not in public), (method, path)
        assert {"400", "403", "406", "503"} <= set(responses)


def test_every_get_has_a_bodiless_head_twin() -> None:
    """HEAD is documented wherever GET is, with the same codes and headers and no bodies."""
    document = app_document()
    gets = {path for path, methods in document["paths"].items() if "get" in methods}
    heads = {path for path, methods in document["paths"].items() if "head" in methods}
    assert gets == heads and len(gets) == 13 + 5
    for path in gets:
        get, head = document["paths"][path]["get"], document["paths"][path]["head"]
        assert set(head["responses"]) == set(get["responses"])
        assert head["operationId"] == get["operationId"] + "Head"
        for response in head["responses"].values():
            assert "content" not in response and "links" not in response
            assert "$ref" in response or "X-OpenStack-Request-Id" in response["headers"]


def test_rule_request_lists_installed_operators_and_actions() -> None:
    """The rule body's op and action enums are the installed entry points."""
    rule = app_document()["components"]["schemas"]["RuleRequest"]
    condition = rule["properties"]["conditions"]["anyOf"][0]["items"]
    assert {"eq", "matches", "in-net"} <= set(condition["properties"]["op"]["enum"])
    action = rule["properties"]["actions"]["items"]
    assert {"fail", "set-attribute", "add-trait"} <= set(action["properties"]["action"]["enum"])


def test_served_with_version_headers(client: TestClient) -> None:
    """GET /openapi.json serves the document, like every response with the version headers."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == app_document()
    assert response.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"


def test_other_single_segments_still_unknown_versions(client: TestClient) -> None:
    """Serving /openapi.json leaves the "Version <x> not found." answer of other segments."""
    response = client.get("/openapi.yaml")
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Version openapi.yaml not found."}}


def test_history_routes_state_their_version() -> None:
    """The 1.19 routes say so, take integer version numbers and answer the history shapes."""
    paths = app_document()["paths"]
    history = [path for path in paths if "/history" in path or path.endswith("/diff")]
    assert len(history) == 4
    for path in history:
        get = paths[path]["get"]
        assert "Since API 1.19" in get["description"] and "404" in get["responses"]
    listing = paths["/v1/introspection/{node_id}/history"]["get"]
    marker = next(p for p in listing["parameters"] if p.get("name") == "marker")
    assert marker["schema"] == {"type": "integer", "minimum": 1}
    diff = paths["/v1/introspection/{node_id}/diff"]["get"]["responses"]["200"]
    assert diff["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HardwareDiff"}


def test_fleet_pages_answer_html_without_version_headers() -> None:
    """The pages are outside the versioned API: no version parameters or headers; every
    answer of theirs, errors included, is an HTML page with the security headers."""
    paths = app_document()["paths"]
    page = paths["/ui/"]["get"]
    assert [p["name"] for p in page["parameters"]] == ["q", "state", "sort", "desc", "offset",
                                                       "limit"]
    for code in ("200", "400", "401", "403"):
        response = page["responses"][code]
        assert list(response["content"]) == ["text/html; charset=utf-8"]
        assert "Content-Security-Policy" in response["headers"]
        assert "X-OpenStack-Ironic-Inspector-API-Maximum-Version" not in response["headers"]
    assert "404" in paths["/ui/nodes/{node_id}"]["get"]["responses"]
