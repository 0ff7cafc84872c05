"""parse_rule: validation of POST /v1/rules bodies (spec 2.4.10, 7.2)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from metalscope.errors import RuleValidationError
from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, load_group
from metalscope.rules.model import Rule
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.rules.validation import is_uuid_like, parse_rule

RULE_UUID = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
OPERATORS = ["contains", "eq", "ge", "gt", "in-net", "is-empty", "le", "lt", "matches", "ne"]
ACTIONS = ["add-trait", "example", "extend-attribute", "fail", "remove-trait",
           "set-attribute", "set-capability"]


@pytest.fixture
def conditions() -> dict[str, RuleCondition]:
    return {name: ep.load()() for name, ep in load_group(CONDITIONS_GROUP).items()}


@pytest.fixture
def actions() -> dict[str, RuleAction]:
    return {name: ep.load()() for name, ep in load_group(ACTIONS_GROUP).items()}


@pytest.fixture
def parse(conditions: dict[str, RuleCondition], actions: dict[str, RuleAction]) -> Any:
    def run(body: Any) -> Rule:
        return parse_rule(body, conditions, actions)
    return run


def fail_action() -> list[dict[str, Any]]:
    return [{"action": "fail", "message": "boom"}]


def first_paragraph(message: str) -> str:
    return message.split("\n\n", 1)[0]


def error_of(parse: Any, body: Any) -> str:
    with pytest.raises(RuleValidationError) as exc:
        parse(body)
    return str(exc.value)


class TestRegistry:
    def test_entry_points_are_conditions(self, conditions: dict[str, RuleCondition]) -> None:
        """Every built-in operator loads from its entry point and follows the contract."""
        assert sorted(conditions) == OPERATORS
        assert all(isinstance(c, RuleCondition) for c in conditions.values())

    def test_entry_points_are_actions(self, actions: dict[str, RuleAction]) -> None:
        """Every built-in action loads from its entry point and follows the contract."""
        assert sorted(actions) == ACTIONS
        assert all(isinstance(a, RuleAction) for a in actions.values())


class TestValidRules:
    def test_functional_test_rule(self, parse: Any) -> None:
        """The rule of spec 13.2 case 29 is completed with multiple and invert defaults."""
        rule = parse({"conditions": [{"op": "eq", "field": "memory_mb", "value": 1024}],
                      "actions": fail_action(), "description": "Cool actions",
                      "scope": "sniper's scope"})
        uuid.UUID(rule.uuid)
        assert rule.as_dict() == {
            "uuid": rule.uuid, "description": "Cool actions", "scope": "sniper's scope",
            "links": [{"href": f"/v1/rules/{rule.uuid}", "rel": "self"}],
            "conditions": [{"op": "eq", "field": "memory_mb", "value": 1024,
                            "multiple": "any", "invert": False}],
            "actions": [{"action": "fail", "message": "boom"}]}

    def test_generated_uuids_differ(self, parse: Any) -> None:
        """Each rule without uuid gets a new uuid4."""
        first, second = parse({"actions": fail_action()}), parse({"actions": fail_action()})
        assert first.uuid != second.uuid
        assert uuid.UUID(first.uuid).version == 4

    def test_given_uuid_kept_verbatim(self, parse: Any) -> None:
        """A UUID-like uuid is stored exactly as given."""
        given = RULE_UUID.upper().replace("-", "")
        assert parse({"uuid": given, "actions": fail_action()}).uuid == given

    def test_empty_uuid_generates_one(self, parse: Any) -> None:
        """An empty uuid counts as absent."""
        uuid.UUID(parse({"uuid": "", "actions": fail_action()}).uuid)

    def test_defaults(self, parse: Any) -> None:
        """Without conditions, description and scope the rule has none."""
        rule = parse({"actions": fail_action()})
        assert (rule.conditions, rule.description, rule.scope) == ([], None, None)

    def test_null_conditions_mean_none(self, parse: Any) -> None:
        """A null conditions list is the same as an absent one."""
        assert parse({"conditions": None, "actions": fail_action()}).conditions == []

    def test_explicit_multiple_and_invert(self, parse: Any) -> None:
        """multiple and invert are kept apart from the operator parameters."""
        rule = parse({"conditions": [{"op": "contains", "field": "data://a[*].b",
                                      "value": "x", "multiple": "all", "invert": True}],
                      "actions": fail_action()})
        cond = rule.conditions[0]
        assert (cond.multiple, cond.invert, cond.params) == ("all", True, {"value": "x"})

    def test_params_stored_with_nulls(self, parse: Any) -> None:
        """Parameters are stored as given, null values included."""
        rule = parse({"actions": [{"action": "set-capability", "name": "x", "value": None}]})
        assert rule.actions[0].params == {"name": "x", "value": None}

    def test_spec_example_rule_set(self, parse: Any) -> None:
        """Every rule of the spec 7.7 example set is valid."""
        for body in SPEC_EXAMPLE_RULES:
            assert parse(body).actions

    def test_node_scheme_and_odd_paths(self, parse: Any) -> None:
        """node:// fields and recursive, quoted and indexed paths are accepted."""
        fields = ["node://driver_info.ipmi_address", "a..b", '"odd key".x', "a[0].b", "a[*]"]
        rule = parse({"conditions": [{"op": "is-empty", "field": f} for f in fields],
                      "actions": fail_action()})
        assert [c.field for c in rule.conditions] == fields

    def test_example_action_takes_anything(self, parse: Any) -> None:
        """The example action accepts arbitrary parameters."""
        assert parse({"actions": [{"action": "example", "a": 1}]}).actions[0].params == {"a": 1}

    def test_unknown_top_level_keys_ignored(self, parse: Any) -> None:
        """Keys such as links (a rule posted back) are ignored."""
        parse({"actions": fail_action(), "links": [], "created_at": "x"})


class TestTopLevelErrors:
    @pytest.mark.parametrize(("body", "name"), [
        ([], "list"), ("x", "str"), (1, "int"), (None, "NoneType"), (1.5, "float"),
        (True, "bool")])
    def test_body_not_an_object(self, parse: Any, body: Any, name: str) -> None:
        """Q-API-4: a body that is not an object is a validation error."""
        assert error_of(parse, body) == f"Invalid data: expected a JSON object, got {name}"

    @pytest.mark.parametrize("value", ["foo", RULE_UUID[:-1], 42, ["x"]])
    def test_invalid_uuid(self, parse: Any, value: Any) -> None:
        """A uuid that is not UUID-like is refused."""
        assert error_of(parse, {"uuid": value, "actions": fail_action()}) == "Invalid UUID value"

    def test_scope_too_long(self, parse: Any) -> None:
        """A scope over 255 characters is refused."""
        assert error_of(parse, {"scope": "s" * 256, "actions": fail_action()}) == (
            "Invalid scope: the length of the scope should be within 255 characters")

    def test_scope_at_limit(self, parse: Any) -> None:
        """A scope of exactly 255 characters is accepted."""
        assert parse({"scope": "s" * 255, "actions": fail_action()}).scope == "s" * 255

    def test_scope_not_a_string(self, parse: Any) -> None:
        """A scope that is not text is refused."""
        assert error_of(parse, {"scope": 12, "actions": fail_action()}) == (
            "Invalid scope: expected a string")

    def test_description_not_a_string(self, parse: Any) -> None:
        """A description that is not text is refused."""
        assert error_of(parse, {"description": {}, "actions": fail_action()}) == (
            "Invalid description: expected a string")


class TestConditionsSchema:
    @pytest.mark.parametrize(("value", "detail"), [
        ({}, "{} is not of type 'array'"),
        ("eq", "'eq' is not of type 'array'"),
        (["eq"], "'eq' is not of type 'object'"),
        ([{"field": "a"}], "'op' is a required property"),
        ([{"op": "eq", "value": 1}], "'field' is a required property"),
        ([{"op": "foo", "field": "a"}], f"'foo' is not one of {OPERATORS!r}"),
        ([{"op": ["eq"], "field": "a"}], f"['eq'] is not one of {OPERATORS!r}"),
        ([{"op": "eq", "field": 5, "value": 1}], "5 is not of type 'string'"),
        ([{"op": "eq", "field": "a", "value": 1, "multiple": "some"}],
         "'some' is not one of ['all', 'any', 'first']"),
        ([{"op": "eq", "field": "a", "value": 1, "multiple": None}],
         "None is not one of ['all', 'any', 'first']"),
        ([{"op": "eq", "field": "a", "value": 1, "invert": "yes"}],
         "'yes' is not of type 'boolean'"),
        ([{"op": "eq", "field": "a", "value": 1, "invert": 1}], "1 is not of type 'boolean'"),
    ])
    def test_shape(self, parse: Any, value: Any, detail: str) -> None:
        """Shape problems of conditions give Validation failed for conditions."""
        body = {"conditions": value, "actions": fail_action()}
        assert first_paragraph(error_of(parse, body)) == (
            f"Validation failed for conditions: {detail}")

    def test_full_detail(self, parse: Any) -> None:
        """The whole text upstream gives: the problem, the failed keyword and where it sits in
        the schema (printed as upstream's schema prints), and the offending value."""
        body = {"conditions": [{"op": "foo", "field": "a"}], "actions": fail_action()}
        assert error_of(parse, body) == UNKNOWN_OPERATOR

    @pytest.mark.parametrize(("value", "schema_at", "instance_at", "shown"), [
        ({}, "schema", "instance", "{}"),
        ([{"field": "a"}], "schema['items']", "instance[0]", "{'field': 'a'}"),
        ([{"op": "eq", "field": "a", "value": 1}, {"op": "eq", "field": 5, "value": 1}],
         "schema['items']['properties']['field']", "instance[1]['field']", "5"),
    ])
    def test_schema_and_instance_paths(self, parse: Any, value: Any, schema_at: str,
                                       instance_at: str, shown: str) -> None:
        """Where the failed keyword is in the schema and where the value is in the list."""
        paragraphs = error_of(parse, {"conditions": value, "actions": fail_action()}).split(
            "\n\n")
        assert len(paragraphs) == 3
        assert paragraphs[1].startswith("Failed validating ") and (
            paragraphs[1].split("\n")[0].endswith(f" in {schema_at}:"))
        assert paragraphs[2] == f"On {instance_at}:\n    {shown}"

    def test_shallowest_error_wins(self, parse: Any) -> None:
        """As upstream's validator picks it: a missing key of a later condition beats an
        unknown operator (one level deeper) of an earlier one."""
        body = {"conditions": [{"op": "bad", "field": "a"}, {"op": "eq"}],
                "actions": fail_action()}
        message = error_of(parse, body)
        assert first_paragraph(message) == (
            "Validation failed for conditions: 'field' is a required property")
        assert message.endswith("On instance[1]:\n    {'op': 'eq'}")

    def test_last_sibling_wins(self, parse: Any) -> None:
        """Among errors at the same depth, the later condition's is reported."""
        body = {"conditions": [{"op": "bad1", "field": "a"}, {"op": "bad2", "field": "a"}],
                "actions": fail_action()}
        assert first_paragraph(error_of(parse, body)).startswith(
            "Validation failed for conditions: 'bad2' is not one of")

    def test_conditions_checked_before_actions(self, parse: Any) -> None:
        """Conditions are validated before actions."""
        assert error_of(parse, {"conditions": {}}).startswith("Validation failed for conditions")

    def test_condition_parameters_checked_before_actions(self, parse: Any) -> None:
        """As upstream: every condition (schema, field, parameters), then the actions."""
        body = {"conditions": [{"op": "eq", "field": "a"}], "actions": []}
        assert error_of(parse, body) == (
            "Invalid parameters for operator eq: missing required parameter(s): value")


class TestActionsSchema:
    @pytest.mark.parametrize(("value", "detail"), [
        ({}, "{} is not of type 'array'"),
        ([], "[] should be non-empty"),
        (None, "[] should be non-empty"),
        ([1], "1 is not of type 'object'"),
        ([{"message": "boom"}], "'action' is a required property"),
        ([{"action": "explode"}], f"'explode' is not one of {ACTIONS!r}"),
    ])
    def test_shape(self, parse: Any, value: Any, detail: str) -> None:
        """Shape problems of actions give Validation failed for actions."""
        assert first_paragraph(error_of(parse, {"actions": value})) == (
            f"Validation failed for actions: {detail}")

    def test_actions_required(self, parse: Any) -> None:
        """A body without actions is refused, with the whole schema as upstream prints it."""
        assert error_of(parse, {"conditions": []}) == NO_ACTIONS


class TestFields:
    @pytest.mark.parametrize("scheme", ["http", "Node", ""])
    def test_unsupported_scheme(self, parse: Any, scheme: str) -> None:
        """Only node:// and data:// are valid schemes."""
        body = {"conditions": [{"op": "eq", "field": f"{scheme}://a", "value": 1}],
                "actions": fail_action()}
        assert error_of(parse, body) == (f"Unsupported scheme for field: {scheme}, "
                                         "valid values are node:// or data://")

    def test_bad_json_path(self, parse: Any) -> None:
        """A path with a parse error names the full field and the parser's error."""
        body = {"conditions": [{"op": "eq", "field": "data://a b", "value": 1}],
                "actions": fail_action()}
        assert error_of(parse, body) == (
            "Unable to parse field JSON path data://a b: Parse error at 1:2 near token b (ID)")

    @pytest.mark.parametrize("field", ["a[", "", "node://"])
    def test_truncated_json_path(self, parse: Any, field: str) -> None:
        """Paths the parser chokes on are validation errors too."""
        body = {"conditions": [{"op": "is-empty", "field": field}], "actions": fail_action()}
        assert error_of(parse, body).startswith(f"Unable to parse field JSON path {field}: ")

    def test_first_bad_condition_reported(self, parse: Any) -> None:
        """Conditions are checked in order and the first problem is reported."""
        body = {"conditions": [{"op": "eq", "field": "x://a", "value": 1},
                               {"op": "eq", "field": "a", "value": None}],
                "actions": fail_action()}
        assert error_of(parse, body).startswith("Unsupported scheme for field: x")


class TestOperatorParameters:
    @pytest.mark.parametrize(("condition", "detail"), [
        ({"op": "eq", "field": "a"}, "missing required parameter(s): value"),
        ({"op": "lt", "field": "a", "value": None}, "missing required parameter(s): value"),
        ({"op": "gt", "field": "a", "value": 1, "foo": 2, "bar": 3},
         "unexpected parameter(s): bar, foo"),
        ({"op": "ne", "field": "a", "foo": 2},
         "missing required parameter(s): value; unexpected parameter(s): foo"),
        ({"op": "in-net", "field": "a", "value": "10.0.0.0/33"},
         "invalid value: invalid IPNetwork 10.0.0.0/33"),
        ({"op": "matches", "field": "a", "value": "(x"},
         "invalid regular expression: missing ), unterminated subpattern at position 0"),
        ({"op": "contains", "field": "a"}, "missing required parameter(s): value"),
        ({"op": "matches", "field": "a", "value": "x", "extra": 1},
         "unexpected parameter(s): extra"),
        ({"op": "is-empty", "field": "a", "value": ""}, "unexpected parameter(s): value"),
    ])
    def test_invalid(self, parse: Any, condition: dict[str, Any], detail: str) -> None:
        """Operator parameter problems give Invalid parameters for operator."""
        body = {"conditions": [condition], "actions": fail_action()}
        assert error_of(parse, body) == (
            f"Invalid parameters for operator {condition['op']}: {detail}")


class TestActionParameters:
    @pytest.mark.parametrize(("action", "detail"), [
        ({"action": "fail"}, "missing required parameter(s): message"),
        ({"action": "fail", "message": None}, "missing required parameter(s): message"),
        ({"action": "set-attribute", "path": "/a"}, "missing required parameter(s): value"),
        ({"action": "set-attribute", "value": 1}, "missing required parameter(s): path"),
        ({"action": "set-attribute", "path": 7, "value": 1}, "invalid value for path: 7"),
        ({"action": "set-capability", "value": 1, "x": 2},
         "missing required parameter(s): name; unexpected parameter(s): x"),
        ({"action": "extend-attribute", "path": "/a"}, "missing required parameter(s): value"),
        ({"action": "add-trait"}, "missing required parameter(s): name"),
        ({"action": "remove-trait", "name": "T", "force": True},
         "unexpected parameter(s): force"),
    ])
    def test_invalid(self, parse: Any, action: dict[str, Any], detail: str) -> None:
        """Action parameter problems give Invalid parameters for action."""
        assert error_of(parse, {"actions": [action]}) == (
            f"Invalid parameters for action {action['action']}: {detail}")

    def test_set_attribute_null_value_accepted(self, parse: Any) -> None:
        """set-attribute needs the value key, but null is a valid value."""
        rule = parse({"actions": [{"action": "set-attribute", "path": "/extra/x", "value": None}]})
        assert rule.actions[0].params == {"path": "/extra/x", "value": None}


class TestUuidLike:
    @pytest.mark.parametrize("value", [RULE_UUID, RULE_UUID.upper(), RULE_UUID.replace("-", ""),
                                       "{" + RULE_UUID + "}", "urn:uuid:" + RULE_UUID])
    def test_accepted_forms(self, value: str) -> None:
        """Case, hyphens, braces and the urn prefix do not matter."""
        assert is_uuid_like(value)

    @pytest.mark.parametrize("value", ["", "foo", RULE_UUID + "0", None, 1])
    def test_refused_forms(self, value: Any) -> None:
        """Anything that is not 32 hex digits in a UUID form is refused."""
        assert not is_uuid_like(value)


SPEC_EXAMPLE_RULES: list[dict[str, Any]] = [
    {"description": "Give discovered nodes the ipmi hardware type and credentials",
     "conditions": [{"op": "eq", "field": "data://auto_discovered", "value": True},
                    {"op": "is-empty", "field": "node://driver_info.ipmi_username"}],
     "actions": [{"action": "set-attribute", "path": "driver", "value": "ipmi"},
                 {"action": "set-attribute", "path": "driver_info/ipmi_username",
                  "value": "admin"},
                 {"action": "set-attribute", "path": "driver_info/ipmi_address",
                  "value": "{data[inventory][bmc_address]}"}]},
    {"description": "Refuse machines with little memory",
     "conditions": [{"op": "lt", "field": "memory_mb", "value": 8192}],
     "actions": [{"action": "fail", "message": "Not enough RAM for this cloud"}]},
    {"description": "Label nodes on the provisioning subnet", "scope": "rack-12",
     "conditions": [{"op": "in-net", "field": "inventory.interfaces[*].ipv4_address",
                     "value": "192.0.2.0/24"},
                    {"op": "contains", "field": "inventory.system_vendor.product_name",
                     "value": "PowerEdge", "invert": False}],
     "actions": [{"action": "add-trait", "name": "CUSTOM_RACK_12"},
                 {"action": "extend-attribute", "path": "/extra/tags", "value": "rack12",
                  "unique": True},
                 {"action": "set-capability", "name": "vendor",
                  "value": "{data[inventory][system_vendor][manufacturer]}"}]},
]

# The texts upstream answers with (ironic-inspector 12.5.0 with jsonschema 4.26).
UNKNOWN_OPERATOR = """\
Validation failed for conditions: 'foo' is not one of ['contains', 'eq', 'ge', 'gt', \
'in-net', 'is-empty', 'le', 'lt', 'matches', 'ne']

Failed validating 'enum' in schema['items']['properties']['op']:
    {'description': 'condition operator',
     'enum': ['contains',
              'eq',
              'ge',
              'gt',
              'in-net',
              'is-empty',
              'le',
              'lt',
              'matches',
              'ne']}

On instance[0]['op']:
    'foo'"""

NO_ACTIONS = """\
Validation failed for actions: [] should be non-empty

Failed validating 'minItems' in schema:
    {'title': 'Inspector rule actions schema',
     'type': 'array',
     'minItems': 1,
     'items': {'type': 'object',
               'required': ['action'],
               'properties': {'action': {'description': 'action to take',
                                         'enum': ['add-trait',
                                                  'example',
                                                  'extend-attribute',
                                                  'fail',
                                                  'remove-trait',
                                                  'set-attribute',
                                                  'set-capability']}},
               'additionalProperties': True}}

On instance:
    []"""
