"""The built-in condition operators (spec 7.6) and their parameter validation (7.2)."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.rules.conditions import (
    ContainsCondition,
    EmptyCondition,
    EqCondition,
    GeCondition,
    GtCondition,
    LeCondition,
    LtCondition,
    MatchesCondition,
    NeCondition,
    NetCondition,
    coerce,
)
from metalscope.rules.spec import RuleCondition, check_params, param_problems


class TestCoerce:
    def test_float_value_converts_field_to_float(self) -> None:
        """A float rule value converts the field with float()."""
        assert coerce("4.2", 1.0) == 4.2

    def test_int_value_converts_field_to_int(self) -> None:
        """An int rule value converts the field with int()."""
        assert coerce("42", 7) == 42

    def test_bool_value_converts_field_to_int(self) -> None:
        """A bool rule value converts the field with int(), as bool is an int."""
        assert coerce(True, False) == 1

    def test_other_value_leaves_field_alone(self) -> None:
        """A string rule value leaves the field unconverted."""
        assert coerce(42, "42") == 42

    def test_unconvertible_field_raises(self) -> None:
        """A field int() cannot parse raises ValueError (the engine counts it as false)."""
        with pytest.raises(ValueError):
            coerce("foo", 1)


class TestComparisons:
    @pytest.mark.parametrize(("cond", "field", "value", "expected"), [
        (EqCondition(), "42", 42, True),
        (EqCondition(), "4.2", 4.2, True),
        (EqCondition(), "foo", "foo", True),
        (EqCondition(), "foo", "bar", False),
        (EqCondition(), 42, "42", False),
        (EqCondition(), True, True, True),
        (NeCondition(), "42", 43, True),
        (NeCondition(), "42", 42, False),
        (LtCondition(), "4.0", 4.2, True),
        (LtCondition(), 4.2, 4.2, False),
        (LeCondition(), 4.2, 4.2, True),
        (LeCondition(), "5", 4, False),
        (GtCondition(), "999", 998, True),
        (GtCondition(), 998, 998, False),
        (GeCondition(), 998, 998, True),
        (GeCondition(), "100", 100500, False),
    ])
    def test_semantics(self, cond: RuleCondition, field: Any, value: Any,
                       expected: bool) -> None:
        """Each comparison coerces the field to the value's type, then compares."""
        assert cond.check(field, {"value": value}) is expected

    def test_unconvertible_field_raises_value_error(self) -> None:
        """A field that cannot be converted to a number raises ValueError."""
        with pytest.raises(ValueError):
            LtCondition().check("foo", {"value": 4.2})

    def test_incomparable_types_raise_type_error(self) -> None:
        """Ordering values of unrelated types raises TypeError."""
        with pytest.raises(TypeError):
            GtCondition().check({"a": 1}, {"value": "b"})

    def test_none_field_with_int_value_raises_type_error(self) -> None:
        """A null field cannot be converted with int()."""
        with pytest.raises(TypeError):
            EqCondition().check(None, {"value": 1})

    def test_value_required(self) -> None:
        """A comparison without value is refused."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): value$"):
            EqCondition().validate({})

    def test_null_value_counts_as_missing(self) -> None:
        """A null value is treated as absent."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): value$"):
            GeCondition().validate({"value": None})

    def test_extra_parameter_refused(self) -> None:
        """Any parameter other than value is unexpected."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): foo$"):
            NeCondition().validate({"value": 1, "foo": "bar"})

    def test_valid_parameters_accepted(self) -> None:
        """A lone value passes validation."""
        LtCondition().validate({"value": 0})


class TestNet:
    def test_address_in_network(self) -> None:
        """An address inside the network matches (spec example)."""
        assert NetCondition().check("192.0.2.4", {"value": "192.0.2.1/24"}) is True

    def test_address_outside_network(self) -> None:
        """An address outside the network does not match."""
        assert NetCondition().check("198.51.100.1", {"value": "192.0.2.0/24"}) is False

    def test_ipv6_address(self) -> None:
        """IPv6 addresses and networks work too."""
        assert NetCondition().check("2001:db8::5", {"value": "2001:db8::/32"}) is True

    def test_ipv4_address_in_ipv6_network(self) -> None:
        """An address of the other family is simply not a member."""
        assert NetCondition().check("192.0.2.4", {"value": "2001:db8::/32"}) is False

    @pytest.mark.parametrize("field", ["foo", "", "192.0.2.4/24", None, ["192.0.2.4"], True])
    def test_non_ip_field_raises(self, field: Any) -> None:
        """A field that is not an IP address raises ValueError or TypeError."""
        with pytest.raises((ValueError, TypeError)):
            NetCondition().check(field, {"value": "192.0.2.0/24"})

    def test_invalid_network_refused(self) -> None:
        """A value that is not an IP network is refused with invalid value."""
        with pytest.raises(ValueError, match=r"^invalid value: invalid IPNetwork foo$"):
            NetCondition().validate({"value": "foo"})

    def test_non_string_network_refused(self) -> None:
        """A value of the wrong type is refused with invalid value, not a crash."""
        with pytest.raises(ValueError, match=r"^invalid value: "):
            NetCondition().validate({"value": ["192.0.2.0/24"]})

    def test_missing_value_refused(self) -> None:
        """The network value is required."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): value$"):
            NetCondition().validate({})

    def test_valid_network_accepted(self) -> None:
        """A network in CIDR form passes validation."""
        NetCondition().validate({"value": "192.0.2.0/24"})


class TestMatches:
    @pytest.mark.parametrize(("field", "pattern", "expected"), [
        (42, "[1-9]*", True),
        ("foo", "fo", False),
        ("foo", "o{1,2}", False),
        ("foo", "fo+$", True),
        ("1000", "[0-9]+", True),
        ("x86_64", "[0-9]+", False),
        (None, "None", True),
    ])
    def test_full_match(self, field: Any, pattern: str, expected: bool) -> None:
        """matches anchors at both ends of str(field) (spec examples)."""
        assert MatchesCondition().check(field, {"value": pattern}) is expected

    def test_invalid_regex_refused(self) -> None:
        """A pattern that does not compile is refused with invalid regular expression."""
        with pytest.raises(ValueError, match=r"^invalid regular expression: "):
            MatchesCondition().validate({"value": "[0-9"})

    def test_missing_value_refused(self) -> None:
        """Q-RULE-2: a missing value is a validation error, not a crash."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): value$"):
            MatchesCondition().validate({})

    def test_extra_parameter_refused(self) -> None:
        """Q-RULE-2: extra parameters are refused like for every other operator."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): flags$"):
            MatchesCondition().validate({"value": "x", "flags": "i"})


class TestContains:
    @pytest.mark.parametrize(("field", "pattern", "expected"), [
        ("foo", "o{1,2}", True),
        ("x86_64", "[0-9]+", True),
        ("foo", "bar", False),
        ("1.2.1.2", r"127\.0\.0\.1", False),
        (None, "one", True),
    ])
    def test_search(self, field: Any, pattern: str, expected: bool) -> None:
        """contains searches anywhere in str(field) (spec examples)."""
        assert ContainsCondition().check(field, {"value": pattern}) is expected

    def test_non_string_pattern_refused(self) -> None:
        """A pattern that is not a string is refused with invalid regular expression."""
        with pytest.raises(ValueError, match=r"^invalid regular expression: "):
            ContainsCondition().validate({"value": 5})

    def test_missing_and_extra_joined(self) -> None:
        """Q-RULE-2: both generic problems are reported, joined with a semicolon."""
        with pytest.raises(ValueError, match=(r"^missing required parameter\(s\): value; "
                                              r"unexpected parameter\(s\): a, b$")):
            ContainsCondition().validate({"b": 1, "a": 2})


class TestIsEmpty:
    @pytest.mark.parametrize("field", ["", None, [], {}])
    def test_empty_values(self, field: Any) -> None:
        """Empty strings, null, empty lists and empty objects are empty."""
        assert EmptyCondition().check(field, {}) is True

    @pytest.mark.parametrize("field", [0, False, "0", [None], {"a": None}, 0.0])
    def test_non_empty_values(self, field: Any) -> None:
        """Zero, false and non-empty containers are not empty."""
        assert EmptyCondition().check(field, {}) is False

    def test_accepts_missing_fields(self) -> None:
        """is-empty is the only operator that sees missing fields as null."""
        assert EmptyCondition.ALLOW_NONE is True
        assert EqCondition.ALLOW_NONE is False

    def test_any_parameter_unexpected(self) -> None:
        """is-empty takes no parameters at all."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): value$"):
            EmptyCondition().validate({"value": 1})

    def test_null_parameter_ignored(self) -> None:
        """A null parameter counts as absent, so it is not unexpected."""
        EmptyCondition().validate({"value": None})


class TestGenericValidation:
    def test_no_problems(self) -> None:
        """Exactly the required and optional parameters give no problems."""
        assert param_problems({"a"}, {"b"}, {"a": 1, "b": 2}) == []

    def test_names_sorted_and_joined(self) -> None:
        """Missing and unexpected names are sorted, comma-separated, joined by a semicolon."""
        with pytest.raises(ValueError, match=(r"^missing required parameter\(s\): a, b; "
                                              r"unexpected parameter\(s\): x, y$")):
            check_params({"b", "a"}, {"c"}, {"y": 1, "x": 2, "c": 3})
