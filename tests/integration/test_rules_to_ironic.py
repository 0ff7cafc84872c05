"""MetalScope rules → Ironic 39's inspection rules → back, with Ironic's validation as referee.

A representative set of rules is exported (:mod:`metalscope.rules.ironic_export`), each
exported rule created in a real Ironic (``POST /v1/inspection_rules``), read back, converted
back with the import (:func:`metalscope.rules.ironic_format.convert_document`) and compared
with the original after the normalisation the export documents. The rules that cannot be
exported are listed with their reasons and never reach Ironic.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.ironic_client import IronicClient
from metalscope.rules.ironic_export import export_rules, exported_document
from metalscope.rules.ironic_format import convert_document
from metalscope.rules.ironic_push import push_rules
from metalscope.rules.model import Action, Condition, Rule
from metalscope.settings import load_settings
from metalscope.testing.ironic import LocalIronic

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


# -- an exported rule run by Ironic's own inspection ----------------------------------------------
@pytest.fixture(scope="module")
def inspecting_ironic(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory,
                      repo_root: Path) -> Iterator[LocalIronic]:
    """A second Ironic 39 (same installation as the session's) that inspects by itself
    (``inspect_interface = agent``, inventory in its database), so its rules are its own."""
    workdir = tmp_path_factory.mktemp("inspecting-ironic")
    local = LocalIronic(workdir, ironic.bin_dir,
                        schema_cache_dir=repo_root / ".work" / "ironic-schema",
                        options={"DEFAULT": {"enabled_inspect_interfaces": "agent,fake,no-inspect"},
                                 "inspector": {"require_managed_boot": False},
                                 "inventory": {"data_backend": "database"}})
    with local:
        yield local


def _wait_for(http: httpx.Client, uuid: str, state: str) -> dict[str, Any]:
    """The node once it rests (no reservation) in ``state``, or a failure naming where it is."""
    deadline = time.monotonic() + 60
    while True:
        node: dict[str, Any] = http.get(f"/v1/nodes/{uuid}").json()
        if node["provision_state"] == state and node["reservation"] is None:
            return node
        if time.monotonic() > deadline:
            raise AssertionError(f"node {uuid} is in {node['provision_state']}, not {state}: "
                                 f"{node['last_error']}")
        time.sleep(0.2)


async def _push_to(url: str, rules: list[Rule]) -> list[str]:
    settings = load_settings(overrides={"ironic": {"auth_type": "none", "endpoint_override": url}})
    client = IronicClient.from_settings(settings)
    try:
        return [o.status for o in await push_rules(client, export_rules(rules))]
    finally:
        await client.aclose()


def test_exported_rule_runs_in_ironic(inspecting_ironic: LocalIronic,
                                            mac_factory: Callable[[], str]) -> None:
    """Ironic applies the exported rule on its own inspection: trait, capability (formatted
    from the inventory), extra; a number compared as text matches; a rule whose text
    comparison fails does not run."""
    matching = Rule(str(uuid.uuid4()), description="Dell with 48 CPUs",
                    conditions=[Condition("eq", "inventory.system_vendor.manufacturer",
                                          params={"value": "Dell Inc."}),
                                Condition("eq", "inventory.cpu.count", params={"value": 48}),
                                Condition("in-net", "inventory.bmc_address",
                                          params={"value": "192.0.2.0/24"})],
                    actions=[Action("add-trait", {"name": "CUSTOM_DELL_48"}),
                             Action("set-capability", {"name": "vendor", "value":
                                    "{data[inventory][system_vendor][product_name]}"}),
                             Action("set-attribute", {"path": "/extra/exported", "value": "yes"})])
    other = Rule(str(uuid.uuid4()), description="Not a Dell",
                 conditions=[Condition("ne", "inventory.system_vendor.manufacturer",
                                       params={"value": "Dell Inc."})],
                 actions=[Action("add-trait", {"name": "CUSTOM_NOT_DELL"})])
    assert asyncio.run(_push_to(inspecting_ironic.url, [matching, other])) == [
        "created", "created"]

    mac = mac_factory()
    node = inspecting_ironic.enroll_node(None, {}, [mac], inspect_interface="agent")
    inventory = {
        "interfaces": [{"name": "eth0", "mac_address": mac, "ipv4_address": "192.0.2.50"}],
        "cpu": {"count": 48, "architecture": "x86_64"},
        "memory": {"physical_mb": 65536, "total": 68719476736},
        "disks": [{"name": "/dev/sda", "size": 960 * 1024**3}],
        "system_vendor": {"manufacturer": "Dell Inc.", "product_name": "PowerEdge R640"},
        "bmc_address": "192.0.2.200",
    }
    headers = {"X-OpenStack-Ironic-API-Version": inspecting_ironic.api_version or "1.96"}
    with httpx.Client(base_url=inspecting_ironic.url, headers=headers, timeout=30) as http:
        inspecting_ironic.request_provision_action(node["uuid"], "inspect")
        _wait_for(http, node["uuid"], "inspect wait")
        answer = http.post("/v1/continue_inspection",
                           json={"inventory": inventory,
                                 "root_disk": {"name": "/dev/sda", "size": 960 * 1024**3}})
        assert answer.status_code == 202, answer.text
        inspected = _wait_for(http, node["uuid"], "manageable")
        traits = http.get(f"/v1/nodes/{node['uuid']}/traits").json()["traits"]
    assert traits == ["CUSTOM_DELL_48"]
    assert "vendor:PowerEdge R640" in inspected["properties"]["capabilities"]
    assert inspected["extra"]["exported"] == "yes"
