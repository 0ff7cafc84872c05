"""The OpenAPI document of the v1 API (and of the fleet pages, ``openapi_pages.py``), served
at ``/openapi.json``.

The routes read their inputs by hand (upstream's messages and quirks, spec 2.4), so FastAPI
alone would describe them as taking nothing. Each route is described here instead, keyed by
method and path: parameters with their real schemas, the JSON bodies, the microversion
headers, every status code the route can answer and the shape of each answer. The document
is built from the app's routes, so a route without a description here stays visible (a unit
test checks that there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from metalscope.api import openapi_schemas as schemas
from metalscope.api.middleware.request_id import HEADER_NAME as REQUEST_ID_HEADER
from metalscope.api.middleware.request_id import ID_FORMAT
from metalscope.api.openapi_pages import PAGE_OPERATIONS
from metalscope.api.versions import (
    LEGACY_HEADER,
    MAX_HEADER,
    MAX_VERSION,
    MIN_HEADER,
    MIN_VERSION,
    STANDARD_HEADER,
    version_text,
)
from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, load_group

Schema = dict[str, Any]

ERROR_REASONS = {
    400: "Invalid request, or malformed API version header",
    401: "Authentication required (http_basic and keystone modes)",
    403: "Access denied by policy",
    404: "Not found",
    406: "Unsupported API version",
    408: "The request head or body did not arrive within [DEFAULT]header_timeout or body_timeout",
    409: "Locked or already exists, retry later",
    413: "Request body too large, or too costly to parse ([DEFAULT]max_parsing_bytes)",
    431: "Request header line, header count or head size over the limits",
    503: "Retry later: Keystone or Ironic could not be reached, the body budget is spent "
         "(Retry-After), or the database is full",
}

VERSION_HEADERS = [
    {"name": LEGACY_HEADER, "in": "header", "required": False,
     "description": f"Requested microversion, `X.Y` ({version_text(MIN_VERSION)} to "
                    f"{version_text(MAX_VERSION)}) or `latest` (the default)",
     "schema": {"type": "string", "pattern": schemas.VERSION_PATTERN}},
    {"name": STANDARD_HEADER, "in": "header", "required": False,
     "description": "`baremetal-introspection X.Y` (entries of other services are ignored); "
                    "the legacy header wins when both are sent",
     "schema": {"type": "string"}},
]

#: Every response of the application carries both (spec 2.2), and its request id.
HEADERS = {name: {"required": True, "schema": {"type": "string", "enum": [value]}}
           for name, value in ((MIN_HEADER, version_text(MIN_VERSION)),
                                      (MAX_HEADER, version_text(MAX_VERSION)))}
HEADERS[REQUEST_ID_HEADER] = {"required": True,
                             "description": "This request's id, as in the service's log",
                             "schema": {"type": "string", "pattern": f"^{ID_FORMAT.pattern}$"}}
RESPONSE_HEADERS = {name: {"$ref": f"#/components/headers/{name}"} for name in HEADERS}
VERSION_PARAMETERS = [{"$ref": f"#/components/parameters/{p['name']}"} for p in VERSION_HEADERS]

NODE_ID = {"name": "node_id", "in": "path", "required": True,
           "description": "Ironic node UUID, or (1.5) node name",
           "schema": {"type": "string", "minLength": 1, "pattern": schemas.NODE_ID_PATTERN}}
RULE_UUID = {"name": "uuid", "in": "path", "required": True,
             "schema": {"type": "string", "format": "uuid"}}
VERSION_SEGMENT = {"name": "version", "in": "path", "required": True,
                   "description": "Major version; only `v1` exists",
                   "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$"}}
MANAGE_BOOT = {"name": "manage_boot", "in": "query", "required": False,
               "description": "(1.13) whether MetalScope boots the node; case-insensitive",
               "schema": {"type": "string", "enum": ["1", "t", "true", "on", "y", "yes",
                                                     "0", "f", "false", "off", "n", "no"]}}
METHOD = {"name": "method", "in": "query", "required": False,
          "description": "(1.20) how the hardware is collected: `inband` (the ramdisk) or "
                         "`redfish` (out of band, from the BMC in the node's driver_info); "
                         "default `[redfish]default_method`. Ignored below 1.20, as upstream "
                         "ignores unknown query parameters; anything else is 400 from 1.20",
          "schema": {"type": "string", "enum": schemas.METHODS}}
LIST_QUERY = [
    {"name": "marker", "in": "query", "required": False,
     "description": "UUID of the last status of the previous page",
     "schema": {"type": "string", "format": "uuid"}},
    {"name": "limit", "in": "query", "required": False,
     "description": "Page size; 0 or absent means `[DEFAULT]api_max_limit` (1000 by default)",
     "schema": {"type": "integer", "minimum": 0, "maximum": 1000}},
    {"name": "state", "in": "query", "required": False,
     "description": "(1.18) comma-separated states to include",
     "schema": {"type": "string", "pattern": schemas.STATE_LIST_PATTERN}},
]

HISTORY_NOTE = ("Since API 1.19; below it this path answers 404 as an unknown path does. "
                "History is kept only with `[processing]store_data = database` and "
                "`[history]enabled`; otherwise 404.")
VERSION_NUMBER = {"name": "version", "in": "path", "required": True,
                  "description": "A version number of the node's history (1, 2, ...)",
                  "schema": {"type": "integer", "minimum": 1}}
HISTORY_QUERY = (
    {"name": "marker", "in": "query", "required": False,
     "description": "The last version number of the previous page",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "limit", "in": "query", "required": False,
     "description": "Page size; 0 or absent means `[DEFAULT]api_max_limit` (1000 by default)",
     "schema": {"type": "integer", "minimum": 0, "maximum": 1000}},
)
DIFF_QUERY = (
    {"name": "from", "in": "query", "required": False,
     "description": "The older version (default: the version before `to`)",
     "schema": {"type": "integer", "minimum": 1}},
    {"name": "to", "in": "query", "required": False,
     "description": "The newer version (default: the latest)",
     "schema": {"type": "integer", "minimum": 1}},
)


def json_body(schema: Schema, required: bool = True, example: Any = None) -> Schema:
    content: Schema = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"required": required, "content": {"application/json": content}}


def json_response(description: str, schema: Schema, links: Schema | None = None) -> Schema:
    response: Schema = {"description": description, "headers": RESPONSE_HEADERS,
                        "content": {"application/json": {"schema": schema}}}
    if links:
        response["links"] = links
    return response


NO_CONTENT = {"description": "Done; empty body", "headers": RESPONSE_HEADERS}
ACCEPTED = {"202": json_response("Accepted; the work goes on in the background",
                                 schemas.ref("Accepted"))}


def link(operation_id: str, **parameters: str) -> Schema:
    return {"operationId": operation_id, "parameters": parameters}


NODE_LINKS = {name: link(op, node_id="$response.body#/uuid") for name, op in (
    ("GetStatus", "getIntrospectionStatus"), ("GetData", "getIntrospectionData"),
    ("GetUnprocessedData", "getUnprocessedIntrospectionData"))}
RULE_LINKS = {"GetRule": link("getRule", uuid="$response.body#/uuid"),
              "DeleteRule": link("deleteRule", uuid="$response.body#/uuid")}
FIRST_STATUS_LINKS = {"GetFirstStatus": link("getIntrospectionStatus",
                                             node_id="$response.body#/introspection/0/uuid")}
FIRST_VERSION_LINKS = {"GetFirstVersion": link(
    "getHardwareVersion", node_id="$response.body#/history/0/uuid",
    version="$response.body#/history/0/version")}
FIRST_RULE_LINKS = {"GetFirstRule": link("getRule", uuid="$response.body#/rules/0/uuid")}


@dataclass(frozen=True)
class Operation:
    """How one route is described: everything but FastAPI's summary."""

    operation_id: str
    responses: Schema
    errors: tuple[int, ...] = ()
    parameters: tuple[Schema, ...] = ()
    body: Schema | None = None
    public: bool = False
    description: str = ""
    extra: Schema = field(default_factory=dict)
    #: The ``HEAD`` twin of a ``GET``: the same answers without bodies.
    head: bool = False

    def render(self, summary: str | None) -> Schema:
        # Public routes need no credentials, but their policy rule is still evaluated.
        codes = sorted({400, 403, 406, 408, 431, 503, *self.errors,
                        *(() if self.public else (401,))})
        responses = {**self.responses, **{str(code): {"$ref": f"#/components/responses/{code}"}
                                          for code in codes}}
        if self.head:
            responses = {code: bodiless(code, response) for code, response in responses.items()}
        operation: Schema = {"operationId": self.operation_id, "summary": summary,
                             "parameters": [*self.parameters, *VERSION_PARAMETERS],
                             "responses": responses}
        if self.description:
            operation["description"] = self.description
        if self.body is not None:
            operation["requestBody"] = self.body
        if not self.public:
            operation["security"] = [{}, {"httpBasic": []}, {"keystoneToken": []}]
        return {k: v for k, v in operation.items() if v is not None}


def bodiless(code: str, response: Schema) -> Schema:
    """A response as ``HEAD`` gets it: description and headers only."""
    description = response.get("description") or ERROR_REASONS.get(int(code), "")
    return {"description": description, "headers": RESPONSE_HEADERS}


def head_of(get: Operation) -> Operation:
    return replace(get, operation_id=f"{get.operation_id}Head", head=True,
                   description="Same status and headers as GET, no body")


def rule_creation(operation_id: str, parameters: tuple[Schema, ...] = ()) -> Operation:
    rule = json_response("The rule (200 when the requested version is below 1.6)",
                         schemas.ref("Rule"), RULE_LINKS)
    return Operation(operation_id, {"200": rule, "201": rule}, (409, 413), parameters,
                     json_body(schemas.ref("RuleRequest"), example=schemas.RULE_EXAMPLE))


METRICS_TYPES = ("text/plain; version=1.0.0; charset=utf-8",
                 "text/plain; version=0.0.4; charset=utf-8",
                 "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores")
METRICS_RESPONSE = {
    "description": "Prometheus text format (OpenMetrics when the Accept header asks for it)",
    "headers": RESPONSE_HEADERS,
    "content": {media: {"schema": {"type": "string"}} for media in METRICS_TYPES}}
METRICS_NOTE = ("Not versioned. Obeys the auth strategy and the policy rule `metrics:get`; "
                "404 when `[metrics]enabled` is false or `[metrics]port` serves the metrics on "
                "a separate listener instead.")

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/"): Operation("listVersions", {"200": json_response(
        "Major versions", schemas.ref("VersionList"))}, public=True),
    ("get", "/{version}"): Operation("showVersion", {"200": json_response(
        "Resources of the major version", schemas.ref("ResourceList"))}, (404,),
        (VERSION_SEGMENT,), public=True),
    ("post", "/v1/continue"): Operation(
        "continueIntrospection",
        {"200": json_response("The node was found; processing is done",
                              schemas.ref("ContinueResult"), NODE_LINKS)},
        (404, 409, 413), body=json_body(schemas.ref("IntrospectionData")), public=True,
        description="Ramdisk callback. The body is parsed as JSON whatever its Content-Type."),
    ("post", "/v1/introspection/{node_id}"): Operation(
        "startIntrospection", ACCEPTED, (404, 409, 413), (NODE_ID, MANAGE_BOOT, METHOD)),
    ("get", "/v1/introspection/{node_id}"): Operation(
        "getIntrospectionStatus", {"200": json_response("Status", schemas.ref("Status"))},
        (404,), (NODE_ID,)),
    ("get", "/v1/introspection"): Operation(
        "listIntrospectionStatuses",
        {"200": json_response("Statuses, newest first", schemas.ref("StatusList"),
                              FIRST_STATUS_LINKS)},
        (404,), tuple(LIST_QUERY)),
    ("post", "/v1/introspection/{node_id}/abort"): Operation(
        "abortIntrospection", ACCEPTED, (404, 409), (NODE_ID,)),
    ("get", "/v1/introspection/{node_id}/data"): Operation(
        "getIntrospectionData",
        {"200": json_response("Processed data", schemas.ref("StoredData"))}, (404,), (NODE_ID,)),
    ("get", "/v1/introspection/{node_id}/data/unprocessed"): Operation(
        "getUnprocessedIntrospectionData",
        {"200": json_response("Data as posted by the ramdisk", schemas.ref("StoredData"))},
        (404,), (NODE_ID,)),
    ("post", "/v1/introspection/{node_id}/data/unprocessed"): Operation(
        "reapplyIntrospection", ACCEPTED, (404, 409, 413), (NODE_ID,),
        json_body(schemas.ref("IntrospectionData"), required=False),
        description="Process the stored data again, or (1.15) the data in the body"),
    ("get", "/v1/introspection/{node_id}/history"): Operation(
        "listHardwareHistory",
        {"200": json_response("Versions, newest first", schemas.ref("HistoryList"),
                              FIRST_VERSION_LINKS)},
        (404,), (NODE_ID, *HISTORY_QUERY), description=HISTORY_NOTE),
    ("get", "/v1/introspection/{node_id}/history/{version}"): Operation(
        "getHardwareVersion",
        {"200": json_response("The version and its processed data",
                              schemas.ref("HistoryVersionData"))},
        (404,), (NODE_ID, VERSION_NUMBER), description=HISTORY_NOTE),
    ("get", "/v1/introspection/{node_id}/history/{version}/unprocessed"): Operation(
        "getHardwareVersionUnprocessed",
        {"200": json_response("The version's data as posted by the ramdisk",
                              schemas.ref("StoredData"))},
        (404,), (NODE_ID, VERSION_NUMBER), description=HISTORY_NOTE),
    ("get", "/v1/introspection/{node_id}/diff"): Operation(
        "getHardwareDiff",
        {"200": json_response("The diff, grouped by category", schemas.ref("HardwareDiff"))},
        (404,), (NODE_ID, *DIFF_QUERY),
        description=f"{HISTORY_NOTE} `from` equal to `to` gives an unchanged diff."),
    ("get", "/v1/rules"): Operation(
        "listRules", {"200": json_response("Rules, oldest first", schemas.ref("RuleList"),
                                           FIRST_RULE_LINKS)}),
    ("post", "/v1/rules"): rule_creation("createRule"),
    ("delete", "/v1/rules"): Operation("deleteRules", {"204": NO_CONTENT}),
    ("post", "/v1/rules/{uuid}"): rule_creation("createRuleWithUuid", (RULE_UUID,)),
    ("get", "/v1/rules/{uuid}"): Operation(
        "getRule", {"200": json_response("The rule", schemas.ref("Rule"))}, (404,),
        (RULE_UUID,)),
    ("delete", "/v1/rules/{uuid}"): Operation("deleteRule", {"204": NO_CONTENT}, (404,),
                                              (RULE_UUID,)),
    ("get", "/metrics"): Operation("getMetrics", {"200": METRICS_RESPONSE}, (404,),
                                   description=METRICS_NOTE),
}

OPERATIONS.update({("head", path): head_of(operation)
                   for (method, path), operation in list(OPERATIONS.items()) if method == "get"})

SECURITY_SCHEMES = {
    "httpBasic": {"type": "http", "scheme": "basic"},
    "keystoneToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
}


def components() -> Schema:
    rule_request = schemas.rule_request_schema(sorted(load_group(CONDITIONS_GROUP)),
                                               sorted(load_group(ACTIONS_GROUP)))
    errors = {str(code): json_response(reason, schemas.ref("Error"))
              for code, reason in ERROR_REASONS.items()}
    return {"schemas": {**schemas.COMPONENT_SCHEMAS, "RuleRequest": rule_request},
            "parameters": {p["name"]: p for p in VERSION_HEADERS}, "headers": HEADERS,
            "responses": errors, "securitySchemes": SECURITY_SCHEMES}


def build_document(app: FastAPI) -> Schema:
    """The whole document: FastAPI's paths and summaries, described by :data:`OPERATIONS`."""
    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    for path, methods in document.get("paths", {}).items():
        for method, operation in methods.items():
            described = OPERATIONS.get((method, path)) or PAGE_OPERATIONS.get((method, path))
            if described is not None:
                methods[method] = described.render(operation.get("summary"))
    document["components"] = components()
    return document


def install(app: FastAPI) -> None:
    """Serve :func:`build_document` (built once, on first use) as the app's OpenAPI document."""
    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
