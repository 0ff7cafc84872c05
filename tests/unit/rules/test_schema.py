"""The rule list schemas and the text of their errors (jsonschema's wording and choice)."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.rules.schema import actions_schema, conditions_schema, schema_error

CONDITIONS = conditions_schema(["ne", "eq"])
ACTIONS = actions_schema(["fail"])


class TestValid:
    @pytest.mark.parametrize("value", [
        [], [{"op": "eq", "field": "a"}],
        [{"op": "ne", "field": "a", "multiple": "all", "invert": False, "anything": [1]}]])
    def test_valid_conditions(self, value: Any) -> None:
        assert schema_error(value, CONDITIONS) is None

    def test_valid_actions(self) -> None:
        assert schema_error([{"action": "fail", "message": "m"}], ACTIONS) is None


class TestMessages:
    @pytest.mark.parametrize(("value", "schema", "message", "keyword"), [
        ({}, CONDITIONS, "{} is not of type 'array'", "type"),
        ([True], CONDITIONS, "True is not of type 'object'", "type"),
        ([{"op": "eq", "field": "a", "invert": 0}], CONDITIONS,
         "0 is not of type 'boolean'", "type"),
        ([{"op": "lt", "field": "a"}], CONDITIONS, "'lt' is not one of ['eq', 'ne']", "enum"),
        ([{}], CONDITIONS, "'op' is a required property", "required"),
        ([], ACTIONS, "[] should be non-empty", "minItems"),
    ])
    def test_first_line_and_keyword(self, value: Any, schema: dict[str, Any], message: str,
                                    keyword: str) -> None:
        """The names are sorted; each keyword has jsonschema's sentence."""
        error = schema_error(value, schema)
        assert error is not None and (error.message, error.keyword) == (message, keyword)

    def test_full_text(self) -> None:
        """Problem, keyword and schema place, the subschema pretty-printed, the value."""
        error = schema_error([{"op": "eq", "field": "a"}, {"op": "eq", "field": 7}], CONDITIONS)
        assert str(error) == (
            "7 is not of type 'string'\n\n"
            "Failed validating 'type' in schema['items']['properties']['field']:\n"
            "    {'description': 'JSON path to field for matching', 'type': 'string'}\n\n"
            "On instance[1]['field']:\n"
            "    7")

    def test_long_values_wrap_under_the_indent(self) -> None:
        """pprint's 72 columns; continuation lines keep the four-space indent."""
        value = [{"op": "eq", "field": "a", "multiple": ["x" * 40, "y" * 40]}]
        text = str(schema_error(value, CONDITIONS))
        assert text.endswith(f"On instance[0]['multiple']:\n    ['{'x' * 40}',\n     "
                             f"'{'y' * 40}']")


class TestChoice:
    def test_missing_keys_in_schema_order(self) -> None:
        """Two missing keys of one item: 'op' first, as the schema lists it."""
        error = schema_error([{}], CONDITIONS)
        assert error is not None and error.message == "'op' is a required property"

    def test_shallower_beats_earlier(self) -> None:
        """An item-level error of a later item beats a property error of an earlier one."""
        error = schema_error([{"op": "x", "field": "a"}, 5], CONDITIONS)
        assert error is not None and (error.message, error.path) == (
            "5 is not of type 'object'", (1,))

    def test_later_property_beats_earlier_one(self) -> None:
        """Same depth: the path that sorts last wins ('op' after 'field')."""
        error = schema_error([{"op": "x", "field": 1}], CONDITIONS)
        assert error is not None and error.path == (0, "op")
