"""The fleet pages end to end: a real Ironic, MetalScope as a real process, the simulated
ramdisk. A node introspected twice (its hardware changed in between, a rule matching it)
shows in the fleet table with its summary and rule, and its page shows the hardware grouped
by category, the stored data, the two versions and their diff side by side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from metalscope.simulator import SimulatedNode
from metalscope.simulator import make_node as make_machine
from metalscope.testing.service import LocalMetalScope
from tests.integration.test_history_drift import changed_hardware, introspect
from tests.unit.ui.pages import Element, parse

pytestmark = pytest.mark.integration

SCOPE = "fleet-page"


@pytest.fixture
def api(metalscope: LocalMetalScope) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=metalscope.url, timeout=60) as client:
        yield client


@pytest.fixture
def rule(api: httpx.Client) -> Iterator[str]:
    response = api.post("/v1/rules", json={
        "description": "fleet page rule", "scope": SCOPE,
        "conditions": [{"op": "ge", "field": "memory_mb", "value": 1}],
        "actions": [{"action": "set-capability", "name": "fleet_page", "value": "yes"}]})
    assert response.status_code == 201, response.text
    uuid = str(response.json()["uuid"])
    yield uuid
    api.delete(f"/v1/rules/{uuid}")


def page(api: httpx.Client, path: str, **params: Any) -> Element:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"] == "default-src 'self'"
    return parse(response.text)


def text_of(doc: Element, ident: str) -> str:
    element = doc.by_id(ident)
    assert element is not None, ident
    return element.all_text()


def test_fleet_table_and_node_page(api: httpx.Client, rule: str, make_node: Any) -> None:
    machine: SimulatedNode = make_machine(seed=14, index=331, virtual=False)
    node = make_node(name="fleet-page-node", macs=[machine.pxe_mac],
                     properties={"inspection_scope": SCOPE})
    uuid = node["uuid"]
    introspect(api, uuid, machine)
    changed = changed_hardware(machine)
    assert introspect(api, uuid, changed)["state"] == "finished"

    fleet = page(api, "/ui/", q="fleet-page-node")
    rows = fleet.by_class("node-row", "tr")
    assert [r.attrs["data-uuid"] for r in rows] == [uuid]
    row = rows[0]
    assert row.attrs["data-state"] == "finished"
    assert row.by_class("col-name")[0].all_text() == "fleet-page-node"
    assert machine.vendor in row.by_class("col-vendor")[0].all_text()
    assert row.by_class("col-disks")[0].all_text().startswith(f"{len(changed.disks)} ·")
    assert row.by_class("col-nics")[0].all_text() == str(len(changed.nics))
    assert row.by_class("col-rules")[0].all_text() == "fleet page rule"
    assert text_of(fleet, "total") == "1"
    # The same node by one of its MACs, and the state filter.
    assert text_of(page(api, "/ui/", q=machine.pxe_mac.upper()), "total") == "1"
    assert text_of(page(api, "/ui/", q="fleet-page-node", state="error"), "total") == "0"

    doc = page(api, row.by_class("node-link")[0].attrs["href"])
    assert text_of(doc, "node-title") == "fleet-page-node"
    assert text_of(doc, "node-state") == "finished"
    assert changed.model in text_of(doc, "hw-system")
    assert len(doc.by_class("disk", "tr")) == len(changed.disks)
    assert len(doc.by_class("dimm", "tr")) == len(changed.dimms)
    nics = doc.by_class("nic", "tr")
    assert len(nics) == len(changed.nics)
    cabled = [nic for nic in changed.nics if nic.switch is not None]
    switches = {n.by_class("lldp-port")[0].all_text() for n in nics}
    assert {nic.switch.port_id for nic in cabled if nic.switch} <= switches
    assert len(doc.by_class("pci", "tr")) == len(changed.pci_devices)
    assert "fleet page rule" in text_of(doc, "rules-matched")
    stored = doc.by_id("stored-data")
    assert stored is not None
    pre = stored.find_all(lambda e: e.tag == "pre")[0]
    assert json.loads(pre.text)["inventory"]["system_vendor"]["product_name"] == changed.model

    versions = doc.by_class("version", "tr")
    assert [v.attrs["data-version"] for v in versions] == ["2", "1"]
    diff = doc.by_id("diff")
    assert diff is not None
    summary = text_of(doc, "diff-summary")
    assert summary and summary != "no hardware change"
    old, new = diff.by_class("diff-old")[0], diff.by_class("diff-new")[0]
    assert machine.dimms[-1].locator in old.all_text()
    assert new.find_all(lambda e: e.tag == "mark")

    same = page(api, f"/ui/nodes/{uuid}", **{"from": "2", "to": "2"})
    assert text_of(same, "diff-summary") == "no hardware change"
    missing = api.get("/ui/nodes/00000000-0000-4000-8000-0000000fffff")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
