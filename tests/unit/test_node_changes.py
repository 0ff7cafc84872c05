"""NodeChanges: local edits, recorded once, no-ops dropped."""

from metalscope.node_changes import NodeChanges, format_capabilities, parse_capabilities

NODE = {"uuid": "u1", "provision_state": "manageable",
        "properties": {"cpus": "4", "capabilities": "boot_mode:uefi,foo:bar"}, "traits": ["A"]}
PORT = {"uuid": "p1", "address": "AA:BB:CC:DD:EE:01", "extra": {}, "pxe_enabled": True,
        "local_link_connection": {}}


class TestNodeEdits:
    def test_patch_applies_locally_and_records(self) -> None:
        """A patch changes the snapshot at once and is queued for Ironic."""
        changes = NodeChanges(NODE, [])
        changes.update_properties(memory_mb="1024")
        assert changes.properties["memory_mb"] == "1024"
        assert changes.pending.node_patch == [{"op": "add", "path": "/properties/memory_mb",
                                               "value": "1024"}]
        assert "memory_mb" not in NODE["properties"]

    def test_noop_dropped(self) -> None:
        """Writing the value already there queues nothing."""
        changes = NodeChanges(NODE, [])
        changes.update_properties(cpus="4")
        changes.patch([{"op": "add", "path": "properties/cpus", "value": "4"}])
        assert changes.pending.is_empty()

    def test_remove_and_nested_path(self) -> None:
        """Remove and nested adds work on the snapshot."""
        changes = NodeChanges(NODE, [])
        changes.patch([{"op": "add", "path": "/extra/block_devices", "value": {"serials": ["x"]}},
                       {"op": "remove", "path": "/properties/cpus"}])
        assert changes.node["extra"]["block_devices"] == {"serials": ["x"]}
        assert "cpus" not in changes.properties and len(changes.pending.node_patch) == 2

    def test_capabilities_merge_and_remove(self) -> None:
        """Capabilities merge, and None removes one."""
        changes = NodeChanges(NODE, [])
        changes.update_capabilities(cpu_vt="true", foo=None)
        assert changes.properties["capabilities"] == "boot_mode:uefi,cpu_vt:true"

    def test_traits_cancel_out(self) -> None:
        """Adding then removing a trait sends nothing."""
        changes = NodeChanges(NODE, [])
        changes.add_trait("B")
        changes.remove_trait("B")
        changes.add_trait("A")
        assert changes.pending.is_empty() and changes.traits == ["A"]


class TestPortEdits:
    def test_ports_keyed_by_lower_mac(self) -> None:
        """Ports are found by lower-case MAC."""
        changes = NodeChanges(NODE, [PORT])
        assert "aa:bb:cc:dd:ee:01" in changes.ports

    def test_create_then_patch_folds_into_create(self) -> None:
        """Patching a port not created yet changes what will be created."""
        changes = NodeChanges(NODE, [])
        changes.create_port("aa:bb:cc:dd:ee:02", pxe_enabled=True)
        changes.patch_port("aa:bb:cc:dd:ee:02", [{"op": "replace", "path": "/pxe_enabled",
                                                  "value": False}])
        assert changes.pending.ports_created[0].pxe_enabled is False
        assert changes.pending.ports_patched == {}

    def test_delete_existing_and_new(self) -> None:
        """Deleting an existing port queues a delete; a new one is simply not created."""
        changes = NodeChanges(NODE, [PORT])
        changes.create_port("aa:bb:cc:dd:ee:03")
        changes.delete_port("aa:bb:cc:dd:ee:03")
        changes.delete_port("AA:BB:CC:DD:EE:01")
        assert changes.pending.ports_created == [] and changes.pending.ports_deleted == ["p1"]

    def test_patch_existing_port(self) -> None:
        """A real change to an existing port is queued by port UUID; a no-op is not."""
        changes = NodeChanges(NODE, [PORT])
        changes.patch_port("aa:bb:cc:dd:ee:01", [{"op": "replace", "path": "/pxe_enabled",
                                                  "value": True}])
        assert changes.pending.ports_patched == {}
        changes.patch_port("aa:bb:cc:dd:ee:01", [{"op": "add",
                                                  "path": "/local_link_connection/port_id",
                                                  "value": "Eth1"}])
        assert changes.pending.ports_patched["p1"][0]["value"] == "Eth1"


def test_capabilities_round_trip() -> None:
    """The k:v,k:v format splits on the first colon and drops None values."""
    assert parse_capabilities("a:b,c:d:e") == {"a": "b", "c": "d:e"}
    assert format_capabilities({"a": "b", "x": None}) == "a:b"


def test_the_node_and_ports_are_copied_not_shared() -> None:
    from metalscope.node_changes import json_copy

    node = {"uuid": "u", "properties": {"capabilities": "a:b"}, "traits": ["X"],
            "links": [{"href": "h", "rel": "self"}], "name": None}
    port = {"address": "AA:BB:CC:DD:EE:FF", "extra": {"k": [1, 2]}}
    changes = NodeChanges(node, [port])
    changes.node["properties"]["cpus"] = 4
    changes.node["traits"].append("Y")
    changes.node["links"][0]["rel"] = "changed"
    changes.ports["aa:bb:cc:dd:ee:ff"]["extra"]["k"].append(3)
    assert node == {"uuid": "u", "properties": {"capabilities": "a:b"}, "traits": ["X"],
                    "links": [{"href": "h", "rel": "self"}], "name": None}
    assert port["extra"] == {"k": [1, 2]}
    copied = json_copy(node)
    assert copied == node and copied is not node and copied["links"][0] is not node["links"][0]
