"""Turning a ``POST /v1/rules`` body into a :class:`~metalscope.rules.model.Rule` (spec 7.2).

Checks run in upstream's order and the first failure is reported, with upstream's texts
(spec 2.4.10): UUID, scope, the shape of ``conditions`` then of ``actions`` (the details
read like the first line of a JSON-schema error), then each condition's scheme, JSONPath
and parameters, then each action's parameters. Every failure is a
:class:`~metalscope.errors.RuleValidationError` (400); so is a body that is not an object
(quirk Q-API-4).

Choices where upstream crashes or says nothing: a non-string ``description`` or ``scope``
is refused (``Invalid description: expected a string`` / ``Invalid scope: expected a
string``), and ``null`` for ``conditions`` or ``actions`` means the same as leaving the key
out (so a null ``actions`` is the usual "should be non-empty" failure).
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any

import jsonpath_rw

from metalscope.errors import RuleValidationError
from metalscope.rules.engine import SCHEMES, split_field
from metalscope.rules.model import Action, Condition, Rule
from metalscope.rules.spec import RuleAction, RuleCondition

MULTIPLE_VALUES = ("all", "any", "first")
CONDITION_KEYS = frozenset({"op", "field", "multiple", "invert"})
MAX_SCOPE_LENGTH = 255


def parse_rule(body: Any, conditions: Mapping[str, RuleCondition],
               actions: Mapping[str, RuleAction]) -> Rule:
    """Validate an API body against the registered operators and actions; build the Rule.

    Raises RuleValidationError with the upstream message on the first problem found. A
    missing (or empty) ``uuid`` is replaced by a new random one.
    """
    if not isinstance(body, dict):
        raise RuleValidationError(
            f"Invalid data: expected a JSON object, got {type(body).__name__}")
    rule_uuid = _rule_uuid(body.get("uuid"))
    scope = _optional_text("scope", body.get("scope"))
    description = _optional_text("description", body.get("description"))
    if scope is not None and len(scope) > MAX_SCOPE_LENGTH:
        raise RuleValidationError(
            "Invalid scope: the length of the scope should be within 255 characters")
    conditions_json = _list_or_empty(body.get("conditions"))
    actions_json = _list_or_empty(body.get("actions"))
    _check_schema("conditions", _conditions_schema_problem(conditions_json, conditions))
    _check_schema("actions", _actions_schema_problem(actions_json, actions))
    return Rule(uuid=rule_uuid, description=description, scope=scope,
                conditions=[_parse_condition(c, conditions) for c in conditions_json],
                actions=[_parse_action(a, actions) for a in actions_json])


# -- top-level fields --------------------------------------------------------------------------
def is_uuid_like(value: Any) -> bool:
    """Whether ``value`` is a UUID string (any case, with or without hyphens or braces)."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid_lib.UUID(value)
    except ValueError:
        return False
    bare = value.lower().removeprefix("urn:").removeprefix("uuid:")
    return parsed.hex == bare.strip("{}").replace("-", "")


def _rule_uuid(value: Any) -> str:
    if value is None or value == "":
        return str(uuid_lib.uuid4())
    if not is_uuid_like(value):
        raise RuleValidationError("Invalid UUID value")
    return str(value)


def _optional_text(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RuleValidationError(f"Invalid {name}: expected a string")
    return value


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


# -- shape (what upstream checks with a JSON schema) ------------------------------------------
def _check_schema(what: str, problem: str | None) -> None:
    if problem is not None:
        raise RuleValidationError(f"Validation failed for {what}: {problem}")


def _enum_problem(value: Any, allowed: Mapping[str, Any] | tuple[str, ...]) -> str | None:
    if isinstance(value, str) and value in allowed:
        return None
    return f"{value!r} is not one of {sorted(allowed)!r}"


def _item_problem(item: Any, required: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict):
        return f"{item!r} is not of type 'object'"
    missing = [key for key in required if key not in item]
    return f"{missing[0]!r} is a required property" if missing else None


def _condition_problem(item: Any, operators: Mapping[str, RuleCondition]) -> str | None:
    problem = _item_problem(item, ("op", "field"))
    if problem is None:
        problem = _enum_problem(item["op"], operators)
    if problem is None and not isinstance(item["field"], str):
        problem = f"{item['field']!r} is not of type 'string'"
    if problem is None and "multiple" in item:
        problem = _enum_problem(item["multiple"], MULTIPLE_VALUES)
    if problem is None and "invert" in item and not isinstance(item["invert"], bool):
        problem = f"{item['invert']!r} is not of type 'boolean'"
    return problem


def _conditions_schema_problem(value: Any,
                               operators: Mapping[str, RuleCondition]) -> str | None:
    if not isinstance(value, list):
        return f"{value!r} is not of type 'array'"
    problems = (_condition_problem(item, operators) for item in value)
    return next((p for p in problems if p is not None), None)


def _action_problem(item: Any, actions: Mapping[str, RuleAction]) -> str | None:
    problem = _item_problem(item, ("action",))
    return problem if problem is not None else _enum_problem(item["action"], actions)


def _actions_schema_problem(value: Any, actions: Mapping[str, RuleAction]) -> str | None:
    if not isinstance(value, list):
        return f"{value!r} is not of type 'array'"
    if not value:
        return "[] should be non-empty"
    problems = (_action_problem(item, actions) for item in value)
    return next((p for p in problems if p is not None), None)


# -- each condition and action -----------------------------------------------------------------
def check_field(field: str) -> None:
    """The field's scheme must be ``data`` or ``node`` and its path valid JSONPath."""
    scheme, path = split_field(field)
    if scheme not in SCHEMES:
        raise RuleValidationError(f"Unsupported scheme for field: {scheme}, "
                                  "valid values are node:// or data://")
    try:
        jsonpath_rw.parse(path)
    except Exception as exc:  # jsonpath-rw raises bare Exception (and worse) on bad syntax
        raise RuleValidationError(
            f"Unable to parse field JSON path {field}: {exc}") from exc


def _parse_condition(item: dict[str, Any], operators: Mapping[str, RuleCondition]) -> Condition:
    check_field(item["field"])
    params = {k: v for k, v in item.items() if k not in CONDITION_KEYS}
    try:
        operators[item["op"]].validate(params)
    except ValueError as exc:
        raise RuleValidationError(
            f"Invalid parameters for operator {item['op']}: {exc}") from exc
    return Condition(op=item["op"], field=item["field"], multiple=item.get("multiple", "any"),
                     invert=item.get("invert", False), params=params)


def _parse_action(item: dict[str, Any], actions: Mapping[str, RuleAction]) -> Action:
    params = {k: v for k, v in item.items() if k != "action"}
    try:
        actions[item["action"]].validate(params)
    except ValueError as exc:
        raise RuleValidationError(
            f"Invalid parameters for action {item['action']}: {exc}") from exc
    return Action(action=item["action"], params=params)
