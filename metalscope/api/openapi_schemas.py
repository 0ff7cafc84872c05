"""JSON schemas of the v1 API's bodies, for the OpenAPI document (spec 2.4).

Plain data: the shapes MetalScope sends and accepts, as precise as the spec makes them, so
that a schema-driven fuzzer can check every answer against them.
"""

from __future__ import annotations

from typing import Any

from metalscope.state_machine import State

Schema = dict[str, Any]

#: ``2025-03-04T09:15:27.481922`` or ``2025-03-04T09:15:27``: UTC without an offset (spec 2.4.5).
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
STATE_NAMES = [state.value for state in State]
#: One state or a comma-separated list of states (``GET /v1/introspection?state=``).
STATE_LIST_PATTERN = "^({0})(,({0}))*$".format("|".join(STATE_NAMES))
#: An Ironic node UUID or name (names are RFC 3986 unreserved characters). A leading dot is
#: left out so that ``.`` and ``..`` are not generated: HTTP clients fold them into the path.
NODE_ID_PATTERN = r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$"
#: What is accepted: ``X.Y`` within 1.0-1.20, ``latest`` in any case, or empty (absent).
VERSION_PATTERN = r"^[ \t]*([Ll][Aa][Tt][Ee][Ss][Tt]|0*1\.0*([0-9]|1[0-9]|20))?[ \t]*$"
#: How an introspection collects the hardware (API 1.20).
METHODS = ["inband", "redfish"]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: Schema, required: list[str] | None = None,
            closed: bool = True, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties,
                      "required": required if required is not None else list(properties),
                      "additionalProperties": not closed}
    return {**schema, **extra}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


LINK = _object({"href": {"type": "string"}, "rel": {"type": "string", "enum": ["self"]}})
LINKS = {"type": "array", "items": ref("Link"), "minItems": 1, "maxItems": 1}

ERROR = _object({"error": _object({"message": {"type": "string"}})},
                description="Every error: `{\"error\": {\"message\": ...}}`")

STATUS = _object({
    "error": _nullable({"type": "string"}),
    "finished": {"type": "boolean"},
    "finished_at": _nullable({"type": "string", "pattern": TIMESTAMP_PATTERN}),
    "links": LINKS,
    "started_at": _nullable({"type": "string", "pattern": TIMESTAMP_PATTERN}),
    "state": {"type": "string", "enum": STATE_NAMES},
    "uuid": {"type": "string", "format": "uuid"},
    "method": {"type": "string", "enum": METHODS},
}, required=["error", "finished", "finished_at", "links", "started_at", "state", "uuid"],
    description="Status of one node's introspection (spec 2.4.5); (1.20) `method`: how it "
                "collects the hardware")

CONDITION = _object({
    "op": {"type": "string"}, "field": {"type": "string"},
    "multiple": {"type": "string", "enum": ["any", "all", "first"]},
    "invert": {"type": "boolean"},
}, closed=False, description="A rule condition: operator, field and the operator's parameters")

ACTION = _object({"action": {"type": "string"}}, closed=False,
                 description="A rule action: its name and its parameters")

RULE_SUMMARY = _object({
    "uuid": {"type": "string"},
    "description": _nullable({"type": "string"}),
    "scope": _nullable({"type": "string"}),
    "links": LINKS,
})

RULE = _object({
    **RULE_SUMMARY["properties"],
    "conditions": {"type": "array", "items": ref("Condition")},
    "actions": {"type": "array", "items": ref("Action"), "minItems": 1},
}, description="An introspection rule, full form (spec 2.4.10)")

STORED_DATA = {"type": "object", "description": "The stored introspection data, verbatim"}

INTROSPECTION_DATA = {
    "type": "object",
    "description": "Ramdisk data (spec 6): `inventory` with `interfaces`, `bmc_address`, "
                   "`cpu`, `memory`, `disks`; `boot_interface`, `root_disk`, `logs`, ...",
    "properties": {
        "inventory": {"type": "object", "properties": {
            "interfaces": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "mac_address": {"type": "string"},
                "ipv4_address": _nullable({"type": "string"})}}},
            "bmc_address": {"type": "string"},
        }},
        "boot_interface": {"type": "string"},
        "logs": {"type": "string", "description": "base64 tarball, never stored"},
    },
}


#: The categories of a hardware diff (``metalscope.hardware``), in the document's order.
DIFF_CATEGORIES = ("system", "firmware", "cpu", "memory", "disks", "nics", "pci",
                   "accelerators", "boot")
_NULL_INT = _nullable({"type": "integer", "minimum": 0})
_TIME = _nullable({"type": "string", "pattern": TIMESTAMP_PATTERN})

HISTORY_VERSION = _object({
    "uuid": {"type": "string", "format": "uuid"},
    "version": {"type": "integer", "minimum": 1},
    "started_at": _TIME,
    "finished_at": _TIME,
    "recorded_at": _TIME,
    "source": {"type": "string"},
    "error": _nullable({"type": "string"}),
    "changed": _nullable({"type": "boolean"}),
    "summary": _nullable({"type": "string"}),
    "raw_bytes": _NULL_INT,
    "stored_bytes": _NULL_INT,
    "links": {"type": "array", "items": _object({
        "href": {"type": "string"}, "rel": {"type": "string", "enum": ["self", "unprocessed"]}}),
        "minItems": 2, "maxItems": 2},
}, description="(1.19) One recorded version of a node's hardware, without its data")

HISTORY_VERSION_DATA = _object({
    **HISTORY_VERSION["properties"],
    "data": {"type": "object", "description": "The processed introspection data of the version"},
}, description="(1.19) One version with its processed data")

_COMPONENT = _object({"id": {"type": "string"}, "attributes": {"type": "object"}})
_OLD_NEW = _object({"old": {}, "new": {}}, closed=False)
_CHANGED_COMPONENT = _object({"id": {"type": "string"}, "changes": {
    "type": "object", "additionalProperties": ref("DiffChange")}})
DIFF_CATEGORY = _object({
    "added": {"type": "array", "items": ref("DiffComponent")},
    "removed": {"type": "array", "items": ref("DiffComponent")},
    "changed": {"type": "array", "items": ref("DiffChangedComponent")},
}, description="Components of one category, keyed by stable identity")

DIFF = _object({
    "changed": {"type": "boolean"},
    "summary": {"type": "string", "description": "One line; `no hardware change` when unchanged"},
    "counts": _object({name: {"type": "integer", "minimum": 0}
                       for name in ("added", "removed", "changed")}),
    "memory": {"type": "object", "description": "`total_mb`: `{old, new, delta}` when known"},
    "components": _object({name: ref("DiffCategory") for name in DIFF_CATEGORIES}),
    "from": ref("HistoryVersion"),
    "to": ref("HistoryVersion"),
}, description="(1.19) The hardware diff from version `from` to version `to`")


def rule_request_schema(operators: list[str], actions: list[str]) -> Schema:
    """The ``POST /v1/rules`` body, with the operators and actions this service knows."""
    condition = _object({
        "op": {"type": "string", "enum": operators}, "field": {"type": "string"},
        "multiple": {"type": "string", "enum": ["any", "all", "first"]},
        "invert": {"type": "boolean"},
    }, required=["op", "field"], closed=False)
    action = _object({"action": {"type": "string", "enum": actions}}, closed=False)
    return _object({
        "uuid": {"type": "string", "format": "uuid"},
        "description": _nullable({"type": "string"}),
        "scope": _nullable({"type": "string", "maxLength": 255}),
        "conditions": _nullable({"type": "array", "items": condition}),
        "actions": {"type": "array", "items": action, "minItems": 1},
    }, required=["actions"], closed=False)


RULE_EXAMPLE = {
    "description": "Tag big-memory machines",
    "conditions": [{"op": "ge", "field": "memory_mb", "value": 262144}],
    "actions": [{"action": "add-trait", "name": "CUSTOM_BIG_MEMORY"},
                {"action": "set-capability", "name": "memory_class", "value": "large"}],
}

COMPONENT_SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Link": LINK,
    "Status": STATUS,
    "StatusList": _object({"introspection": {"type": "array", "items": ref("Status")}}),
    "Condition": CONDITION,
    "Action": ACTION,
    "Rule": RULE,
    "RuleSummary": RULE_SUMMARY,
    "RuleList": _object({"rules": {"type": "array", "items": ref("RuleSummary")}}),
    "VersionList": _object({"versions": {"type": "array", "items": _object({
        "id": {"type": "string"}, "links": LINKS, "status": {"type": "string"}})}}),
    "ResourceList": _object({"resources": {"type": "array", "items": _object({
        "links": LINKS, "name": {"type": "string"}})}}),
    "ContinueResult": _object({"uuid": {"type": "string", "format": "uuid"}}),
    "Accepted": _object({}, description="`{}`"),
    "StoredData": STORED_DATA,
    "IntrospectionData": INTROSPECTION_DATA,
    "HistoryVersion": HISTORY_VERSION,
    "HistoryVersionData": HISTORY_VERSION_DATA,
    "HistoryList": _object({"history": {"type": "array", "items": ref("HistoryVersion")}}),
    "DiffComponent": _COMPONENT,
    "DiffChange": _OLD_NEW,
    "DiffChangedComponent": _CHANGED_COMPONENT,
    "DiffCategory": DIFF_CATEGORY,
    "HardwareDiff": DIFF,
}
