"""Converting Ironic's inspection rules (ecosystem spec 1.4) into MetalScope rules."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, load_group
from metalscope.node_changes import NodeChanges
from metalscope.rules.engine import apply_rules
from metalscope.rules.ironic_format import (
    NotConvertible,
    RuleConversion,
    convert_action,
    convert_condition,
    convert_document,
    convert_rule,
    format_report,
    jsonpath,
    metalscope_template,
    patch_path,
)
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.rules.validation import parse_rule

RULE_UUID = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
NODE = {"uuid": "3f7a2a4e-9c4b-4d51-8d7e-0c3b5a1f2e01", "driver": "ipmi",
        "driver_info": {"ipmi_address": "192.0.2.200"}, "properties": {}, "extra": {},
        "traits": []}
DATA: dict[str, Any] = {
    "inventory": {
        "cpu": {"count": 48, "architecture": "x86_64", "model_name": "Intel(R) Xeon(R) 4214"},
        "memory": {"physical_mb": 196608},
        "system_vendor": {"manufacturer": "Dell Inc.", "product_name": "PowerEdge R640"},
        "interfaces": [{"name": "eno1", "ipv4_address": "192.0.2.41"}],
        "bmc_address": "192.0.2.200",
    },
    "auto_discovered": True,
    "root_disk": {"name": "/dev/sda", "size": 960},
}


@pytest.fixture(scope="module")
def conditions() -> dict[str, RuleCondition]:
    return {name: ep.load()() for name, ep in load_group(CONDITIONS_GROUP).items()}


@pytest.fixture(scope="module")
def actions() -> dict[str, RuleAction]:
    return {name: ep.load()() for name, ep in load_group(ACTIONS_GROUP).items()}


def condition(op: str, args: Any, **extra: Any) -> list[dict[str, Any]]:
    return convert_condition({"op": op, "args": args, **extra}, [])


def action(op: str, args: Any, **extra: Any) -> list[dict[str, Any]]:
    return convert_action({"op": op, "args": args, **extra}, [])


def ironic_rule(conditions: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None,
                **fields: Any) -> dict[str, Any]:
    return {"uuid": RULE_UUID, "description": "test", "priority": 0, "phase": "main",
            "sensitive": False, "conditions": conditions,
            "actions": actions or [{"op": "add-trait", "args": {"name": "CUSTOM_X"}}],
            **fields}


class TestFields:
    def test_inventory_reference(self) -> None:
        """{inventory[a][b]} reads data://inventory.a.b."""
        assert condition("eq", {"values": ["{inventory[cpu][count]}", 48]}) == [
            {"op": "eq", "field": "data://inventory.cpu.count", "value": 48}]

    def test_plugin_data_reference(self) -> None:
        """Plugin data is the rest of the processed data: {plugin_data[a]} is data://a."""
        assert condition("eq", {"values": ["{plugin_data[root_disk][name]}", "/dev/sda"]})[0][
            "field"] == "data://root_disk.name"

    def test_node_reference(self) -> None:
        """{node.driver_info[x]} reads node://driver_info.x."""
        assert condition("eq", {"values": ["{node.driver_info[ipmi_address]}", "1.2.3.4"]})[0][
            "field"] == "node://driver_info.ipmi_address"

    def test_list_index(self) -> None:
        """A digit index is a list index, as in str.format."""
        result = condition("in-net", {"address": "{inventory[interfaces][0][ipv4_address]}",
                                      "subnet": "192.0.2.0/24"})
        assert result[0]["field"] == "data://inventory.interfaces[0].ipv4_address"

    @pytest.mark.parametrize(("keys", "path"), [
        (["a", "b"], "a.b"), (["a", 0, "b"], "a[0].b"), (["a", "b c"], "a.'b c'"),
        (["where", "x"], "'where'.x"), (["a", "x-y"], "a.'x-y'")])
    def test_jsonpath(self, keys: list[Any], path: str) -> None:
        """Keys that are not plain names are quoted; jsonpath keywords too."""
        assert jsonpath(keys) == path

    def test_quote_in_key_not_convertible(self) -> None:
        """A key with a single quote cannot be written as a jsonpath-rw name."""
        with pytest.raises(NotConvertible, match="cannot be written"):
            jsonpath(["a", "it's"])

    @pytest.mark.parametrize("reference", [
        "{node}", "{inventory.cpu}", "{other[x]}", "{plugin_data}", "{inventory[cpu]!r}"])
    def test_unusable_references(self, reference: str) -> None:
        """References that name no field, or use attributes on dicts, are refused."""
        with pytest.raises(NotConvertible):
            condition("eq", {"values": [reference, 1]})


class TestComparisons:
    def test_constant_first_is_mirrored(self) -> None:
        """lt [8, "{x}"] means x > 8."""
        assert condition("lt", {"values": [8, "{inventory[cpu][count]}"]}) == [
            {"op": "gt", "field": "data://inventory.cpu.count", "value": 8}]

    def test_negation(self) -> None:
        """A leading ! (with or without space) becomes invert."""
        assert condition("! eq", {"values": ["{inventory[cpu][count]}", 8]})[0]["invert"] is True

    def test_double_negation_refused(self) -> None:
        """Ironic refuses !!eq; so does the converter."""
        with pytest.raises(NotConvertible, match="more than one"):
            condition("!!eq", {"values": ["{inventory[cpu][count]}", 8]})

    @pytest.mark.parametrize(("values", "message"), [
        (["{inventory[a]}", "{inventory[b]}"], "two references"),
        ([1, 2], "two constants"),
        (["{inventory[a]}", 1, 2], "chains 3 values"),
        (["{inventory[a]}", None], "compares with None"),
        (["{inventory[a]}", "x{inventory[b]}"], "mixes text"),
    ])
    def test_unconvertible(self, values: list[Any], message: str) -> None:
        """Only one reference against one constant has an equivalent."""
        with pytest.raises(NotConvertible, match=message):
            condition("eq", {"values": values})

    def test_fewer_than_two_values_dropped(self) -> None:
        """A comparison of one value is always true in Ironic: it is left out, with a note."""
        notes: list[str] = []
        assert convert_condition({"op": "eq", "args": {"values": ["x"]}}, notes) == []
        assert "always true" in notes[0]

    def test_force_strings_equality_is_text_match(self) -> None:
        """force_strings compares texts: an anchored match of the escaped constant."""
        assert condition("!eq", {"values": ["{inventory[cpu][count]}", 4.5],
                                 "force_strings": True}) == [
            {"op": "matches", "field": "data://inventory.cpu.count", "value": r"4\.5",
             "invert": True}]

    def test_force_strings_ordering_refused(self) -> None:
        """Text ordering has no equivalent."""
        with pytest.raises(NotConvertible, match="force_strings"):
            condition("lt", {"values": ["{inventory[a]}", "5"], "force_strings": True})

    def test_doubled_braces_in_constant(self) -> None:
        """A constant's doubled braces stand for single ones."""
        assert condition("eq", {"values": ["{inventory[a]}", "{{x}}"]})[0]["value"] == "{x}"

    @pytest.mark.parametrize("op", ["le", "ge", "ne"])
    def test_other_comparisons(self, op: str) -> None:
        """le, ge and ne (Ironic's classes, not in its table) convert as well."""
        assert condition(op, {"values": ["{inventory[a]}", 1]})[0]["op"] == op


class TestOtherOperators:
    def test_is_empty(self) -> None:
        """is-empty of a reference tests the field."""
        assert condition("is-empty", {"value": "{node.extra[tags]}"}) == [
            {"op": "is-empty", "field": "node://extra.tags"}]

    def test_is_empty_of_constant_refused(self) -> None:
        """A constant is never a field."""
        with pytest.raises(NotConvertible, match="constant"):
            condition("is-empty", {"value": "x"})

    @pytest.mark.parametrize(("op", "pattern"), [
        ("is-true", "(?i)(?:true|yes)"), ("is-false", "(?i)(?:false|no)")])
    def test_booleans(self, op: str, pattern: str) -> None:
        """is-true/is-false compare the text, as Ironic does after formatting."""
        notes: list[str] = []
        result = convert_condition({"op": op, "args": {"value": "{plugin_data[x]}"}}, notes)
        assert result == [{"op": "matches", "field": "data://x", "value": pattern}]
        assert op in notes[0]

    def test_is_none_refused(self) -> None:
        """There is no null-only operator."""
        with pytest.raises(NotConvertible, match="null only"):
            condition("is-none", {"value": "{inventory[a]}"})

    def test_matches_keeps_regex_braces(self) -> None:
        """Ironic does not format regex, so {2} quantifiers stay as they are."""
        assert condition("matches", {"value": "{inventory[cpu][model_name]}",
                                     "regex": ".*Xeon.{2}"}) == [
            {"op": "matches", "field": "data://inventory.cpu.model_name", "value": ".*Xeon.{2}"}]

    def test_contains(self) -> None:
        """contains keeps its search semantics."""
        assert condition("contains", {"value": "{inventory[a]}", "regex": "b"})[0]["op"] == \
            "contains"

    def test_one_of(self) -> None:
        """one-of is an anchored alternation of the escaped values."""
        assert condition("one-of", {"value": "{inventory[a]}", "values": ["a.b", 2]}) == [
            {"op": "matches", "field": "data://inventory.a", "value": r"(?:a\.b|2)"}]

    def test_one_of_empty_refused(self) -> None:
        """An empty list has no alternation."""
        with pytest.raises(NotConvertible):
            condition("one-of", {"value": "{inventory[a]}", "values": []})

    def test_in_net_subnet_reference_refused(self) -> None:
        """The network must be a constant."""
        with pytest.raises(NotConvertible, match="subnet"):
            condition("in-net", {"address": "{inventory[a]}", "subnet": "{inventory[b]}"})

    def test_list_args(self) -> None:
        """Deprecated list-form args are read by position, with a note."""
        notes: list[str] = []
        result = convert_condition({"op": "matches", "args": ["{inventory[a]}", "x"]}, notes)
        assert result[0]["value"] == "x" and "list-form" in notes[0]

    @pytest.mark.parametrize(("cond", "message"), [
        ({"op": "nope", "args": {}}, "unknown operator"),
        ({"op": "eq", "args": {}}, "missing argument"),
        ({"op": "eq", "args": {"values": [], "extra": 1}}, "unexpected argument"),
        ({"op": "eq", "args": "x"}, "args must be"),
        ("eq", "not an object"),
    ])
    def test_malformed(self, cond: Any, message: str) -> None:
        """Malformed conditions are reported, not crashed on."""
        with pytest.raises(NotConvertible, match=message):
            convert_condition(cond, [])


class TestConditionLoops:
    def test_all_unrolls(self) -> None:
        """multiple=all: one condition per item, all must hold."""
        result = condition("!eq", {"values": ["{inventory[system_vendor][manufacturer]}",
                                              "{item}"]},
                           loop=["HPE", "Lenovo"], multiple="all")
        assert [c["value"] for c in result] == ["HPE", "Lenovo"]
        assert all(c["op"] == "matches" and c["invert"] for c in result)

    def test_any_of_equalities_is_alternation(self) -> None:
        """multiple=any over equalities of one field: a single alternation."""
        assert condition("eq", {"values": ["{inventory[system_vendor][manufacturer]}",
                                           "{item}"]}, loop=["Dell Inc.", "HPE"]) == [
            {"op": "matches", "field": "data://inventory.system_vendor.manufacturer",
             "value": r"(?:Dell\ Inc\.|HPE)"}]

    def test_any_of_networks_refused(self) -> None:
        """An OR of in-net tests cannot be written as one MetalScope rule."""
        with pytest.raises(NotConvertible, match="one rule per item"):
            condition("in-net", {"address": "{inventory[bmc_address]}", "subnet": "{item}"},
                      loop=["192.0.2.0/24", "198.51.100.0/24"])

    def test_last_takes_last_item(self) -> None:
        """multiple=last: only the last item's result counts."""
        result = condition("in-net", {"address": "{inventory[bmc_address]}",
                                      "subnet": "{item}"},
                           loop=["192.0.2.0/24", "198.51.100.0/24"], multiple="last")
        assert result == [{"op": "in-net", "field": "data://inventory.bmc_address",
                           "value": "198.51.100.0/24"}]

    def test_dict_loop_is_one_item(self) -> None:
        """A dict loop is a single item whose keys {item[k]} reads."""
        result = condition("matches", {"value": "{item[field]}", "regex": "{item[regex]}"},
                           loop={"field": "{inventory[cpu][architecture]}", "regex": "x86.*"})
        assert result == [{"op": "matches", "field": "data://inventory.cpu.architecture",
                           "value": "x86.*"}]

    def test_missing_item_key(self) -> None:
        """An item without the referenced key is reported."""
        with pytest.raises(NotConvertible, match="loop item"):
            condition("eq", {"values": ["{inventory[a]}", "{item[x]}"]}, loop=[{"y": 1}])


class TestActions:
    @pytest.mark.parametrize(("path", "expected"), [
        ("driver_info.ipmi_address", "/driver_info/ipmi_address"),
        ("/extra/a.b", "/extra/a.b"), ("driver", "/driver"),
        ("properties/cpus", "/properties/cpus")])
    def test_paths(self, path: str, expected: str) -> None:
        """Dotted or slashed paths become PATCH paths (a slash wins, as in Ironic)."""
        assert patch_path(path) == expected

    def test_set_attribute_value_template(self) -> None:
        """Value references move under data, at any depth, keys included."""
        result = action("set-attribute", {"path": "extra.hw", "value": {
            "{inventory[cpu][architecture]}": ["{plugin_data[root_disk][name]}", 1]}})
        assert result == [{"action": "set-attribute", "path": "/extra/hw", "value": {
            "{data[inventory][cpu][architecture]}": ["{data[root_disk][name]}", 1]}}]

    def test_template_keeps_text_and_format_spec(self) -> None:
        """Literal text (braces re-doubled), conversions and format specs survive."""
        assert metalscope_template("{{x}} {inventory[a]!s:>4} y") == \
            "{{x}} {data[inventory][a]!s:>4} y"

    def test_node_in_value_refused(self) -> None:
        """MetalScope formats values with the data only."""
        with pytest.raises(NotConvertible, match="node fields"):
            action("set-attribute", {"path": "extra.x", "value": "{node.uuid}"})

    def test_extend_attribute(self) -> None:
        """extend-attribute keeps unique."""
        assert action("extend-attribute", {"path": "extra.tags", "value": "a", "unique": True}) \
            == [{"action": "extend-attribute", "path": "/extra/tags", "value": "a",
                 "unique": True}]

    def test_capabilities(self) -> None:
        """set-capability converts as is; unset-capability is a null value."""
        assert action("set-capability", {"name": "c", "value": "{inventory[cpu][count]}"}) == [
            {"action": "set-capability", "name": "c", "value": "{data[inventory][cpu][count]}"}]
        assert action("unset-capability", {"name": "c"}) == [
            {"action": "set-capability", "name": "c", "value": None}]

    def test_traits_and_fail(self) -> None:
        """add-trait/remove-trait keep name; fail's msg becomes message."""
        assert action("add-trait", {"name": "T"}) == [{"action": "add-trait", "name": "T"}]
        assert action("remove-trait", {"name": "T"}) == [{"action": "remove-trait", "name": "T"}]
        assert action("fail", {"msg": "no"}) == [{"action": "fail", "message": "no"}]

    def test_log_becomes_example(self) -> None:
        """log only logs: MetalScope's example action does that too."""
        notes: list[str] = []
        assert convert_action({"op": "log", "args": {"msg": "hi", "level": "info"}}, notes) == [
            {"action": "example", "msg": "hi", "level": "info"}]
        assert "example" in notes[0]

    @pytest.mark.parametrize(("op", "args", "message"), [
        ("del-attribute", {"path": "extra.a"}, "cannot remove"),
        ("set-plugin-data", {"path": "a", "value": 1}, "stored introspection data"),
        ("set-port-attribute", {"port_id": "p", "path": "a", "value": 1}, "cannot edit ports"),
        ("api-call", {"url": "http://x"}, "no outside calls"),
        ("nope", {}, "unknown action"),
    ])
    def test_unsupported(self, op: str, args: dict[str, Any], message: str) -> None:
        """Actions without an equivalent say why."""
        with pytest.raises(NotConvertible, match=message):
            action(op, args)

    def test_op_not_text(self) -> None:
        """A malformed op is reported, not crashed on."""
        with pytest.raises(NotConvertible, match="op must be a string"):
            convert_action({"op": ["fail"], "args": {}}, [])

    def test_loop_gives_one_action_per_item(self) -> None:
        """An action loop runs the action once per item, {item} substituted everywhere."""
        result = action("set-attribute", {"path": "{item[path]}", "value": "{item[value]}"},
                        loop=[{"path": "extra.a", "value": "{inventory[bmc_address]}"},
                              {"path": "extra.b", "value": 2}])
        assert result == [
            {"action": "set-attribute", "path": "/extra/a",
             "value": "{data[inventory][bmc_address]}"},
            {"action": "set-attribute", "path": "/extra/b", "value": 2}]

    def test_loop_reference_in_unformatted_argument_refused(self) -> None:
        """In a loop Ironic formats a trait name; MetalScope does not."""
        with pytest.raises(NotConvertible, match="does not format name"):
            action("add-trait", {"name": "CUSTOM_{inventory[cpu][architecture]}"}, loop=[1])


class TestRules:
    def test_whole_rule(self, conditions: dict[str, RuleCondition],
                        actions: dict[str, RuleAction]) -> None:
        """A converted rule keeps uuid and description and passes MetalScope's validation."""
        result = convert_rule(ironic_rule([
            {"op": "ge", "args": {"values": ["{inventory[memory][physical_mb]}", 8192]}}]))
        assert result.converted and not result.problems
        rule = parse_rule(result.rule, conditions, actions)
        assert rule.uuid == RULE_UUID and rule.description == "test"
        assert rule.conditions[0].field == "data://inventory.memory.physical_mb"

    def test_one_bad_part_refuses_the_rule(self) -> None:
        """A rule is converted whole or not at all; every problem is listed."""
        result = convert_rule(ironic_rule(
            [{"op": "is-none", "args": {"value": "{inventory[a]}"}}],
            [{"op": "add-trait", "args": {"name": "T"}},
             {"op": "api-call", "args": {"url": "http://x"}}]))
        assert result.rule is None
        assert result.problems == [
            "condition 1 (is-none): MetalScope has no operator that is true for null only "
            "(is-empty is also true for \"\", [] and {})",
            "action 2 (api-call): MetalScope rule actions make no outside calls"]

    def test_phase_other_than_main_refused(self) -> None:
        """Only Ironic's main phase has an equivalent."""
        result = convert_rule(ironic_rule([], phase="early"))
        assert not result.converted and "phase 'early'" in result.problems[0]

    def test_sensitive_and_unknown_keys_noted(self) -> None:
        """sensitive cannot be kept; unknown keys are ignored; both are noted."""
        result = convert_rule(ironic_rule([], sensitive=True, colour="red",
                                          links=[], created_at="x"))
        assert result.converted
        assert any("sensitive" in n for n in result.notes)
        assert any("ignored key(s): colour" in n for n in result.notes)

    def test_no_actions(self) -> None:
        """A rule needs an action."""
        assert convert_rule(ironic_rule([], actions=[]) | {"actions": []}).problems == [
            "a rule needs at least one action"]

    def test_not_an_object(self) -> None:
        """Anything but an object is reported."""
        assert not convert_rule("x").converted

    def test_priority_order(self) -> None:
        """Rules come out in Ironic's run order, with a note on the ones that moved."""
        low = ironic_rule([], description="low", priority=1, uuid=None)
        high = ironic_rule([], description="high", priority=50, uuid=None)
        result = convert_document([low, high])
        assert [c.description for c in result] == ["high", "low"]
        assert "position 1" in result[0].notes[0] and "position 2" in result[1].notes[0]
        assert "uuid" not in result[0].rule  # type: ignore[operator]

    @pytest.mark.parametrize("wrap", [
        lambda r: r, lambda r: [r], lambda r: {"inspection_rules": [r]}])
    def test_document_shapes(self, wrap: Any) -> None:
        """A single rule, a list, or Ironic's list answer."""
        assert len(convert_document(wrap(ironic_rule([])))) == 1

    def test_bad_document(self) -> None:
        """A document that holds no rules is a ValueError."""
        with pytest.raises(ValueError):
            convert_document("x")

    def test_report(self) -> None:
        """The report lists each rule, its problems and notes, then a summary."""
        done = RuleConversion(1, RULE_UUID, "ok", rule={}, notes=["n"])
        failed = RuleConversion(2, None, None, problems=["p"])
        assert format_report([done, failed]) == [
            f"converted: {RULE_UUID} (ok)", "    note: n", "NOT converted: #2", "    - p",
            "1 of 2 Ironic inspection rule(s) converted, 1 not converted"]

    def test_report_indents_multi_line_problems(self) -> None:
        """A problem of several lines (a schema error's detail) stays under its rule."""
        failed = RuleConversion(1, None, None, problems=["first\n\nFailed\n    {}"])
        assert format_report([failed])[1] == "    - first\n\n      Failed\n          {}"


class TestBehaviour:
    """Converted rules do on MetalScope's engine what the Ironic rules meant."""

    def run(self, rule: dict[str, Any], conditions: dict[str, RuleCondition],
            actions: dict[str, RuleAction], data: dict[str, Any] = DATA) -> NodeChanges:
        converted = convert_rule(rule)
        assert converted.rule is not None, converted.problems
        node = NodeChanges(NODE, [])
        apply_rules([parse_rule(converted.rule, conditions, actions)], data, node, conditions,
                    actions)
        return node

    def test_discovered_big_dell(self, conditions: dict[str, RuleCondition],
                                 actions: dict[str, RuleAction]) -> None:
        """A typical discovery rule: conditions on data and node, actions with references."""
        rule = ironic_rule(
            [{"op": "is-true", "args": {"value": "{plugin_data[auto_discovered]}"}},
             {"op": "gt", "args": {"values": ["{inventory[memory][physical_mb]}", 65536]}},
             {"op": "eq", "args": {"values": ["{inventory[system_vendor][manufacturer]}",
                                              "{item}"]}, "loop": ["Dell Inc.", "HPE"]},
             {"op": "eq", "args": {"values": ["{node.driver_info[ipmi_address]}",
                                              "192.0.2.200"]}}],
            [{"op": "set-attribute", "args": {"path": "extra.vendor",
                                              "value": "{inventory[system_vendor][manufacturer]}"}},
             {"op": "add-trait", "args": {"name": "{item}"}, "loop": ["CUSTOM_A", "CUSTOM_B"]},
             {"op": "set-capability", "args": {"name": "arch",
                                               "value": "{inventory[cpu][architecture]}"}}])
        node = self.run(rule, conditions, actions)
        assert node.node["extra"]["vendor"] == "Dell Inc."
        assert node.traits == ["CUSTOM_A", "CUSTOM_B"]
        assert node.capabilities == {"arch": "x86_64"}

    def test_negated_loop_all(self, conditions: dict[str, RuleCondition],
                              actions: dict[str, RuleAction]) -> None:
        """'None of these vendors' does not match a Dell."""
        rule = ironic_rule([{"op": "!eq", "args": {"values": [
            "{inventory[system_vendor][manufacturer]}", "{item}"]},
            "loop": ["Dell Inc.", "HPE"], "multiple": "all"}])
        assert self.run(rule, conditions, actions).traits == []
