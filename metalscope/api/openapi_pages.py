"""The fleet pages (``/ui``) in the OpenAPI document: HTML answers outside the versioned API.

They take no microversion headers and send none; every answer carries the request id and
the security headers; errors are HTML pages too, except what the HTTP layer itself refuses
(408, 431) before any route runs, which is described by the API's shared responses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from metalscope.api.middleware.request_id import HEADER_NAME as REQUEST_ID_HEADER
from metalscope.api.middleware.request_id import ID_FORMAT
from metalscope.api.openapi_schemas import NODE_ID_PATTERN, STATE_NAMES
from metalscope.fleet.query import IN_PROGRESS, MAX_LIMIT, MAX_SEARCH, SORT_KEYS
from metalscope.ui.rendering import SECURITY_HEADERS

Schema = dict[str, Any]

_REQUEST_ID = {"required": True, "description": "This request's id, as in the service's log",
               "schema": {"type": "string", "pattern": f"^{ID_FORMAT.pattern}$"}}
PAGE_HEADERS: Schema = {
    REQUEST_ID_HEADER: _REQUEST_ID,
    **{name: {"required": True, "schema": {"type": "string", "enum": [value]}}
       for name, value in SECURITY_HEADERS.items()},
}
HTML = {"text/html; charset=utf-8": {"schema": {"type": "string"}}}
REASONS = {
    400: "Invalid query parameter or form; an HTML page says which",
    401: "Authentication required (http_basic: a Basic challenge; keystone: a login link)",
    403: "Access denied by policy, or a form posted from another site",
    404: "No such node, version, static file or (without Keystone) login page",
    503: "Keystone could not be reached, or the database is full",
}
BOOLEAN_VALUES = ["1", "0", "true", "false", "yes", "no", "on", "off"]

FLEET_QUERY = (
    {"name": "q", "in": "query", "required": False,
     "description": "Case-insensitive text searched in UUID, name, vendor, model, serial, CPU "
                    "model, MACs and error",
     "schema": {"type": "string", "maxLength": MAX_SEARCH}},
    {"name": "state", "in": "query", "required": False,
     "description": f"Only nodes in this state (`{IN_PROGRESS}`: any but finished and error)",
     "schema": {"type": "string", "enum": ["", *STATE_NAMES, IN_PROGRESS]}},
    {"name": "sort", "in": "query", "required": False, "description": "Sort key",
     "schema": {"type": "string", "enum": list(SORT_KEYS)}},
    {"name": "desc", "in": "query", "required": False,
     "description": "Descending (the default) or ascending",
     "schema": {"type": "string", "enum": BOOLEAN_VALUES}},
    {"name": "offset", "in": "query", "required": False, "description": "Rows skipped",
     "schema": {"type": "integer", "minimum": 0, "maximum": 10**12}},
    {"name": "limit", "in": "query", "required": False, "description": "Rows per page (50)",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
)
NODE_QUERY = (
    {"name": "node_id", "in": "path", "required": True,
     "description": "Ironic node UUID, or its name",
     "schema": {"type": "string", "minLength": 1, "pattern": NODE_ID_PATTERN}},
    {"name": "from", "in": "query", "required": False,
     "description": "The older version of the diff (default: the one before `to`)",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "to", "in": "query", "required": False,
     "description": "The newer version of the diff (default: the latest)",
     "schema": {"type": "integer", "minimum": 1}},
)
STATIC_NAME = {"name": "name", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._-]+$"}}
TOKEN_FORM = {"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "properties": {"token": {"type": "string", "minLength": 1}},
               "required": ["token"]}}}}


def page(description: str) -> Schema:
    return {"description": description, "headers": PAGE_HEADERS, "content": HTML}


def redirect(description: str) -> Schema:
    return {"description": description,
            "headers": {**PAGE_HEADERS, "Location": {"required": True,
                                                     "schema": {"type": "string"}}}}


@dataclass(frozen=True)
class PageOperation:
    operation_id: str
    responses: Schema
    errors: tuple[int, ...] = ()
    parameters: tuple[Schema, ...] = ()
    body: Schema | None = None
    public: bool = False
    head: bool = False

    def render(self, summary: str | None) -> Schema:
        responses = {**self.responses,
                     **{str(code): page(REASONS[code]) for code in self.errors},
                     # Refused by the HTTP layer before any route: the API's shared answers.
                     **{str(code): {"$ref": f"#/components/responses/{code}"}
                        for code in (408, 431)}}
        if self.head:
            responses = {code: _bodiless(response) for code, response in responses.items()}
        operation: Schema = {"operationId": self.operation_id, "summary": summary,
                             "tags": ["fleet pages"], "parameters": list(self.parameters),
                             "responses": responses}
        if self.body is not None:
            operation["requestBody"] = self.body
        if not self.public:
            operation["security"] = [{}, {"httpBasic": []}, {"keystoneToken": []}]
        return operation


def _bodiless(response: Schema) -> Schema:
    if "$ref" in response:
        return response
    return {key: value for key, value in response.items() if key != "content"}


GUARDED = (400, 401, 403, 503)
PAGE_OPERATIONS: dict[tuple[str, str], PageOperation] = {
    ("get", "/ui"): PageOperation("fleetPageRedirect", {"307": redirect("To `/ui/`")},
                                  public=True),
    ("get", "/ui/"): PageOperation("fleetPage", {"200": page("The fleet table")}, GUARDED,
                                   FLEET_QUERY),
    ("get", "/ui/nodes/{node_id}"): PageOperation(
        "nodePage", {"200": page("The node's hardware, stored data, history and diff")},
        (*GUARDED, 404), NODE_QUERY),
    ("get", "/ui/static/{name}"): PageOperation(
        "fleetPageStatic",
        {"200": {"description": "The stylesheet or the script", "headers": PAGE_HEADERS,
                 "content": {"text/css; charset=utf-8": {"schema": {"type": "string"}},
                             "text/javascript; charset=utf-8": {"schema": {"type": "string"}}}}},
        (404,), (STATIC_NAME,), public=True),
    ("get", "/ui/login"): PageOperation("fleetLoginForm", {"200": page("The login form")},
                                        (404,), public=True),
    ("post", "/ui/login"): PageOperation(
        "fleetLogin", {"303": redirect("Logged in: the token is kept in a cookie")},
        (400, 401, 403, 404, 503), body=TOKEN_FORM, public=True),
    ("post", "/ui/logout"): PageOperation(
        "fleetLogout", {"303": redirect("Logged out: the cookie is removed")}, (403, 404),
        public=True),
}
PAGE_OPERATIONS.update({
    ("head", path): replace(operation, operation_id=f"{operation.operation_id}Head", head=True)
    for (method, path), operation in list(PAGE_OPERATIONS.items()) if method == "get"})
