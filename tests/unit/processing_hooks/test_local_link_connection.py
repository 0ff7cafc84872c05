"""The local_link_connection hook (spec 5.4)."""

from __future__ import annotations

from typing import Any

from metalscope.node_changes import NodeChanges, PortCreate
from metalscope.processing_hooks.lldp_basic import LldpBasicHook
from metalscope.processing_hooks.local_link_connection import (
    LocalLinkConnectionHook,
    from_processed,
    from_raw,
)
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from tests.factories import (
    PXE_MAC,
    functional_ramdisk_data,
    ironic_port,
    node_changes,
    ramdisk_data,
    settings,
)

SPEC_OPS = [{"op": "add", "path": "/local_link_connection/port_id", "value": "Ethernet1/7"},
            {"op": "add", "path": "/local_link_connection/switch_id",
             "value": "d4:c9:ef:11:22:33"}]
#: From raw TLVs the operations follow the TLV order (Chassis ID first).
RAW_OPS = SPEC_OPS[::-1]


def preprocessed(data: dict[str, Any]) -> dict[str, Any]:
    ValidateInterfacesHook(settings()).before_processing(data)
    return data


def run(data: dict[str, Any], node: NodeChanges, **processing: Any) -> NodeChanges:
    LocalLinkConnectionHook(settings(processing=processing)).before_update(data, node)
    return node


class TestBeforeUpdate:
    def test_from_raw_tlvs(self) -> None:
        """Without lldp_basic the raw TLVs give port_id and switch_id."""
        node = run(preprocessed(ramdisk_data()), node_changes([ironic_port(PXE_MAC)]))
        assert node.pending.ports_patched == {f"port-{PXE_MAC}": RAW_OPS}
        assert node.ports[PXE_MAC]["local_link_connection"] == {
            "port_id": "Ethernet1/7", "switch_id": "d4:c9:ef:11:22:33"}

    def test_from_lldp_processed(self) -> None:
        """After lldp_basic the processed names are used."""
        data = preprocessed(ramdisk_data())
        data["all_interfaces"]["eno1"]["lldp_processed"] = {
            "switch_port_id": "Te1/0/5", "switch_chassis_id": "00:11:22:33:44:55"}
        node = run(data, node_changes([ironic_port(PXE_MAC)]))
        assert node.ports[PXE_MAC]["local_link_connection"] == {
            "port_id": "Te1/0/5", "switch_id": "00:11:22:33:44:55"}

    def test_with_lldp_basic_before(self) -> None:
        """lldp_basic then local_link_connection gives the same values as raw parsing."""
        data = preprocessed(ramdisk_data())
        node = node_changes([ironic_port(PXE_MAC)])
        LldpBasicHook(settings()).before_update(data, node)
        assert run(data, node).pending.ports_patched == {f"port-{PXE_MAC}": SPEC_OPS}

    def test_functional_data(self) -> None:
        """The spec 13.1 eth1 port gets port_id "734" and the chassis MAC."""
        node = run(preprocessed(functional_ramdisk_data()),
                   node_changes([ironic_port("11:22:33:44:55:66")]))
        assert node.ports["11:22:33:44:55:66"]["local_link_connection"] == {
            "port_id": "734", "switch_id": "11:22:33:aa:bb:cc"}

    def test_keeps_existing_without_overwrite(self) -> None:
        """With overwrite_existing off, keys already on the port are left alone."""
        port = ironic_port(PXE_MAC, local_link_connection={"port_id": "old"})
        node = run(preprocessed(ramdisk_data()), node_changes([port]), overwrite_existing=False)
        assert node.pending.ports_patched == {f"port-{PXE_MAC}": RAW_OPS[:1]}
        assert node.ports[PXE_MAC]["local_link_connection"]["port_id"] == "old"

    def test_identical_values_no_patch(self) -> None:
        """A port that already has the values gets no PATCH."""
        port = ironic_port(PXE_MAC, local_link_connection={
            "port_id": "Ethernet1/7", "switch_id": "d4:c9:ef:11:22:33"})
        assert run(preprocessed(ramdisk_data()), node_changes([port])).pending.is_empty()

    def test_no_port_no_change(self) -> None:
        """Interfaces without a port on the node are skipped."""
        node = run(preprocessed(ramdisk_data()), node_changes([ironic_port("3c:fd:fe:aa:00:02")]))
        assert node.pending.is_empty()

    def test_no_lldp_no_change(self) -> None:
        """A port whose interface reported no LLDP data is not patched."""
        data = preprocessed(ramdisk_data())
        data["inventory"]["interfaces"][0]["lldp"] = None
        assert run(data, node_changes([ironic_port(PXE_MAC)])).pending.is_empty()

    def test_upper_case_inventory_mac(self) -> None:
        """An upper-case inventory MAC still finds the (lower-case) port."""
        data = preprocessed(ramdisk_data())
        data["inventory"]["interfaces"][0]["mac_address"] = PXE_MAC.upper()
        node = run(data, node_changes([ironic_port(PXE_MAC)]))
        assert node.pending.ports_patched == {f"port-{PXE_MAC}": RAW_OPS}

    def test_port_created_in_same_run(self) -> None:
        """Edits of a port validate_interfaces is about to create wait on the create."""
        data = preprocessed(ramdisk_data())
        node = node_changes()
        ValidateInterfacesHook(settings()).before_update(data, node)
        run(data, node)
        assert node.pending.ports_created == [PortCreate(PXE_MAC, {}, True, RAW_OPS)]
        assert node.pending.ports_patched == {}


class TestSources:
    def test_processed_switch_id_must_be_mac(self) -> None:
        """A processed chassis ID that is not a MAC is not used as switch_id."""
        assert from_processed({"switch_port_id": "p1", "switch_chassis_id": "10.0.0.1"}) == {
            "port_id": "p1"}

    def test_raw_chassis_only_mac_subtype(self) -> None:
        """Only a MAC-subtype Chassis ID becomes switch_id; any Port ID subtype is used."""
        assert from_raw([[1, "0501c0000201"], [2, "03aabbccddeeff"]]) == {
            "port_id": "aa:bb:cc:dd:ee:ff"}

    def test_raw_malformed_skipped(self) -> None:
        """Malformed raw TLVs are skipped without raising."""
        assert from_raw([[2, "zz"], [1, "04aabb"], [2, ""], [2, "07373334"]]) == {
            "port_id": "734"}

    def test_processed_falls_back_to_raw_only_when_empty(self) -> None:
        """Processed data with a port ID alone does not pull switch_id from raw TLVs."""
        data = preprocessed(ramdisk_data())
        data["all_interfaces"]["eno1"]["lldp_processed"] = {"switch_port_id": "Te1/0/5"}
        node = run(data, node_changes([ironic_port(PXE_MAC)]))
        assert node.ports[PXE_MAC]["local_link_connection"] == {"port_id": "Te1/0/5"}
