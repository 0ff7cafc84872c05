"""Applying rules: scope, condition evaluation, phases and actions (spec 7.3 to 7.5, 7.9)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metalscope.errors import RuleActionError
from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, load_group
from metalscope.node_changes import NodeChanges
from metalscope.rules.engine import (
    SDK_ALIASES,
    apply_rules,
    field_values,
    matching_rules,
    node_document,
    split_field,
)
from metalscope.rules.model import Action, Condition, Rule
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.rules.validation import parse_rule

NODE_UUID = "3f7a2a4e-9c4b-4d51-8d7e-0c3b5a1f2e01"

# The fake Ironic node of the upstream functional test (spec 13.1).
FUNCTIONAL_NODE: dict[str, Any] = {
    "uuid": NODE_UUID, "driver": "ipmi", "driver_info": {"ipmi_address": "1.2.3.4"},
    "properties": {"cpu_arch": "i386", "local_gb": 40}, "provision_state": "inspecting",
    "power_state": "power off", "extra": {}, "maintenance": False, "instance_uuid": None,
    "traits": [],
}

# The functional test's ramdisk data after the default processing hooks (spec 13.1).
FUNCTIONAL_DATA: dict[str, Any] = {
    "boot_interface": "01-11-22-33-44-55-66",
    "inventory": {
        "interfaces": [
            {"name": "eth1", "mac_address": "11:22:33:44:55:66", "ipv4_address": "1.2.1.2"},
            {"name": "eth2", "mac_address": "12:12:21:12:21:12", "ipv4_address": None},
            {"name": "eth3", "mac_address": "66:55:44:33:22:11", "ipv4_address": "1.2.1.1"},
            {"name": "ib0", "mac_address": "7c:fe:90:29:26:52", "ipv4_address": "1.2.1.3"},
        ],
        "cpu": {"count": 4, "architecture": "x86_64"},
        "memory": {"physical_mb": 12288},
        "bmc_address": "1.2.3.4",
        "bmc_v6address": "2001:1234:1234:1234:1234:1234:1234:1234/64",
    },
    "root_disk": {"name": "/dev/sda", "size": 1073741824000, "wwn": None},
    "cpus": 4, "cpu_arch": "x86_64", "memory_mb": 12288, "local_gb": 999,
    "macs": ["11:22:33:44:55:66"],
}

IPS = {"ips": ["1.1.1.1", "1.2.3.4"]}


@pytest.fixture
def conditions() -> dict[str, RuleCondition]:
    return {name: ep.load()() for name, ep in load_group(CONDITIONS_GROUP).items()}


@pytest.fixture
def actions() -> dict[str, RuleAction]:
    return {name: ep.load()() for name, ep in load_group(ACTIONS_GROUP).items()}


@pytest.fixture
def make_rule(conditions: dict[str, RuleCondition], actions: dict[str, RuleAction]) -> Any:
    def build(conds: list[dict[str, Any]], acts: list[dict[str, Any]] | None = None,
              **fields: Any) -> Rule:
        body = {"conditions": conds, "actions": acts or [{"action": "example"}], **fields}
        return parse_rule(body, conditions, actions)
    return build


@pytest.fixture
def matches(make_rule: Any, conditions: dict[str, RuleCondition]) -> Any:
    """Whether a one-condition rule matches the given data and node."""
    def check(cond: dict[str, Any], data: dict[str, Any],
              node: dict[str, Any] | None = None) -> bool:
        changes = NodeChanges(node or FUNCTIONAL_NODE, [])
        return bool(matching_rules([make_rule([cond])], data, changes, conditions))
    return check


def changes(node: dict[str, Any] | None = None) -> NodeChanges:
    return NodeChanges(node or FUNCTIONAL_NODE, [])


class TestFields:
    def test_split_default_scheme(self) -> None:
        """A field without :// is a data path."""
        assert split_field("inventory.cpu.count") == ("data", "inventory.cpu.count")

    def test_split_explicit_scheme(self) -> None:
        """The scheme is the text before the first ://."""
        assert split_field("node://extra.url://x") == ("node", "extra.url://x")

    def test_wildcard_collects_present_values(self) -> None:
        """Elements lacking the key yield nothing; null values are kept."""
        data = {"a": [{"b": 1}, {"c": 2}, {"b": None}]}
        assert field_values("a[*].b", data, {}) == [1, None]

    def test_recursive_descent(self) -> None:
        """a..b finds b at any depth below a."""
        assert sorted(field_values("a..b", {"a": {"b": 1, "c": {"b": 2}}}, {})) == [1, 2]

    def test_index_on_object_is_missing(self) -> None:
        """An index applied to an object finds nothing instead of crashing."""
        assert field_values("a[0]", {"a": {"b": 1}}, {}) == []

    def test_node_scheme_reads_node(self) -> None:
        """node:// paths read the node document, not the data."""
        assert field_values("node://driver", {"driver": "x"}, {"driver": "ipmi"}) == ["ipmi"]


class TestNodeDocument:
    @pytest.mark.parametrize(("alias", "rest"), sorted(SDK_ALIASES.items()))
    def test_sdk_alias(self, alias: str, rest: str) -> None:
        """Each openstacksdk name reads the REST field it stands for."""
        assert node_document({rest: "v"}) == {rest: "v", alias: "v"}

    def test_absent_rest_field_has_no_alias(self) -> None:
        """Aliases exist only for REST fields present in the node."""
        assert node_document({"driver": "ipmi"}) == {"driver": "ipmi"}

    def test_alias_in_rule(self, matches: Any) -> None:
        """A rule written with SDK names matches on the REST node."""
        assert matches({"op": "eq", "field": "node://is_maintenance", "value": False}, {})
        assert matches({"op": "eq", "field": "node://id", "value": NODE_UUID}, {})
        assert matches({"op": "is-empty", "field": "node://instance_id"}, {})

    def test_rest_name_in_rule(self, matches: Any) -> None:
        """A rule written with REST names matches too."""
        assert matches({"op": "eq", "field": "node://uuid", "value": NODE_UUID}, {})

    def test_node_edits_visible(self, make_rule: Any,
                                conditions: dict[str, RuleCondition]) -> None:
        """node:// sees the node with the hooks' edits applied."""
        node = changes()
        node.update_properties(local_gb="999")
        rule = make_rule([{"op": "eq", "field": "node://properties.local_gb", "value": 999}])
        assert matching_rules([rule], {}, node, conditions) == [rule]


class TestScope:
    def scoped(self, make_rule: Any, scope: str | None) -> Rule:
        return make_rule([], scope=scope)  # type: ignore[no-any-return]

    def node(self, scope: str | None) -> NodeChanges:
        node = copy.deepcopy(FUNCTIONAL_NODE)
        if scope is not None:
            node["properties"]["inspection_scope"] = scope
        return NodeChanges(node, [])

    @pytest.mark.parametrize(("rule_scope", "node_scope", "expected"), [
        (None, None, True),
        (None, "rack-12", True),
        ("", "rack-12", True),
        ("rack-12", "rack-12", True),
        ("rack-12", "rack-1", False),
        ("rack-12", "Rack-12", False),
        ("rack-12", None, False),
    ])
    def test_scope(self, make_rule: Any, conditions: dict[str, RuleCondition],
                   rule_scope: str | None, node_scope: str | None, expected: bool) -> None:
        """A scoped rule applies only to nodes with exactly that inspection_scope."""
        rule = self.scoped(make_rule, rule_scope)
        result = matching_rules([rule], {}, self.node(node_scope), conditions)
        assert (result == [rule]) is expected

    def test_scope_checked_before_actions(self, make_rule: Any, conditions: dict[str, Any],
                                          actions: dict[str, Any]) -> None:
        """An out-of-scope rule runs no action, even fail."""
        rule = make_rule([], [{"action": "fail", "message": "boom"}], scope="rack-12")
        assert apply_rules([rule], {}, self.node("rack-1"), conditions, actions) == []


class TestMultiple:
    @pytest.mark.parametrize(("multiple", "invert", "expected"), [
        ("any", False, True),
        ("all", False, False),
        ("first", False, False),
        ("any", True, True),
        ("all", True, False),
        ("first", True, True),
    ])
    def test_spec_examples(self, matches: Any, multiple: str, invert: bool,
                           expected: bool) -> None:
        """Values 1.1.1.1 and 1.2.3.4 with eq 1.2.3.4 combine as spec 7.5 says."""
        cond = {"op": "eq", "field": "ips[*]", "value": "1.2.3.4", "multiple": multiple,
                "invert": invert}
        assert matches(cond, IPS) is expected

    def test_default_is_any(self, matches: Any) -> None:
        """Without multiple one true value is enough."""
        assert matches({"op": "eq", "field": "ips[*]", "value": "1.2.3.4"}, IPS)

    def test_invert_all_means_no_value_equals(self, matches: Any) -> None:
        """invert with all is true only when no value equals."""
        cond = {"op": "eq", "field": "ips[*]", "value": "9.9.9.9", "multiple": "all",
                "invert": True}
        assert matches(cond, IPS)

    def test_all_true(self, matches: Any) -> None:
        """all is true when every value satisfies the operator."""
        cond = {"op": "contains", "field": "ips[*]", "value": r"^1\.", "multiple": "all"}
        assert matches(cond, IPS)

    def test_first_looks_at_first_value_only(self, matches: Any) -> None:
        """first ignores every value after the first."""
        cond = {"op": "eq", "field": "ips[*]", "value": "1.1.1.1", "multiple": "first"}
        assert matches(cond, IPS)

    def test_scalar_field(self, matches: Any) -> None:
        """A path ending on a scalar gives one value."""
        assert matches({"op": "ge", "field": "memory_mb", "value": 12288}, FUNCTIONAL_DATA)

    def test_any_stops_at_first_true(self, matches: Any,
                                     caplog: pytest.LogCaptureFixture) -> None:
        """any does not check values after the first true one."""
        assert matches({"op": "eq", "field": "v[*]", "value": 5}, {"v": ["5", "foo"]})
        assert "cannot be checked" not in caplog.text

    def test_all_stops_at_first_false(self, matches: Any,
                                      caplog: pytest.LogCaptureFixture) -> None:
        """all does not check values after the first false one."""
        cond = {"op": "eq", "field": "v[*]", "value": 5, "multiple": "all"}
        assert not matches(cond, {"v": ["6", "foo"]})
        assert "cannot be checked" not in caplog.text


class TestMissingFields:
    def test_missing_field_fails_rule(self, matches: Any) -> None:
        """A path matching nothing makes an ordinary condition false."""
        assert not matches({"op": "eq", "field": "nope", "value": 1}, FUNCTIONAL_DATA)

    def test_missing_field_fails_even_inverted(self, matches: Any) -> None:
        """invert does not turn a missing field into a match."""
        cond = {"op": "eq", "field": "nope", "value": 1, "invert": True}
        assert not matches(cond, FUNCTIONAL_DATA)

    def test_missing_field_is_null_for_is_empty(self, matches: Any) -> None:
        """is-empty sees a missing field as null."""
        assert matches({"op": "is-empty", "field": "i.do.not.exist"}, FUNCTIONAL_DATA)

    def test_missing_field_inverted_is_empty(self, matches: Any) -> None:
        """Inverted is-empty on a missing field is false."""
        cond = {"op": "is-empty", "field": "i.do.not.exist", "invert": True}
        assert not matches(cond, FUNCTIONAL_DATA)

    def test_null_value_is_found(self, matches: Any) -> None:
        """A key present with null is a value, not a missing field."""
        assert matches({"op": "eq", "field": "x", "value": "None", "invert": True}, {"x": None})


class TestUnusableValues:
    def test_uncoercible_value_is_false(self, matches: Any,
                                        caplog: pytest.LogCaptureFixture) -> None:
        """Q-RULE-3: a field int() cannot parse makes the condition false, with a warning."""
        assert not matches({"op": "eq", "field": "v", "value": 5}, {"v": "five"})
        assert "cannot be checked" in caplog.text

    def test_uncoercible_value_false_even_inverted(self, matches: Any) -> None:
        """Q-RULE-3: invert does not turn an unusable value into a match."""
        assert not matches({"op": "lt", "field": "v", "value": 5, "invert": True}, {"v": "x"})

    def test_in_net_skips_non_ip_values_with_any(self, matches: Any) -> None:
        """Q-RULE-3: with any, an interface without an address does not hide one with it."""
        data = {"inventory": {"interfaces": [{"ipv4_address": None},
                                             {"ipv4_address": "192.0.2.4"}]}}
        cond = {"op": "in-net", "field": "inventory.interfaces[*].ipv4_address",
                "value": "192.0.2.0/24"}
        assert matches(cond, data)

    def test_in_net_non_ip_value_fails_all(self, matches: Any) -> None:
        """Q-RULE-3: with all, one non-IP value makes the condition false."""
        cond = {"op": "in-net", "field": "v[*]", "value": "192.0.2.0/24", "multiple": "all"}
        assert not matches(cond, {"v": ["192.0.2.4", "foo"]})

    def test_unknown_operator_does_not_match(self, conditions: dict[str, RuleCondition]) -> None:
        """A stored condition whose operator is no longer installed does not match."""
        rule = Rule(uuid="r", actions=[Action("example")],
                    conditions=[Condition(op="gone", field="a", params={"value": 1})])
        assert matching_rules([rule], {"a": 1}, changes(), conditions) == []


class TestPhases:
    def test_rule_without_conditions_matches(self, make_rule: Any,
                                             conditions: dict[str, Any]) -> None:
        """A rule without conditions always matches."""
        rule = make_rule([])
        assert matching_rules([rule], {}, changes(), conditions) == [rule]

    def test_matching_runs_no_action(self, make_rule: Any, conditions: dict[str, Any]) -> None:
        """Phase 1 alone edits nothing, so a dry run is safe."""
        node = changes()
        rule = make_rule([], [{"action": "set-attribute", "path": "/extra/a", "value": 1}])
        matching_rules([rule], {}, node, conditions)
        assert node.pending.is_empty()

    def test_actions_cannot_change_matching(self, make_rule: Any, conditions: dict[str, Any],
                                            actions: dict[str, Any]) -> None:
        """All rules are matched before any action runs."""
        first = make_rule([{"op": "is-empty", "field": "node://extra.flag"}],
                          [{"action": "set-attribute", "path": "/extra/flag", "value": "set"}])
        second = make_rule([{"op": "is-empty", "field": "node://extra.flag"}],
                           [{"action": "add-trait", "name": "CUSTOM_SECOND"}])
        node = changes()
        assert apply_rules([first, second], {}, node, conditions, actions) == [first, second]
        assert node.node["extra"]["flag"] == "set"
        assert node.traits == ["CUSTOM_SECOND"]

    def test_actions_run_in_rule_then_action_order(self, make_rule: Any,
                                                   conditions: dict[str, Any],
                                                   actions: dict[str, Any]) -> None:
        """Actions run rule by rule, action by action."""
        first = make_rule([], [{"action": "extend-attribute", "path": "/extra/l", "value": 1},
                               {"action": "extend-attribute", "path": "/extra/l", "value": 2}])
        second = make_rule([], [{"action": "extend-attribute", "path": "/extra/l", "value": 3}])
        node = changes()
        apply_rules([first, second], {}, node, conditions, actions)
        assert node.node["extra"]["l"] == [1, 2, 3]

    def test_failing_action_stops_but_keeps_edits(self, make_rule: Any,
                                                  conditions: dict[str, Any],
                                                  actions: dict[str, Any]) -> None:
        """fail aborts the run; earlier edits stay recorded, later actions do not run."""
        first = make_rule([], [{"action": "set-attribute", "path": "/extra/a", "value": 1}])
        failing = make_rule([], [{"action": "fail", "message": "boom"},
                                 {"action": "add-trait", "name": "CUSTOM_NEVER"}])
        last = make_rule([], [{"action": "add-trait", "name": "CUSTOM_LATE"}])
        node = changes()
        with pytest.raises(RuleActionError, match=r"^boom$"):
            apply_rules([first, failing, last], {}, node, conditions, actions)
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/a", "value": 1}]
        assert node.traits == []

    def test_unknown_action_is_an_error(self, conditions: dict[str, Any],
                                        actions: dict[str, Any]) -> None:
        """A stored action that is no longer installed fails the run."""
        rule = Rule(uuid="r", actions=[Action("gone")])
        with pytest.raises(RuleActionError, match=r"^Rule r uses the unknown action gone$"):
            apply_rules([rule], {}, changes(), conditions, actions)


class TestFormattingInRun:
    def test_value_formatted_from_data(self, make_rule: Any, conditions: dict[str, Any],
                                       actions: dict[str, Any]) -> None:
        """Formatted parameters are filled in from the processed data before apply."""
        rule = make_rule([], [{"action": "set-capability", "name": "bmc",
                               "value": "{data[inventory][bmc_address]}"}])
        node = changes()
        apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions)
        assert node.capabilities == {"bmc": "1.2.3.4"}
        assert rule.actions[0].params["value"] == "{data[inventory][bmc_address]}"

    def test_nested_value_formatted(self, make_rule: Any, conditions: dict[str, Any],
                                    actions: dict[str, Any]) -> None:
        """Nested dicts and lists in a value are formatted too."""
        value = {"{data[cpu_arch]}": ["{data[cpus]}", 1]}
        rule = make_rule([], [{"action": "set-attribute", "path": "/extra/hw", "value": value}])
        node = changes()
        apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions)
        assert node.node["extra"]["hw"] == {"x86_64": ["4", 1]}

    def test_unformatted_parameters_left_alone(self, make_rule: Any,
                                               conditions: dict[str, Any],
                                               actions: dict[str, Any]) -> None:
        """Parameters not listed as formatted keep their braces."""
        rule = make_rule([], [{"action": "fail", "message": "{data[cpus]}"}])
        with pytest.raises(RuleActionError, match=r"^\{data\[cpus\]\}$"):
            apply_rules([rule], FUNCTIONAL_DATA, changes(), conditions, actions)

    def test_missing_key_fails_processing(self, make_rule: Any, conditions: dict[str, Any],
                                          actions: dict[str, Any]) -> None:
        """Q-RULE-1: a missing key is a RuleActionError with the filled-in message."""
        rule = make_rule([], [{"action": "set-attribute", "path": "/extra/x",
                               "value": "{data[inventory][nope]}"}])
        with pytest.raises(RuleActionError) as exc:
            apply_rules([rule], FUNCTIONAL_DATA, changes(), conditions, actions)
        assert str(exc.value) == ("Invalid formatting variable key provided in value "
                                  "{data[inventory][nope]}: 'nope'")


class TestFunctionalCases:
    """Spec 13.2 cases 37 to 40, on the functional test's node and data."""

    def test_case_37_all_conditions_true(self, make_rule: Any, conditions: dict[str, Any],
                                         actions: dict[str, Any]) -> None:
        """Case 37: the rule whose conditions all hold patches /extra/foo."""
        rule = make_rule(
            [{"op": "eq", "field": "memory_mb", "value": 12288},
             {"op": "gt", "field": "local_gb", "value": 998},
             {"op": "lt", "field": "local_gb", "value": 1000},
             {"op": "matches", "field": "local_gb", "value": "[0-9]+"},
             {"op": "contains", "field": "cpu_arch", "value": "[0-9]+"},
             {"op": "is-empty", "field": "root_disk.wwn"},
             {"op": "contains", "field": "inventory.interfaces[*].ipv4_address",
              "value": r"127\.0\.0\.1", "invert": True, "multiple": "all"},
             {"op": "is-empty", "field": "i.do.not.exist"}],
            [{"action": "set-attribute", "path": "/extra/foo", "value": "bar"}])
        node = changes({**FUNCTIONAL_NODE, "extra": {"bar": "foo"}})
        assert apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions) == [rule]
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/foo", "value": "bar"}]

    def test_case_38_big_memory_rule_does_not_match(self, make_rule: Any,
                                                    conditions: dict[str, Any],
                                                    actions: dict[str, Any]) -> None:
        """Case 38: memory_mb ge 100500 does not match, so neither its patch nor fail runs."""
        rule = make_rule([{"op": "ge", "field": "memory_mb", "value": 100500}],
                         [{"action": "set-attribute", "path": "/extra/bar", "value": "foo"},
                          {"action": "fail", "message": "boom"}])
        node = changes({**FUNCTIONAL_NODE, "extra": {"bar": "foo"}})
        assert apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions) == []
        assert node.pending.is_empty()

    def test_case_39_node_scheme(self, make_rule: Any, conditions: dict[str, Any],
                                 actions: dict[str, Any]) -> None:
        """Case 39: node:// conditions read the Ironic node and match."""
        rule = make_rule(
            [{"op": "eq", "field": "node://properties.local_gb", "value": 40},
             {"op": "eq", "field": "node://driver_info.ipmi_address", "value": "1.2.3.4"}],
            [{"action": "set-attribute", "path": "/extra/foo", "value": "bar"}])
        node = changes()
        assert apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions) == [rule]
        assert node.pending.node_patch == [{"op": "add", "path": "/extra/foo", "value": "bar"}]

    def test_case_40_data_scheme_formatted_path(self, make_rule: Any,
                                                conditions: dict[str, Any],
                                                actions: dict[str, Any]) -> None:
        """Case 40: a data:// condition and a formatted value patch driver_info."""
        rule = make_rule(
            [{"op": "eq", "field": "data://inventory.cpu.count", "value": 4}],
            [{"action": "set-attribute", "path": "/driver_info/ipmi_address",
              "value": "{data[inventory][bmc_address]}"}])
        node = changes({**FUNCTIONAL_NODE, "driver_info": {}})
        assert apply_rules([rule], FUNCTIONAL_DATA, node, conditions, actions) == [rule]
        assert node.pending.node_patch == [
            {"op": "add", "path": "/driver_info/ipmi_address", "value": "1.2.3.4"}]

    def test_cases_39_and_40_together(self, make_rule: Any, conditions: dict[str, Any],
                                      actions: dict[str, Any]) -> None:
        """Both rules of the scenario match; the second one's value is already in place."""
        node_rule = make_rule(
            [{"op": "eq", "field": "node://properties.local_gb", "value": 40},
             {"op": "eq", "field": "node://driver_info.ipmi_address", "value": "1.2.3.4"}],
            [{"action": "set-attribute", "path": "/extra/foo", "value": "bar"}])
        data_rule = make_rule(
            [{"op": "eq", "field": "data://inventory.cpu.count", "value": 4}],
            [{"action": "set-attribute", "path": "/driver_info/ipmi_address",
              "value": "{data[inventory][bmc_address]}"}])
        node = changes()
        matched = apply_rules([node_rule, data_rule], FUNCTIONAL_DATA, node, conditions, actions)
        assert matched == [node_rule, data_rule]
        assert node.node["extra"] == {"foo": "bar"}
        assert node.node["driver_info"] == {"ipmi_address": "1.2.3.4"}


class TestSpecExampleRules:
    def test_discovery_rule(self, make_rule: Any, conditions: dict[str, Any],
                            actions: dict[str, Any]) -> None:
        """The spec 7.7 discovery rule sets the driver (resetting interfaces) and credentials."""
        rule = make_rule(
            [{"op": "eq", "field": "data://auto_discovered", "value": True},
             {"op": "is-empty", "field": "node://driver_info.ipmi_username"}],
            [{"action": "set-attribute", "path": "driver", "value": "redfish"},
             {"action": "set-attribute", "path": "driver_info/ipmi_username", "value": "admin"},
             {"action": "set-attribute", "path": "driver_info/ipmi_address",
              "value": "{data[inventory][bmc_address]}"}])
        data = {**FUNCTIONAL_DATA, "auto_discovered": True,
                "inventory": {**FUNCTIONAL_DATA["inventory"], "bmc_address": "192.0.2.200"}}
        node = changes()
        apply_rules([rule], data, node, conditions, actions)
        assert node.pending.node_patch == [
            {"op": "add", "path": "/driver", "value": "redfish"},
            {"op": "add", "path": "/driver_info/ipmi_username", "value": "admin"},
            {"op": "add", "path": "/driver_info/ipmi_address", "value": "192.0.2.200"}]
        assert node.pending.reset_interfaces is True

    def test_little_memory_rule(self, make_rule: Any, conditions: dict[str, Any],
                                actions: dict[str, Any]) -> None:
        """The spec 7.7 memory rule refuses a node with less than 8 GiB."""
        rule = make_rule([{"op": "lt", "field": "memory_mb", "value": 8192}],
                         [{"action": "fail", "message": "Not enough RAM for this cloud"}])
        with pytest.raises(RuleActionError, match=r"^Not enough RAM for this cloud$"):
            apply_rules([rule], {"memory_mb": 4096}, changes(), conditions, actions)

    def test_subnet_rule(self, make_rule: Any, conditions: dict[str, Any],
                         actions: dict[str, Any]) -> None:
        """The spec 7.7 scoped subnet rule adds a trait, a tag and a vendor capability."""
        rule = make_rule(
            [{"op": "in-net", "field": "inventory.interfaces[*].ipv4_address",
              "value": "192.0.2.0/24"},
             {"op": "contains", "field": "inventory.system_vendor.product_name",
              "value": "PowerEdge", "invert": False}],
            [{"action": "add-trait", "name": "CUSTOM_RACK_12"},
             {"action": "extend-attribute", "path": "/extra/tags", "value": "rack12",
              "unique": True},
             {"action": "set-capability", "name": "vendor",
              "value": "{data[inventory][system_vendor][manufacturer]}"}],
            scope="rack-12")
        data = {"inventory": {
            "interfaces": [{"ipv4_address": None}, {"ipv4_address": "192.0.2.41"}],
            "system_vendor": {"product_name": "PowerEdge R640", "manufacturer": "Dell Inc."}}}
        node = changes({**FUNCTIONAL_NODE, "extra": {"tags": ["rack12"]},
                        "properties": {"inspection_scope": "rack-12"}})
        assert apply_rules([rule], data, node, conditions, actions) == [rule]
        assert node.traits == ["CUSTOM_RACK_12"]
        assert node.node["extra"]["tags"] == ["rack12"]
        assert node.capabilities == {"vendor": "Dell Inc."}
