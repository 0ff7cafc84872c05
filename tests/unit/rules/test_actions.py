"""The built-in rule actions (spec 7.7) and value formatting (spec 7.8)."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.errors import RuleActionError
from metalscope.node_changes import NodeChanges
from metalscope.rules.actions import (
    AddTraitAction,
    ExampleAction,
    ExtendAttributeAction,
    FailAction,
    RemoveTraitAction,
    SetAttributeAction,
    SetCapabilityAction,
    format_params,
    format_value,
)

DATA: dict[str, Any] = {
    "memory_mb": 196608,
    "a": {"b": "x"},
    "c": 17,
    "inventory": {"bmc_address": "192.0.2.200", "interfaces": [{"name": "eno1"}]},
}


def make_node(**fields: Any) -> NodeChanges:
    node: dict[str, Any] = {
        "uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "driver": "ipmi",
        "driver_info": {"ipmi_address": "192.0.2.200"},
        "properties": {"cpu_arch": "x86_64", "capabilities": "boot_mode:uefi"},
        "extra": {"tags": ["rack12"]}, "traits": ["CUSTOM_OLD"],
    }
    node.update(fields)
    return NodeChanges(node, [])


class TestFormatting:
    def test_string_formatted_with_data(self) -> None:
        """A string is formatted with the single named argument data."""
        assert format_value("{data[inventory][bmc_address]}", DATA) == "192.0.2.200"

    def test_result_is_always_a_string(self) -> None:
        """A number referenced from the data comes out as text."""
        assert format_value("{data[memory_mb]}", DATA) == "196608"

    def test_list_index(self) -> None:
        """List elements of the data can be referenced by index."""
        assert format_value("{data[inventory][interfaces][0][name]}", DATA) == "eno1"

    def test_doubled_braces_are_literal(self) -> None:
        """Doubled braces give literal braces."""
        assert format_value("{{x}} {data[c]}", DATA) == "{x} 17"

    def test_dict_keys_and_values(self) -> None:
        """Dicts are formatted key-wise and value-wise (spec example)."""
        assert format_value({"{data[a][b]}": "{data[c]}"}, DATA) == {"x": "17"}

    def test_nested_lists(self) -> None:
        """Lists are formatted element-wise, recursively (spec example)."""
        assert format_value(["plain", ["{data[a][b]}"]], DATA) == ["plain", ["x"]]

    def test_deep_mixture(self) -> None:
        """Lists inside dicts inside lists are all formatted."""
        value = [{"k": ["{data[c]}", {"n": "{data[a][b]}"}]}]
        assert format_value(value, DATA) == [{"k": ["17", {"n": "x"}]}]

    @pytest.mark.parametrize("value", [5, 4.2, True, None])
    def test_non_string_scalars_untouched(self, value: Any) -> None:
        """Numbers, booleans and null are left as they are."""
        assert format_value(value, DATA) is value

    def test_missing_key_error(self) -> None:
        """Q-RULE-1 fix: a missing key gives the formatted message with the key."""
        with pytest.raises(RuleActionError) as exc:
            format_value("{data[inventory][bmc_v6address]}", DATA)
        assert str(exc.value) == ("Invalid formatting variable key provided in value "
                                  "{data[inventory][bmc_v6address]}: 'bmc_v6address'")

    def test_missing_key_in_nested_value(self) -> None:
        """A missing key deep in a list or dict names the string that failed."""
        with pytest.raises(RuleActionError) as exc:
            format_value({"k": ["{data[nope]}"]}, DATA)
        assert str(exc.value) == ("Invalid formatting variable key provided in value "
                                  "{data[nope]}: 'nope'")

    def test_missing_index_error(self) -> None:
        """An index past the end of a list is reported like a missing key."""
        with pytest.raises(RuleActionError,
                           match=r"^Invalid formatting variable key provided in value "):
            format_value("{data[inventory][interfaces][3]}", DATA)

    def test_unknown_variable_error(self) -> None:
        """A variable other than data is a missing key too."""
        with pytest.raises(RuleActionError) as exc:
            format_value("{node}", DATA)
        assert str(exc.value) == "Invalid formatting variable key provided in value {node}: 'node'"

    def test_malformed_template_error(self) -> None:
        """A lone brace is a RuleActionError with its own message."""
        with pytest.raises(RuleActionError,
                           match=r"^Invalid format string in value \{data: expected"):
            format_value("{data", DATA)

    def test_only_formatted_params(self) -> None:
        """format_params formats the named parameters and copies the others."""
        params = {"path": "{data[c]}", "value": "{data[c]}"}
        assert format_params(params, {"value"}, DATA) == {"path": "{data[c]}", "value": "17"}
        assert params["value"] == "{data[c]}"


class TestFail:
    def test_raises_message(self) -> None:
        """fail aborts with its message."""
        with pytest.raises(RuleActionError, match=r"^Not enough RAM for this cloud$"):
            FailAction().apply(make_node(), {"message": "Not enough RAM for this cloud"}, DATA)

    def test_message_required(self) -> None:
        """fail needs a message."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): message$"):
            FailAction().validate({})

    def test_extra_parameter_refused(self) -> None:
        """fail takes nothing but message."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): code$"):
            FailAction().validate({"message": "boom", "code": 500})


class TestSetAttribute:
    def test_patch_with_leading_slash_added(self) -> None:
        """The path gets a leading slash and the value is set with add."""
        node = make_node()
        SetAttributeAction().apply(node, {"path": "extra/foo", "value": "bar"}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/foo", "value": "bar"}]
        assert node.node["extra"]["foo"] == "bar"
        assert node.pending.reset_interfaces is None

    def test_null_value(self) -> None:
        """A null value is written as null."""
        node = make_node()
        SetAttributeAction().apply(node, {"path": "/extra/foo", "value": None}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/foo", "value": None}]

    def test_driver_resets_interfaces_by_default(self) -> None:
        """Changing the driver asks Ironic to reset interfaces when the flag is absent."""
        node = make_node()
        SetAttributeAction().apply(node, {"path": "driver", "value": "redfish"}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/driver", "value": "redfish"}]
        assert node.pending.reset_interfaces is True

    def test_driver_with_true_flag(self) -> None:
        """A truthy reset_interfaces on /driver/ keeps the flag."""
        node = make_node()
        SetAttributeAction().apply(
            node, {"path": "/driver/", "value": "redfish", "reset_interfaces": True}, DATA)
        assert node.pending.reset_interfaces is True

    def test_driver_with_false_flag(self) -> None:
        """reset_interfaces false sends the driver patch without the flag."""
        node = make_node()
        SetAttributeAction().apply(
            node, {"path": "driver", "value": "redfish", "reset_interfaces": False}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/driver", "value": "redfish"}]
        assert node.pending.reset_interfaces is None

    def test_flag_ignored_for_other_paths(self) -> None:
        """Only the driver path resets interfaces."""
        node = make_node()
        SetAttributeAction().apply(
            node, {"path": "/driver_info/x", "value": "y", "reset_interfaces": True}, DATA)
        assert node.pending.reset_interfaces is None

    def test_validate_accepts_null_value(self) -> None:
        """The value key is required but may be null."""
        SetAttributeAction().validate({"path": "/extra/foo", "value": None})

    def test_validate_value_key_required(self) -> None:
        """Leaving out the value key is refused."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): value$"):
            SetAttributeAction().validate({"path": "/extra/foo"})

    def test_validate_path_and_value_missing(self) -> None:
        """Both missing parameters are named."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): path, value$"):
            SetAttributeAction().validate({})

    def test_validate_unexpected(self) -> None:
        """Parameters other than path, value and reset_interfaces are refused."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): op$"):
            SetAttributeAction().validate({"path": "/a", "value": 1, "op": "remove"})

    @pytest.mark.parametrize("path", [5, "/", ["extra"]])
    def test_validate_path_type(self, path: Any) -> None:
        """The path must be a non-empty string."""
        with pytest.raises(ValueError, match=r"^invalid value for path: "):
            SetAttributeAction().validate({"path": path, "value": 1})


class TestSetCapability:
    def test_adds_capability(self) -> None:
        """A capability is merged into the existing ones."""
        node = make_node()
        SetCapabilityAction().apply(node, {"name": "vendor", "value": "Dell Inc."}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/properties/capabilities",
                                            "value": "boot_mode:uefi,vendor:Dell Inc."}]

    def test_absent_value_removes(self) -> None:
        """Without a value the capability is removed."""
        node = make_node()
        SetCapabilityAction().apply(node, {"name": "boot_mode"}, DATA)
        assert node.properties["capabilities"] == ""

    def test_null_value_removes(self) -> None:
        """A null value removes the capability too."""
        node = make_node(properties={"capabilities": "a:1,b:2"})
        SetCapabilityAction().apply(node, {"name": "a", "value": None}, DATA)
        assert node.properties["capabilities"] == "b:2"

    def test_name_required(self) -> None:
        """set-capability needs a name."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): name$"):
            SetCapabilityAction().validate({"value": "x"})

    def test_value_optional(self) -> None:
        """A name alone is valid."""
        SetCapabilityAction().validate({"name": "x"})


class TestExtendAttribute:
    def test_missing_list_created_with_add(self) -> None:
        """A missing attribute starts from an empty list and uses add."""
        node = make_node()
        ExtendAttributeAction().apply(node, {"path": "/extra/serials", "value": "abc"}, DATA)
        assert node.pending.node_patch == [
            {"op": "add", "path": "/extra/serials", "value": ["abc"]}]

    def test_existing_list_extended_with_replace(self) -> None:
        """An existing list is extended with replace."""
        node = make_node()
        ExtendAttributeAction().apply(node, {"path": "extra/tags", "value": "gpu"}, DATA)
        assert node.pending.node_patch == [
            {"op": "replace", "path": "/extra/tags", "value": ["rack12", "gpu"]}]

    def test_duplicates_appended_without_unique(self) -> None:
        """Without unique a value already present is appended again."""
        node = make_node()
        ExtendAttributeAction().apply(node, {"path": "/extra/tags", "value": "rack12"}, DATA)
        assert node.node["extra"]["tags"] == ["rack12", "rack12"]

    def test_unique_present_patches_nothing(self) -> None:
        """With unique a value already present changes nothing."""
        node = make_node()
        ExtendAttributeAction().apply(
            node, {"path": "/extra/tags", "value": "rack12", "unique": True}, DATA)
        assert node.pending.node_patch == []

    def test_unique_absent_appends(self) -> None:
        """With unique a new value is appended."""
        node = make_node()
        ExtendAttributeAction().apply(
            node, {"path": "/extra/tags", "value": "gpu", "unique": True}, DATA)
        assert node.node["extra"]["tags"] == ["rack12", "gpu"]

    def test_top_level_field(self) -> None:
        """A single-segment path reads the top-level field."""
        node = make_node(tags=["a"])
        ExtendAttributeAction().apply(node, {"path": "tags", "value": "b"}, DATA)
        assert node.pending.node_patch == [{"op": "replace", "path": "/tags", "value": ["a", "b"]}]

    def test_null_attribute_starts_empty(self) -> None:
        """An attribute that is null is treated like a missing one."""
        node = make_node(extra={"tags": None})
        ExtendAttributeAction().apply(node, {"path": "/extra/tags", "value": "a"}, DATA)
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/tags", "value": ["a"]}]

    def test_non_list_attribute_fails(self) -> None:
        """Extending something that is not a list is a RuleActionError."""
        with pytest.raises(RuleActionError,
                           match=r"^Cannot extend attribute /driver: its value 'ipmi' is not"):
            ExtendAttributeAction().apply(make_node(), {"path": "/driver", "value": "x"}, DATA)

    def test_path_and_value_required(self) -> None:
        """extend-attribute needs path and value."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): path, value$"):
            ExtendAttributeAction().validate({"unique": True})

    def test_unexpected_parameter(self) -> None:
        """Parameters other than path, value and unique are refused."""
        with pytest.raises(ValueError, match=r"^unexpected parameter\(s\): reset_interfaces$"):
            ExtendAttributeAction().validate(
                {"path": "/extra/a", "value": 1, "reset_interfaces": True})


class TestTraits:
    def test_add_trait(self) -> None:
        """add-trait records a new trait."""
        node = make_node()
        AddTraitAction().apply(node, {"name": "CUSTOM_RACK_12"}, DATA)
        assert node.traits == ["CUSTOM_OLD", "CUSTOM_RACK_12"]
        assert node.pending.traits_added == ["CUSTOM_RACK_12"]

    def test_remove_trait(self) -> None:
        """remove-trait records the removal of a present trait."""
        node = make_node()
        RemoveTraitAction().apply(node, {"name": "CUSTOM_OLD"}, DATA)
        assert node.traits == []
        assert node.pending.traits_removed == ["CUSTOM_OLD"]

    def test_remove_absent_trait_is_no_error(self) -> None:
        """Removing a trait the node lacks does nothing."""
        node = make_node()
        RemoveTraitAction().apply(node, {"name": "CUSTOM_NONE"}, DATA)
        assert node.pending.is_empty()

    @pytest.mark.parametrize("action", [AddTraitAction(), RemoveTraitAction()])
    def test_name_required(self, action: AddTraitAction | RemoveTraitAction) -> None:
        """Both trait actions need a name."""
        with pytest.raises(ValueError, match=r"^missing required parameter\(s\): name$"):
            action.validate({})


class TestExample:
    def test_accepts_anything(self) -> None:
        """example accepts any parameters."""
        ExampleAction().validate({"foo": 1, "bar": None})

    def test_logs_only(self, caplog: pytest.LogCaptureFixture) -> None:
        """example logs its parameters and changes nothing."""
        node = make_node()
        caplog.set_level("INFO", logger="metalscope.rules.actions")
        ExampleAction().apply(node, {"foo": 1}, DATA)
        assert node.pending.is_empty()
        assert "{'foo': 1}" in caplog.text
