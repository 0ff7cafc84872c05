"""MetalScope rules → Ironic 39's inspection rules → back, with Ironic's validation as referee.

A representative set of rules is exported (:mod:`metalscope.rules.ironic_export`), each
exported rule created in a real Ironic (``POST /v1/inspection_rules``), read back, converted
back with the import (:func:`metalscope.rules.ironic_format.convert_document`) and compared
with the original after the normalisation the export documents. The rules that cannot be
exported are listed with their reasons and never reach Ironic.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.rules.ironic_export import export_rules, exported_document
from metalscope.rules.ironic_format import convert_document
from metalscope.rules.ironic_push import push_rules
from metalscope.rules.model import Action, Condition, Rule

pytestmark = pytest.mark.integration

_INVERTED = {"eq": ("eq", False), "ne": ("eq", True), "lt": ("lt", False),
             "gt": ("gt", False), "le": ("gt", True), "ge": ("lt", True)}


def representative_rules() -> tuple[list[Rule], set[str]]:
    """Rules in creation order, and the UUIDs of those that cannot be exported."""
    def new() -> str:
        return str(uuid.uuid4())
    exportable = [
        Rule(new(), description="Discovered nodes get the ipmi driver and credentials",
             conditions=[Condition("eq", "data://auto_discovered", params={"value": True}),
                         Condition("is-empty", "node://driver_info.ipmi_username")],
             actions=[Action("set-attribute", {"path": "driver", "value": "ipmi",
                                               "reset_interfaces": False}),
                      Action("set-attribute", {"path": "/driver_info/ipmi_username",
                                               "value": "admin"}),
                      Action("set-attribute", {"path": "driver_info/ipmi_address",
                                               "value": "{data[inventory][bmc_address]}"})]),
        Rule(new(), description="Rack 12 PowerEdges", scope="rack-12",
             conditions=[Condition("in-net", "inventory.bmc_address",
                                   params={"value": "192.0.2.0/24"}),
                         Condition("contains", "inventory.system_vendor.product_name",
                                   params={"value": "PowerEdge"}),
                         Condition("matches", "data://inventory.interfaces[0].name",
                                   invert=True, params={"value": "lo|docker.*"})],
             actions=[Action("add-trait", {"name": "CUSTOM_RACK_12"}),
                      Action("extend-attribute", {"path": "/extra/tags", "value": "rack12",
                                                  "unique": True}),
                      Action("set-capability", {"name": "vendor", "value":
                             "{data[inventory][system_vendor][manufacturer]} ({data[boot_mode]})"}),
                      Action("set-capability", {"name": "old_cap", "value": None})]),
        Rule(new(), description="Text orderings and negations",
             conditions=[Condition("ne", "node://properties.cpu_arch", params={"value": "x86_64"}),
                         Condition("le", "data://inventory.system_vendor.serial_number",
                                   params={"value": "M"}),
                         Condition("ge", "data://inventory.system_vendor.serial_number",
                                   multiple="all", params={"value": "A{x}"}),
                         Condition("lt", "node://name", invert=True, params={"value": "n"}),
                         Condition("gt", "data://inventory.bios.version", params={"value": "2"}),
                         Condition("eq", "data://inventory.cpu.count", params={"value": 8})],
             actions=[Action("remove-trait", {"name": "CUSTOM_OLD"}),
                      Action("example", {"msg": "matched rule 3"})]),
        Rule(new(), description=None, conditions=[],
             actions=[Action("fail", {"message": "Refused by policy"})]),
    ]
    unexportable = [
        Rule(new(), description="Little memory (numeric ordering)",
             conditions=[Condition("lt", "memory_mb", params={"value": 8192})],
             actions=[Action("fail", {"message": "Not enough RAM"})]),
        Rule(new(), description="Drift rule",
             conditions=[Condition("eq", "diff://summary.changed", params={"value": True})],
             actions=[Action("add-trait", {"name": "CUSTOM_DRIFTED"})]),
        Rule(new(), description="Any interface on the provisioning net",
             conditions=[Condition("in-net", "inventory.interfaces[*].ipv4_address",
                                   params={"value": "192.0.2.0/24"})],
             actions=[Action("add-trait", {"name": "CUSTOM_PROV"})]),
        Rule(new(), description="Driver change resetting interfaces",
             actions=[Action("set-attribute", {"path": "driver", "value": "redfish",
                                               "reset_interfaces": True})]),
    ]
    return exportable + unexportable, {r.uuid for r in unexportable}


# -- the documented normalisation -----------------------------------------------------------------
def _field(field: str) -> str:
    return field if "://" in field else "data://" + field


def normalised_condition(cond: Condition) -> dict[str, Any]:
    """The condition the import gives back for an exported one."""
    value = cond.params.get("value")
    op, invert = cond.op, cond.invert
    if op in _INVERTED:
        op, negated = _INVERTED[op]
        invert = invert != negated
        if not isinstance(value, str):  # numbers are compared as text (force_strings)
            op, value = "matches", re.escape(str(value))
    result = {"op": op, "field": _field(cond.field), "invert": invert}
    return result if op == "is-empty" else {**result, "value": value}


def normalised_action(action: Action) -> dict[str, Any]:
    params = dict(action.params)
    if action.action in ("set-attribute", "extend-attribute"):
        params["path"] = "/" + params["path"].lstrip("/")
        params.pop("reset_interfaces", None)
    return {**params, "action": action.action}


def normalised(rule: Rule) -> dict[str, Any]:
    conditions = [normalised_condition(c) for c in rule.conditions]
    if rule.scope:
        conditions.insert(0, {"op": "eq", "field": "node://properties.inspection_scope",
                              "value": rule.scope, "invert": False})
    return {"uuid": rule.uuid, "description": rule.description, "conditions": conditions,
            "actions": [normalised_action(a) for a in rule.actions]}


def imported(rule: dict[str, Any]) -> dict[str, Any]:
    """An imported rule with the defaults of MetalScope's model filled in."""
    return {**rule,
            "conditions": [{"invert": False, **c} for c in rule["conditions"]]}


# -- the round trip -------------------------------------------------------------------------------
async def test_round_trip_through_ironic(ironic_client: IronicClient) -> None:
    originals, unexportable = representative_rules()
    exports = export_rules(originals)

    refused = {e.uuid: e.problems for e in exports if not e.exported}
    assert set(refused) == unexportable
    assert all(refused.values())
    reasons = " ".join(p for problems in refused.values() for p in problems)
    for expected in ("lt with the number 8192", "diff://summary.changed",
                     "can read several values", "reset_interfaces"):
        assert expected in reasons

    outcomes = await push_rules(ironic_client, exports)
    assert [o.status for o in outcomes] == ["created"] * (len(originals) - len(unexportable)), \
        [o.message for o in outcomes]

    stored = {r["uuid"]: r for r in await ironic_client.list_inspection_rules()}
    sent = exported_document(exports)
    back = [stored[rule["uuid"]] for rule in sent]
    assert [r["priority"] for r in back] == [r["priority"] for r in sent]
    assert [r["conditions"] for r in back] == [r["conditions"] for r in sent]
    assert [r["actions"] for r in back] == [r["actions"] for r in sent]

    conversions = convert_document(back)
    assert all(c.converted for c in conversions), [c.problems for c in conversions]
    assert [c.uuid for c in conversions] == [r.uuid for r in originals
                                             if r.uuid not in unexportable]
    expected = [normalised(r) for r in originals if r.uuid not in unexportable]
    assert [imported(c.rule) for c in conversions if c.rule is not None] == expected


async def test_second_push_changes_nothing(ironic_client: IronicClient) -> None:
    """Same UUID or same content (Ironic's session is shared: descriptions made unique)."""
    tag = uuid.uuid4().hex[:8]
    originals = [Rule(r.uuid, r.actions, r.conditions, f"{r.description} {tag}", r.scope)
                 for r in representative_rules()[0]]
    first = await push_rules(ironic_client, export_rules(originals[:2]))
    assert [o.status for o in first] == ["created", "created"]
    again = await push_rules(ironic_client, export_rules(originals[:2]))
    assert [o.status for o in again] == ["skipped", "skipped"]
    assert "exists in Ironic" in again[0].message

    renamed = [Rule(str(uuid.uuid4()), r.actions, r.conditions, r.description, r.scope)
               for r in originals[:1]]
    same_content = await push_rules(ironic_client, export_rules(renamed, base_priority=1))
    assert [o.status for o in same_content] == ["skipped"]
    assert "same content" in same_content[0].message
