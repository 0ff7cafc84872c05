"""compare(): every category added, removed and changed; what is never a change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metalscope.hardware import compare
from tests.unit.hardware.samples import base_data, dimm


def _diff(new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    return compare(old or base_data(), new).document()


def _category(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"][name]  # type: ignore[no-any-return]


def test_identical_data_is_no_change() -> None:
    document = _diff(base_data())
    assert document["changed"] is False
    assert document["summary"] == "no hardware change"


def test_reordering_every_list_is_no_change() -> None:
    new = base_data()
    inventory = new["inventory"]
    for key in ("disks", "interfaces"):
        inventory[key].reverse()
    inventory["cpu"]["flags"].reverse()
    new["pci_devices"].reverse()
    new["dmi"]["memory"]["devices"].reverse()
    assert _diff(new)["changed"] is False


def test_volatile_fields_are_never_changes() -> None:
    new = base_data()
    for iface in new["inventory"]["interfaces"]:
        iface.update(ipv4_address="198.51.100.7", ipv6_address=None,
                     has_carrier=not iface["has_carrier"], client_id="x")
    new["inventory"]["hostname"] = "host-1"
    new["inventory"]["bmc_address"] = "203.0.113.99"
    new["inventory"]["memory"]["total"] -= 4096 * 100  # usable memory moves with the kernel
    new["all_interfaces"]["eno1"].update(ip="198.51.100.7", pxe=False)
    new["all_interfaces"]["eno1"]["lldp_processed"]["switch_port_vlans"] = []
    new.update(error="ramdisk said something", logs="other", boot_interface=None,
               root_disk={"name": "/dev/sdb"})
    new["pci_devices"][0]["numa_node_id"] = "1"
    assert _diff(new)["changed"] is False


def test_unknown_on_one_side_is_not_a_change() -> None:
    new = base_data()
    new["inventory"]["interfaces"][0]["speed_mbps"] = None  # link down: no speed
    new["inventory"]["disks"][1]["model"] = ""
    new["inventory"]["system_vendor"]["serial_number"] = "To Be Filled By O.E.M."
    assert _diff(new)["changed"] is False


@pytest.mark.parametrize("section", ["dmi", "pci_devices", "all_interfaces", "inventory"])
def test_a_section_missing_on_either_side_is_not_compared(section: str) -> None:
    partial = base_data()
    del partial[section]
    assert compare(base_data(), partial).changed is False
    assert compare(partial, base_data()).changed is False


def test_empty_and_malformed_data_never_raise() -> None:
    for old, new in [({}, {}), ({"inventory": None}, {"inventory": []}),
                     ({"inventory": {"disks": "x", "interfaces": [None, 3]}},
                      {"dmi": {"memory": {"devices": ["x", {"Size": 5}]}}}),
                     ({"pci_devices": [{"bus": None}]}, {"pci_devices": [{}]})]:
        diff = compare(old, new)
        assert isinstance(diff.summary, str)


# -- system, firmware, CPU, boot -----------------------------------------------------------

def test_system_serial_and_uuid_change() -> None:
    new = base_data()
    new["inventory"]["system_vendor"]["serial_number"] = "NEW1"
    new["inventory"]["system_vendor"]["system_uuid"] = "A0B1"
    old = base_data()
    old["inventory"]["system_vendor"]["system_uuid"] = "a0b2"
    system = _category(_diff(new, old), "system")
    assert system["changed"] == [{"id": "system", "changes": {
        "serial": {"old": "7XJ2KL3", "new": "NEW1"}, "uuid": {"old": "a0b2", "new": "a0b1"}}}]


def test_bios_and_bmc_firmware_change() -> None:
    new = base_data()
    new["inventory"]["system_vendor"]["firmware"]["version"] = "2.3"
    new["dmi"]["bios"]["Firmware Revision"] = "7.00"
    document = _diff(new)
    assert _category(document, "firmware")["changed"] == [
        {"id": "bios", "changes": {"version": {"old": "2.1", "new": "2.3"}}},
        {"id": "bmc", "changes": {"version": {"old": "6.10", "new": "7.00"}}}]
    assert document["summary"] == "BIOS 2.1 → 2.3; BMC firmware 6.10 → 7.00"


def test_bios_read_from_dmi_when_the_inventory_lacks_it() -> None:
    old, new = base_data(), base_data()
    for data in (old, new):
        del data["inventory"]["system_vendor"]["firmware"]
    new["dmi"]["bios"]["Version"] = "2.2"
    changes = _category(_diff(new, old), "firmware")["changed"][0]["changes"]
    assert changes == {"version": {"old": "2.1", "new": "2.2"}}


def test_cpu_changes_and_only_the_flags_that_matter() -> None:
    new = base_data()
    cpu = new["inventory"]["cpu"]
    cpu["flags"] = ["fpu", "svm", "aes", "pse", "avx512f"]  # sse2 gone: does not matter
    cpu["count"] = 64
    document = _diff(new)
    assert _category(document, "cpu")["changed"] == [{"id": "cpu", "changes": {
        "count": {"old": 128, "new": 64},
        "flags": {"old": ["aes", "pse", "smx", "vmx"], "new": ["aes", "pse", "svm"]}}}]
    assert document["summary"] == "CPU count 128 → 64, flags +svm -smx -vmx"


def test_cpu_flags_are_a_parameter() -> None:
    new = base_data()
    new["inventory"]["cpu"]["flags"].remove("sse2")
    assert compare(base_data(), new).changed is False
    assert compare(base_data(), new, cpu_flags=["sse2"]).summary == "CPU flags -sse2"


def test_boot_mode_and_pxe_interface_change() -> None:
    new = base_data()
    new["inventory"]["boot"] = {"current_boot_mode": "bios",
                                "pxe_interface": "d0:94:66:00:00:02"}
    document = _diff(new)
    assert _category(document, "boot")["changed"] == [{"id": "boot", "changes": {
        "current_boot_mode": {"old": "uefi", "new": "bios"},
        "pxe_interface": {"old": "d0:94:66:00:00:01", "new": "d0:94:66:00:00:02"}}}]
    assert document["summary"] == ("boot mode uefi → bios, "
                                   "PXE interface d0:94:66:00:00:01 → d0:94:66:00:00:02")


# -- memory --------------------------------------------------------------------------------

def test_dimm_removed_lowers_the_total() -> None:
    new = base_data()
    new["inventory"]["memory"]["physical_mb"] = 49152
    new["dmi"]["memory"]["devices"][2] = {"Size": "No Module Installed", "Locator": "A3"}
    document = _diff(new)
    memory = _category(document, "memory")
    assert [entry["id"] for entry in memory["removed"]] == ["serial:AA03"]
    assert memory["removed"][0]["attributes"] == {
        "locator": "A3", "bank": None, "size_mb": 16384, "type": "DDR4", "speed": 3200,
        "part_number": "M393A2K43DB3-CWE", "manufacturer": "Samsung"}
    assert memory["changed"] == [{"id": "total", "changes": {
        "total_mb": {"old": 65536, "new": 49152}}}]
    assert document["memory"]["total_mb"] == {"old": 65536, "new": 49152, "delta": -16384}
    assert document["summary"] == "memory 64 GiB → 48 GiB (DIMM A3 16 GiB removed)"


def test_dimm_added_and_changed() -> None:
    new = base_data()
    devices = new["dmi"]["memory"]["devices"]
    devices[4] = dimm("A5", "AA05", "32 GB")
    devices[0]["Speed"] = "2933 MT/s"
    memory = _category(_diff(new), "memory")
    assert [(e["id"], e["attributes"]["size_mb"]) for e in memory["added"]] == [
        ("serial:AA05", 32768)]
    assert memory["changed"] == [{"id": "serial:AA01", "changes": {
        "speed": {"old": 3200, "new": 2933}}}]


def test_dimm_moved_to_another_slot_is_a_locator_change() -> None:
    new = base_data()
    new["dmi"]["memory"]["devices"][0]["Locator"] = "B1"
    memory = _category(_diff(new), "memory")
    assert memory["changed"] == [{"id": "serial:AA01", "changes": {
        "locator": {"old": "A1", "new": "B1"}}}]


def test_dimms_without_serial_are_keyed_by_bank_and_locator() -> None:
    old, new = base_data(), base_data()
    for data in (old, new):
        for device in data["dmi"]["memory"]["devices"]:
            device["Serial Number"] = "Unknown"
        data["dmi"]["memory"]["devices"][1]["Bank Locator"] = "P0_Node0_Channel1_Dimm0"
    new["dmi"]["memory"]["devices"][1]["Size"] = "32 GB"
    memory = _category(_diff(new, old), "memory")
    assert memory["changed"] == [{"id": "locator:P0_Node0_Channel1_Dimm0/A2", "changes": {
        "size_mb": {"old": 16384, "new": 32768}}}]
    assert memory["added"] == memory["removed"] == []
    new["dmi"]["memory"]["devices"].pop(0)
    assert [e["id"] for e in _category(_diff(new, old), "memory")["removed"]] == ["locator:A1"]


def test_memory_total_from_usable_bytes_without_physical_mb() -> None:
    old, new = base_data(), base_data()
    for data in (old, new):
        del data["inventory"]["memory"]["physical_mb"]
        del data["dmi"]
    assert _diff(new, old)["memory"]["total_mb"] == {"old": 64512, "new": 64512, "delta": 0}
    new["inventory"]["memory"]["total"] -= 300 * (1 << 20)  # another kernel reserves more
    assert _diff(new, old)["changed"] is False
    new["inventory"]["memory"]["total"] = 31 * (1 << 30) + 700 * (1 << 20)
    document = _diff(new, old)
    assert document["memory"]["total_mb"] == {"old": 64512, "new": 32768, "delta": -31744}
    assert document["summary"] == "memory 63 GiB → 32 GiB"


# -- disks ---------------------------------------------------------------------------------

def test_disk_replaced() -> None:
    new = base_data()
    new["inventory"]["disks"][1].update(serial="S9", wwn="0x69")
    document = _diff(new)
    disks = _category(document, "disks")
    assert [e["id"] for e in disks["removed"]] == ["serial:S2"]
    assert [e["id"] for e in disks["added"]] == ["serial:S9"]
    assert disks["added"][0]["attributes"] == {
        "name": "/dev/sdb", "serial": "S9", "size_bytes": 1800 * 10**9, "model": "ST2000",
        "vendor": "SEAGATE", "rotational": True}
    assert document["summary"] == "disk sdb replaced (serial S2 → S9, 1.8 TB)"


def test_disk_removed_added_and_changed() -> None:
    new = base_data()
    disks = new["inventory"]["disks"]
    removed = disks.pop(1)
    disks.append({**removed, "name": "/dev/sdc", "serial": "S3", "size": 960197124096})
    disks[0]["size"] = 959656755200
    document = _diff(new)
    assert document["counts"] == {"added": 1, "removed": 1, "changed": 1}
    assert document["summary"] == ("disk sdb removed (serial S2, 1.8 TB); "
                                   "disk sdc added (serial S3, 960 GB); "
                                   "disk sda size 480 GB → 960 GB")


@pytest.mark.parametrize(("drop", "expected"), [
    ((), "serial:S1"),
    (("serial",), "wwn:0x61"),
    (("serial", "wwn"), "path:/dev/disk/by-path/pci-0000:65:00.0-scsi-0:2:0:0"),
    (("serial", "wwn", "by_path"), "name:/dev/sda"),
])
def test_disk_identity_fallback_order(drop: tuple[str, ...], expected: str) -> None:
    old = base_data()
    for key in drop:
        old["inventory"]["disks"][0][key] = None
    new = copy.deepcopy(old)
    new["inventory"]["disks"][0]["model"] = "OTHER"
    assert [e["id"] for e in _category(_diff(new, old), "disks")["changed"]] == [expected]


def test_a_disk_renamed_keeps_its_identity() -> None:
    new = base_data()
    disks = new["inventory"]["disks"]
    disks[0]["name"], disks[1]["name"] = "/dev/sdb", "/dev/sda"
    changed = _category(_diff(new), "disks")["changed"]
    assert [(e["id"], e["changes"]) for e in changed] == [
        ("serial:S1", {"name": {"old": "/dev/sda", "new": "/dev/sdb"}}),
        ("serial:S2", {"name": {"old": "/dev/sdb", "new": "/dev/sda"}})]


def test_duplicate_identities_are_all_kept() -> None:
    old = base_data()
    old["inventory"]["disks"][1]["serial"] = "S1"
    new = copy.deepcopy(old)
    new["inventory"]["disks"].pop()
    removed = _category(_diff(new, old), "disks")["removed"]
    assert [e["id"] for e in removed] == ["serial:S1#2"]


# -- NICs ----------------------------------------------------------------------------------

def test_nic_swapped_added_and_changed() -> None:
    new = base_data()
    interfaces = new["inventory"]["interfaces"]
    interfaces[1]["mac_address"] = "D0:94:66:00:00:22"
    interfaces.append({"name": "ens1f0", "mac_address": "b4:96:91:00:00:01",
                       "vendor": "0x8086", "product": "0x1572", "driver": "i40e",
                       "speed_mbps": 10000})
    interfaces[0]["speed_mbps"] = 100
    document = _diff(new)
    nics = _category(document, "nics")
    assert [e["id"] for e in nics["removed"]] == ["d0:94:66:00:00:02"]
    assert [e["id"] for e in nics["added"]] == ["b4:96:91:00:00:01", "d0:94:66:00:00:22"]
    assert nics["changed"] == [{"id": "d0:94:66:00:00:01", "changes": {
        "speed_mbps": {"old": 1000, "new": 100}}}]
    assert document["summary"] == (
        "NIC eno2 replaced (MAC d0:94:66:00:00:02 → d0:94:66:00:00:22); "
        "NIC ens1f0 (b4:96:91:00:00:01) added; NIC eno1 (d0:94:66:00:00:01) speed 1 Gb/s → "
        "100 Mb/s")


def test_nic_driver_change_and_firmware_from_extra_hardware() -> None:
    old, new = base_data(), base_data()
    old["extra"] = {"network": {"eno1": {"firmware": "5719-v1.46"}}}
    new["extra"] = {"network": {"eno1": {"firmware": "5719-v1.50"}}}
    new["inventory"]["interfaces"][0]["driver"] = "bnxt_en"
    changes = _category(_diff(new, old), "nics")["changed"][0]["changes"]
    assert changes == {"driver": {"old": "tg3", "new": "bnxt_en"},
                       "firmware": {"old": "5719-v1.46", "new": "5719-v1.50"}}


def test_lldp_neighbour_change_from_lldp_processed() -> None:
    new = base_data()
    new["all_interfaces"]["eno1"]["lldp_processed"].update(
        switch_port_id="Ethernet1/7", switch_system_name="leaf-2")
    document = _diff(new)
    assert _category(document, "nics")["changed"][0]["changes"] == {
        "switch_port_id": {"old": "Ethernet1/1", "new": "Ethernet1/7"},
        "switch_system_name": {"old": "leaf-1", "new": "leaf-2"}}
    assert document["summary"] == ("NIC eno1 (d0:94:66:00:00:01) switch port Ethernet1/1 → "
                                   "Ethernet1/7, switch leaf-1 → leaf-2")


def _tlvs(port: str) -> list[list[Any]]:
    return [[1, "04" + "001c73000099"], [2, "05" + port.encode().hex()], [3, "0078"],
            [5, b"leaf-1".hex()], [0, ""]]


def test_lldp_neighbour_decoded_from_raw_tlvs() -> None:
    old, new = base_data(), base_data()
    for data, port in ((old, "Ethernet1/1"), (new, "Ethernet1/2")):
        del data["all_interfaces"]
        data["lldp_raw"] = {"eno1": _tlvs(port), "eno2": []}
    changes = _category(_diff(new, old), "nics")["changed"][0]["changes"]
    assert changes == {"switch_port_id": {"old": "Ethernet1/1", "new": "Ethernet1/2"}}


# -- PCI and accelerators ------------------------------------------------------------------

def _gpu(bus: str = "0000:3b:00.0") -> dict[str, Any]:
    return {"vendor_id": "10de", "product_id": "1eb8", "class": "030200", "revision": "a1",
            "bus": bus, "numa_node_id": "0"}


def test_pci_device_added_is_an_accelerator_too() -> None:
    new = base_data()
    new["pci_devices"].append(_gpu())
    document = _diff(new)
    assert [e["id"] for e in _category(document, "pci")["added"]] == ["10de:1eb8@0000:3b:00.0"]
    assert [e["id"] for e in _category(document, "accelerators")["added"]] == [
        "10de:1eb8@0000:3b:00.0"]
    assert document["summary"] == "accelerator 10de:1eb8 (0000:3b:00.0) added"


def test_pci_device_removed_and_revision_changed() -> None:
    new = base_data()
    new["pci_devices"].pop()
    new["pci_devices"][0]["revision"] = "01"
    document = _diff(new)
    pci = _category(document, "pci")
    assert [e["id"] for e in pci["removed"]] == ["1000:10e2@0000:65:00.0"]
    assert pci["changed"] == [{"id": "14e4:165f@0000:04:00.0", "changes": {
        "revision": {"old": "00", "new": "01"}}}]
    assert document["summary"] == ("PCI device 1000:10e2 (0000:65:00.0) removed; "
                                   "PCI device 14e4:165f (0000:04:00.0) revision 00 → 01")


def test_pci_re_enumeration_is_no_change() -> None:
    new = base_data()
    for device in new["pci_devices"]:
        device["bus"] = device["bus"].replace("0000:04", "0000:05").replace("0000:65", "0000:66")
    assert _diff(new)["changed"] is False


def test_accelerators_named_by_the_data_are_listed() -> None:
    old, new = base_data(), base_data()
    new["accelerators"] = [{"vendor_id": "1000", "device_id": "10e2", "type": "GPU"}]
    added = _category(_diff(new, old), "accelerators")["added"]
    assert [e["id"] for e in added] == ["1000:10e2@0000:65:00.0"]
