"""Sending a NodeChanges when Ironic drops away half-way: only the missing edits again."""

from __future__ import annotations

import threading

import pytest

from metalscope.node_changes import NodeChanges, PendingChanges, PortCreate
from metalscope.operations.ironic_wait import Deadline, IronicUnavailable, IronicWait
from metalscope.operations.resumable_flush import flush, rebase
from tests.unit.operations.outage_ironic import OutageIronic

NODE = {"uuid": "n1", "provision_state": "manageable", "traits": ["CUSTOM_A"],
        "properties": {"cpus": "4", "old": "x", "capabilities": "boot_mode:uefi"},
        "extra": {}, "driver_info": {}}
PORT = {"uuid": "p1", "address": "52:54:00:00:00:01", "extra": {}, "pxe_enabled": True,
        "local_link_connection": {}, "physical_network": None}


class TestRebase:
    def test_edits_already_applied_are_dropped(self) -> None:
        pending = PendingChanges(node_patch=[
            {"op": "add", "path": "/properties/cpus", "value": "8"},
            {"op": "remove", "path": "/properties/old"}])
        applied = {**NODE, "properties": {"cpus": "8", "capabilities": "boot_mode:uefi"}}
        assert rebase(pending, applied, [PORT]).pending.is_empty()

    def test_edits_not_applied_stay(self) -> None:
        pending = PendingChanges(node_patch=[
            {"op": "add", "path": "/properties/cpus", "value": "8"},
            {"op": "remove", "path": "/properties/old"}], reset_interfaces=True)
        fresh = rebase(pending, NODE, [PORT]).pending
        assert fresh.node_patch == pending.node_patch and fresh.reset_interfaces is True

    def test_traits(self) -> None:
        pending = PendingChanges(traits_added=["CUSTOM_A", "CUSTOM_B"],
                                 traits_removed=["CUSTOM_A", "CUSTOM_GONE"])
        fresh = rebase(pending, NODE, []).pending
        assert fresh.traits_added == ["CUSTOM_B"] and fresh.traits_removed == ["CUSTOM_A"]

    def test_ports(self) -> None:
        """A deleted port is not deleted again, a created one not created again (only its
        other edits are sent), a patched one is patched only where it still differs."""
        other = {**PORT, "uuid": "p2", "address": "52:54:00:00:00:02"}
        created = {**PORT, "uuid": "p3", "address": "52:54:00:00:00:03", "pxe_enabled": False}
        pending = PendingChanges(
            ports_deleted=["p-deleted-already", "p2"],
            ports_created=[PortCreate("52:54:00:00:00:03", {}, False,
                                      [{"op": "add", "path": "/physical_network",
                                        "value": "ctlplane"}]),
                           PortCreate("52:54:00:00:00:04", {"a": 1}, True)],
            ports_patched={"p1": [{"op": "add", "path": "/pxe_enabled", "value": True},
                                  {"op": "add", "path": "/extra/b", "value": 2}]})
        fresh = rebase(pending, NODE, [PORT, other, created]).pending
        assert fresh.ports_deleted == ["p2"]
        assert fresh.ports_patched == {
            "p3": [{"op": "add", "path": "/physical_network", "value": "ctlplane"}],
            "p1": [{"op": "add", "path": "/extra/b", "value": 2}]}
        assert [(p.address, p.extra, p.pxe_enabled) for p in fresh.ports_created] == [
            ("52:54:00:00:00:04", {"a": 1}, True)]


def _changes(ironic: OutageIronic) -> NodeChanges:
    node = ironic.add_node(macs=["52:54:00:00:00:01"], properties={"old": "x"})
    changes = NodeChanges(node, list(ironic.ports.values()))
    changes.update_properties(cpus="8")
    changes.patch([{"op": "remove", "path": "/properties/old"}])
    changes.create_port("52:54:00:00:00:09")
    return changes


async def test_answer_lost_after_the_patch() -> None:
    """The PATCH went through but its answer was lost, then Ironic came back: one PATCH in
    all (the remove would fail if sent again), the port created once."""
    ironic = OutageIronic()
    changes = _changes(ironic)
    ironic.lose_answer_of = "patch_node"
    threading.Timer(0.3, setattr, (ironic, "down", False)).start()
    sent = await flush(ironic, changes, IronicWait(Deadline.after(10)))  # type: ignore[arg-type]
    assert ironic.count("patch_node") == 1 and ironic.count("create_port") == 1
    node = ironic.nodes[changes.uuid]
    assert node["properties"] == {"cpus": "8"}
    assert sent.pending.is_empty() and "52:54:00:00:00:09" in sent.ports


async def test_ironic_gone_before_the_patch() -> None:
    ironic = OutageIronic()
    changes = _changes(ironic)
    ironic.down = True
    threading.Timer(0.3, setattr, (ironic, "down", False)).start()
    await flush(ironic, changes, IronicWait(Deadline.after(10)))  # type: ignore[arg-type]
    assert ironic.count("patch_node") == 1 and ironic.count("create_port") == 1


async def test_ironic_gone_for_good() -> None:
    ironic = OutageIronic()
    changes = _changes(ironic)
    ironic.lose_answer_of = "create_port"
    with pytest.raises(IronicUnavailable):
        await flush(ironic, changes, IronicWait(Deadline.after(0.3)))  # type: ignore[arg-type]
    assert ironic.count("patch_node") == 1 and ironic.count("create_port") == 1
