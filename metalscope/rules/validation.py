"""Turning a ``POST /v1/rules`` body into a :class:`~metalscope.rules.model.Rule` (spec 7.2).

Checks run in upstream's order and the first failure is reported, with upstream's texts
(spec 2.4.10): UUID, scope; then the conditions (their JSON schema, then each condition's
scheme, JSONPath and parameters); then the actions (their JSON schema, then each action's
parameters). A schema failure carries the whole text upstream gives: the problem, the
schema keyword and where it sits in the schema, and the offending value
(:mod:`metalscope.rules.schema`). Every failure is a
:class:`~metalscope.errors.RuleValidationError` (400); so is a body that is not an object
(quirk Q-API-4).

``diff://`` fields (the hardware diff, :mod:`metalscope.rules.engine`) are MetalScope's:
refused with upstream's message unless ``allow_diff`` (API 1.19 and later, rules files).

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
from metalscope.rules.engine import DIFF_SCHEMES, SCHEMES, split_field
from metalscope.rules.model import Action, Condition, Rule
from metalscope.rules.schema import actions_schema, conditions_schema, schema_error
from metalscope.rules.spec import RuleAction, RuleCondition

CONDITION_KEYS = frozenset({"op", "field", "multiple", "invert"})
MAX_SCOPE_LENGTH = 255


def parse_rule(body: Any, operators: Mapping[str, RuleCondition],
               actions: Mapping[str, RuleAction], *, allow_diff: bool = False) -> Rule:
    """Validate an API body against the registered operators and actions; build the Rule.

    ``allow_diff`` accepts ``diff://`` fields (requests at API 1.19 and later, rules
    files); without it they get upstream's "Unsupported scheme" 400, as in 1.18.

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
    conditions = _parse_conditions(_list_or_empty(body.get("conditions")), operators,
                                   allow_diff)
    return Rule(uuid=rule_uuid, description=description, scope=scope, conditions=conditions,
                actions=_parse_actions(_list_or_empty(body.get("actions")), actions))


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


# -- the lists ---------------------------------------------------------------------------------
def _check_schema(what: str, instance: Any, schema: dict[str, Any]) -> None:
    error = schema_error(instance, schema)
    if error is not None:
        raise RuleValidationError(f"Validation failed for {what}: {error}")


def _parse_conditions(items: Any, operators: Mapping[str, RuleCondition],
                      allow_diff: bool = False) -> list[Condition]:
    _check_schema("conditions", items, conditions_schema(operators))
    return [_parse_condition(item, operators, allow_diff) for item in items]


def _parse_actions(items: Any, actions: Mapping[str, RuleAction]) -> list[Action]:
    _check_schema("actions", items, actions_schema(actions))
    return [_parse_action(item, actions) for item in items]


# -- each condition and action -----------------------------------------------------------------
def check_field(field: str, allow_diff: bool = False) -> None:
    """The field's scheme must be ``data`` or ``node`` (or ``diff`` with ``allow_diff``)
    and its path valid JSONPath."""
    scheme, path = split_field(field)
    if allow_diff and scheme not in DIFF_SCHEMES:
        raise RuleValidationError(f"Unsupported scheme for field: {scheme}, "
                                  "valid values are node://, data:// or diff://")
    if not allow_diff and scheme not in SCHEMES:
        raise RuleValidationError(f"Unsupported scheme for field: {scheme}, "
                                  "valid values are node:// or data://")
    try:
        jsonpath_rw.parse(path)
    except Exception as exc:  # jsonpath-rw raises bare Exception (and worse) on bad syntax
        raise RuleValidationError(
            f"Unable to parse field JSON path {field}: {exc}") from exc


def _parse_condition(item: dict[str, Any], operators: Mapping[str, RuleCondition],
                     allow_diff: bool = False) -> Condition:
    check_field(item["field"], allow_diff)
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
