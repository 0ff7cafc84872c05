"""Exporting MetalScope rules to Ironic's inspection rules: every operator and action,
negation, multiple, formatting, scope, priorities, the unsupported cases and the push."""

from __future__ import annotations

import json
from typing import Any

import pytest

from metalscope.errors import IronicError
from metalscope.rules.ironic_export import (
    NotExportable,
    already_there,
    export_action,
    export_condition,
    export_rule,
    export_rules,
    exported_document,
    field_reference,
    format_report,
    ironic_template,
)
from metalscope.rules.ironic_format import convert_document
from metalscope.rules.ironic_push import push_report, push_rules
from metalscope.rules.model import Action, Condition, Rule

UUID = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"


def cond(op: str, field: str, value: Any = None, **kwargs: Any) -> dict[str, Any]:
    params = {} if value is None else {"value": value}
    return export_condition(Condition(op, field, params=params, **kwargs), [])


def act(action: str, /, **params: Any) -> dict[str, Any]:
    return export_action(Action(action, params), [])


class TestFields:
    @pytest.mark.parametrize(("field", "reference"), [
        ("data://inventory.cpu.count", "inventory[cpu][count]"),
        ("inventory.interfaces[0].mac_address", "inventory[interfaces][0][mac_address]"),
        ("memory_mb", "plugin_data[memory_mb]"),
        ("data://root_disk.size", "plugin_data[root_disk][size]"),
        ("data://'odd key'.x", "plugin_data[odd key][x]"),
        ("node://driver_info.ipmi_address", "node.driver_info[ipmi_address]"),
        ("node://uuid", "node.uuid"),
        ("node://is_maintenance", "node.maintenance"),  # SDK alias → REST name
    ])
    def test_reference(self, field: str, reference: str) -> None:
        assert field_reference(field) == reference

    @pytest.mark.parametrize(("field", "reason"), [
        ("inventory.interfaces[*].ipv4_address", "several values"),
        ("data://inventory..mac_address", "several values"),
        ("inventory.disks[0:2]", "several values"),
        ("diff://summary.changed", "hardware diff"),
        ("ftp://x", "unknown field scheme"),
        ("data://extra.'a]b'", "cannot be written"),
        ("data://extra.'0'", "cannot be written"),
        ("node://[0]", "node field name"),
        ("data://(((", "cannot read the JSONPath"),
    ])
    def test_unexportable(self, field: str, reason: str) -> None:
        with pytest.raises(NotExportable, match=reason):
            field_reference(field)


class TestConditions:
    @pytest.mark.parametrize(("op", "invert", "ironic"), [
        ("eq", False, "eq"), ("eq", True, "!eq"), ("ne", False, "!eq"), ("ne", True, "eq"),
        ("lt", False, "lt"), ("lt", True, "!lt"), ("gt", False, "gt"), ("gt", True, "!gt"),
        ("le", False, "!gt"), ("le", True, "gt"), ("ge", False, "!lt"), ("ge", True, "lt"),
    ])
    def test_text_comparisons(self, op: str, invert: bool, ironic: str) -> None:
        assert cond(op, "node://name", "n{1}", invert=invert) == {
            "op": ironic, "args": {"values": ["{node.name}", "n{{1}}"]}}

    @pytest.mark.parametrize("value", [8, 4.5, True])
    def test_number_equality_compared_as_text(self, value: Any) -> None:
        notes: list[str] = []
        exported = export_condition(Condition("ne", "inventory.cpu.count",
                                              params={"value": value}), notes)
        assert exported == {"op": "!eq", "args": {
            "values": ["{inventory[cpu][count]}", value], "force_strings": True}}
        assert "compared as text" in notes[0]

    @pytest.mark.parametrize("op", ["lt", "gt", "le", "ge"])
    def test_number_ordering_unexportable(self, op: str) -> None:
        with pytest.raises(NotExportable, match=f"{op} with the number 8192"):
            cond(op, "memory_mb", 8192)

    def test_other_constant_unexportable(self) -> None:
        with pytest.raises(NotExportable, match="only numbers and texts"):
            cond("eq", "memory_mb", [1])

    @pytest.mark.parametrize("op", ["matches", "contains"])
    def test_regex(self, op: str) -> None:
        assert cond(op, "inventory.system_vendor.product_name", "Power{1}Edge.*") == {
            "op": op, "args": {"value": "{inventory[system_vendor][product_name]}",
                               "regex": "Power{1}Edge.*"}}
        assert cond(op, "node://name", "x", invert=True)["op"] == f"!{op}"

    def test_is_empty(self) -> None:
        notes: list[str] = []
        exported = export_condition(Condition("is-empty", "node://driver_info.ipmi_username",
                                              invert=True), notes)
        assert exported == {"op": "!is-empty",
                            "args": {"value": "{node.driver_info[ipmi_username]}"}}
        assert "'None'" in notes[0]

    def test_in_net(self) -> None:
        assert cond("in-net", "inventory.bmc_address", "192.0.2.0/24") == {
            "op": "in-net", "args": {"address": "{inventory[bmc_address]}",
                                     "subnet": "192.0.2.0/24"}}

    @pytest.mark.parametrize("multiple", ["all", "first"])
    def test_multiple_dropped_with_a_note(self, multiple: str) -> None:
        notes: list[str] = []
        exported = export_condition(Condition("eq", "node://name", multiple=multiple,
                                              params={"value": "a"}), notes)
        assert "multiple" not in exported and "loop" not in exported
        assert f"multiple {multiple!r} dropped" in notes[0]

    def test_third_party_operator(self) -> None:
        with pytest.raises(NotExportable, match="'custom' has no Ironic equivalent"):
            cond("custom", "node://name", "a")


class TestActions:
    def test_set_attribute(self) -> None:
        assert act("set-attribute", path="driver_info/ipmi_address",
                   value="{data[inventory][bmc_address]}") == {
            "op": "set-attribute", "args": {"path": "/driver_info/ipmi_address",
                                            "value": "{inventory[bmc_address]}"}}

    def test_set_attribute_driver(self) -> None:
        notes: list[str] = []
        export_action(Action("set-attribute", {"path": "driver", "value": "ipmi"}), notes)
        assert "without resetting" in notes[0]
        assert act("set-attribute", path="driver", value="ipmi", reset_interfaces=False)[
            "args"] == {"path": "/driver", "value": "ipmi"}
        with pytest.raises(NotExportable, match="reset_interfaces"):
            act("set-attribute", path="/driver", value="ipmi", reset_interfaces=True)

    def test_pointer_escapes_unexportable(self) -> None:
        with pytest.raises(NotExportable, match="JSON-pointer"):
            act("set-attribute", path="/extra/a~1b", value=1)

    def test_extend_attribute(self) -> None:
        assert act("extend-attribute", path="/extra/tags", value="{data[rack]}",
                   unique=True) == {"op": "extend-attribute", "args": {
                       "path": "/extra/tags", "value": "{plugin_data[rack]}", "unique": True}}

    def test_capabilities(self) -> None:
        assert act("set-capability", name="boot_mode", value="uefi") == {
            "op": "set-capability", "args": {"name": "boot_mode", "value": "uefi"}}
        assert act("set-capability", name="boot_mode", value=None) == {
            "op": "unset-capability", "args": {"name": "boot_mode"}}
        assert act("set-capability", name="boot_mode")["op"] == "unset-capability"

    @pytest.mark.parametrize("name", ["add-trait", "remove-trait"])
    def test_traits(self, name: str) -> None:
        assert act(name, name="CUSTOM_X") == {"op": name, "args": {"name": "CUSTOM_X"}}

    def test_fail(self) -> None:
        assert act("fail", message="No {way}") == {"op": "fail", "args": {"msg": "No {way}"}}

    def test_example(self) -> None:
        assert act("example", msg="hello {x}") == {"op": "log", "args": {"msg": "hello {{x}}"}}
        notes: list[str] = []
        exported = export_action(Action("example", {"a": 1}), notes)
        assert exported == {"op": "log", "args": {"msg": '{{"a": 1}}'}}
        assert "as JSON" in notes[0]

    def test_third_party_action(self) -> None:
        with pytest.raises(NotExportable, match="'webhook' has no Ironic equivalent"):
            act("webhook", url="http://x")


class TestFormatting:
    @pytest.mark.parametrize(("template", "ironic"), [
        ("{data[inventory][cpu][count]}", "{inventory[cpu][count]}"),
        ("{data[inventory]}", "{inventory}"),
        ("{data[root_disk][size]} GiB", "{plugin_data[root_disk][size]} GiB"),
        ("{data[inventory][memory][physical_mb]:>8}!r", "{inventory[memory][physical_mb]:>8}!r"),
        ("{data[inventory][x]!r}", "{inventory[x]!r}"),
        ("{{literal}}", "{{literal}}"),
        ("plain", "plain"),
    ])
    def test_template(self, template: str, ironic: str) -> None:
        assert ironic_template(template) == ironic

    @pytest.mark.parametrize(("template", "reason"), [
        ("{data}", "not a key of the data"),
        ("{node.uuid}", "not a key of the data"),
        ("{data[x]:{data[y]}}", "nested references"),
        ("{oops", "malformed template"),
    ])
    def test_unexportable(self, template: str, reason: str) -> None:
        with pytest.raises(NotExportable, match=reason):
            ironic_template(template)

    def test_nested_values(self) -> None:
        exported = act("set-attribute", path="/extra/x",
                       value={"{data[k]}": ["{data[inventory][a]}", 3]})
        assert exported["args"]["value"] == {"{plugin_data[k]}": ["{inventory[a]}", 3]}


class TestRules:
    def test_rule(self) -> None:
        rule = Rule(UUID, [Action("add-trait", {"name": "CUSTOM_X"})],
                    [Condition("eq", "node://name", params={"value": "a"})], "desc", "rack{1}")
        export = export_rule(rule, priority=7)
        assert export.rule == {
            "uuid": UUID, "description": "desc", "priority": 7, "phase": "main",
            "sensitive": False,
            "conditions": [{"op": "eq", "args": {"values": [
                               "{node.properties[inspection_scope]}", "rack{{1}}"]}},
                           {"op": "eq", "args": {"values": ["{node.name}", "a"]}}],
            "actions": [{"op": "add-trait", "args": {"name": "CUSTOM_X"}}]}
        assert any("scope 'rack{1}'" in note for note in export.notes)

    def test_any_problem_means_not_exported(self) -> None:
        rule = Rule(UUID, [Action("add-trait", {"name": "X"}), Action("webhook", {})],
                    [Condition("eq", "diff://a", params={"value": 1}),
                     Condition("eq", "node://name", params={"value": "a"})], "d")
        export = export_rule(rule)
        assert export.rule is None
        assert [p.split(":")[0] for p in export.problems] == ["condition 1 (eq)",
                                                             "action 2 (webhook)"]
        assert format_report([export])[:3] == [
            f"NOT exported: {UUID} (d)", f"    - {export.problems[0]}",
            f"    - {export.problems[1]}"]

    def test_priorities_keep_creation_order(self) -> None:
        rules = [Rule(f"u{i}", [Action("add-trait", {"name": f"T{i}"})]) for i in range(3)]
        exports = export_rules(rules, base_priority=10)
        assert [e.rule["priority"] for e in exports if e.rule] == [12, 11, 10]
        converted = convert_document(exported_document(exports))
        assert [c.uuid for c in converted] == ["u0", "u1", "u2"]
        assert format_report(exports)[-1] == "3 of 3 rule(s) exported to Ironic's format"

    def test_priorities_must_fit(self) -> None:
        rules = [Rule("u", [Action("add-trait", {"name": "T"})])] * 2
        with pytest.raises(ValueError, match="do not fit"):
            export_rules(rules, base_priority=9999)

    def test_round_trip_through_the_import(self) -> None:
        rule = Rule(UUID, [Action("set-capability", {"name": "v",
                                                     "value": "{data[inventory][a]}"})],
                    [Condition("le", "inventory.bios.version", params={"value": "2.1"}),
                     Condition("contains", "memory_mb", invert=True, params={"value": "^1"})],
                    "d")
        [converted] = convert_document(exported_document(export_rules([rule])))
        assert converted.rule == {
            "uuid": UUID, "description": "d",
            "conditions": [
                {"op": "gt", "field": "data://inventory.bios.version", "value": "2.1",
                 "invert": True},
                {"op": "contains", "field": "data://memory_mb", "value": "^1", "invert": True}],
            "actions": [{"action": "set-capability", "name": "v",
                         "value": "{data[inventory][a]}"}]}


PUSHED = {"uuid": UUID, "description": "d", "priority": 0, "phase": "main",
          "sensitive": False, "conditions": [], "actions": [{"op": "fail", "args": {"msg": "x"}}]}


class TestPush:

    def test_already_there(self) -> None:
        assert already_there(PUSHED, []) is None
        assert "exists" in (already_there(PUSHED, [{"uuid": UUID}]) or "")
        other = {**PUSHED, "uuid": "other", "priority": 5, "links": []}
        assert "other has the same content" in (already_there(PUSHED, [other]) or "")
        changed = {**other, "description": "e"}
        assert already_there(PUSHED, [changed]) is None

    async def test_push(self) -> None:
        class FakeIronic:
            def __init__(self) -> None:
                self.rules: list[dict[str, Any]] = [{"uuid": "u-old", "description": "old"}]

            async def list_inspection_rules(self) -> list[dict[str, Any]]:
                return [dict(r) for r in self.rules]

            async def create_inspection_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
                if rule["description"] == "refused":
                    raise IronicError("Invalid rule", 400)
                self.rules.append(json.loads(json.dumps(rule)))
                return rule

        rules = [Rule(u, [Action("add-trait", {"name": "T"})], description=d)
                 for u, d in (("u-old", "old"), ("u1", "new"), ("u2", "refused"),
                              ("u3", "new"))]
        rules.append(Rule("u4", [Action("webhook", {})]))
        ironic = FakeIronic()
        outcomes = await push_rules(ironic, export_rules(rules))
        assert [(o.label.split()[0], o.status) for o in outcomes] == [
            ("u-old", "skipped"), ("u1", "created"), ("u2", "refused"), ("u3", "skipped")]
        assert "u1 has the same content" in outcomes[3].message
        assert push_report(outcomes)[-1] == "Ironic: 1 created, 2 skipped, 1 refused"
        assert [r["uuid"] for r in ironic.rules] == ["u-old", "u1"]

    async def test_server_errors_stop_the_push(self) -> None:
        class Down:
            async def list_inspection_rules(self) -> list[dict[str, Any]]:
                return []

            async def create_inspection_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
                raise IronicError("Internal error", 500)

        with pytest.raises(IronicError):
            await push_rules(Down(), export_rules([Rule("u", [Action("fail",
                                                                      {"message": "m"})])]))
