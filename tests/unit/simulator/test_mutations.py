"""Simulated DIMMs, the dmi section and the hardware changes the integration tests make."""

from __future__ import annotations

import dataclasses

import pytest

from metalscope.simulator import (
    SimulatedDimm,
    add_dimm,
    add_pci_device,
    change_firmware,
    make_fleet,
    make_node,
    ramdisk_data,
    remove_dimm,
    replace_disk,
    swap_nic,
)

DEVICE_KEYS = {"Handle", "Array Handle", "Error Information Handle", "Total Width",
               "Data Width", "Size", "Form Factor", "Locator", "Bank Locator", "Type"}
POPULATED_KEYS = DEVICE_KEYS | {"Type Detail", "Speed", "Manufacturer", "Serial Number",
                                "Asset Tag", "Part Number", "Rank", "Configured Memory Speed"}


def test_dimms_add_up_to_the_physical_memory() -> None:
    for node in make_fleet(7, 40):
        assert node.dimms, node.name
        assert sum(d.size_mb for d in node.dimms) == node.memory_mb
        assert len({d.locator for d in node.dimms}) == len(node.dimms)
        if not node.virtual:
            assert len({d.serial for d in node.dimms}) == len(node.dimms)
            assert len(node.dimms) % node.cpu.socket_count == 0


def test_dmi_section_has_parse_dmis_shape() -> None:
    for node in make_fleet(7, 16):
        dmi = ramdisk_data(node)["dmi"]
        assert set(dmi) == {"bios", "cpu", "memory"}
        assert dmi["bios"]["Version"] == node.firmware_version
        assert dmi["bios"].get("Firmware Revision") == node.bmc_firmware
        assert isinstance(dmi["bios"]["Characteristics"], list)
        assert "Handle" not in dmi["memory"]  # parse_dmi pops the array's handle
        devices = dmi["memory"]["devices"]
        assert dmi["memory"]["Number Of Devices"] == len(devices)
        populated = [d for d in devices if d["Size"] != "No Module Installed"]
        assert len(populated) == len(node.dimms)
        assert all(set(d) == POPULATED_KEYS for d in populated)
        assert all(set(d) == DEVICE_KEYS for d in devices if d not in populated)
        assert all(d["Handle"].startswith("Handle 0x") for d in devices)


def test_dmi_collector_can_be_left_out() -> None:
    data = ramdisk_data(make_node(7, 0), with_dmi=False)
    assert "dmi" not in data and "dmi-decode" not in data["configuration"]["collectors"]


def test_generation_is_deterministic_and_other_parts_did_not_move() -> None:
    assert make_node(3, 5) == make_node(3, 5)
    assert ramdisk_data(make_node(3, 5)) == ramdisk_data(make_node(3, 5))


def test_remove_dimm_updates_memory() -> None:
    node = make_node(7, 0, virtual=False)
    after = remove_dimm(node, node.dimms[0].locator)
    assert after.dimms == node.dimms[1:]
    assert after.memory_mb == node.memory_mb - node.dimms[0].size_mb
    assert node.memory_mb * 2**20 - node.memory_total == after.memory_mb * 2**20 - \
        after.memory_total
    slot = next(d for d in ramdisk_data(after)["dmi"]["memory"]["devices"]
                if d["Locator"] == node.dimms[0].locator)
    assert slot["Size"] == "No Module Installed"
    with pytest.raises(ValueError, match="no DIMM in slot 'Z9'"):
        remove_dimm(node, "Z9")
    with pytest.raises(ValueError, match="can run without"):
        remove_dimm(make_node(7, 0, virtual=True))


def test_add_dimm_needs_a_free_slot() -> None:
    node = remove_dimm(make_node(7, 0, virtual=False))
    back = add_dimm(node, make_node(7, 0, virtual=False).dimms[-1])
    assert back.memory_mb == make_node(7, 0, virtual=False).memory_mb
    with pytest.raises(ValueError, match="not free"):
        add_dimm(back, back.dimms[0])
    assert isinstance(back.dimms[0], SimulatedDimm)


def test_replace_disk_gives_a_new_serial_and_wwn() -> None:
    node = make_node(7, 1, virtual=False)
    disk = node.disks[-1]
    after = replace_disk(node)
    new = after.disks[-1]
    assert (new.name, new.size, new.model) == (disk.name, disk.size, disk.model)
    assert new.serial != disk.serial and new.serial
    assert (new.wwn is None) == (disk.wwn is None) and (disk.wwn is None or new.wwn != disk.wwn)
    assert replace_disk(node) == after  # deterministic
    assert replace_disk(node, disk.name, serial="X1").disks[-1].serial == "X1"


def test_change_firmware() -> None:
    node = make_node(7, 1, virtual=False)
    assert change_firmware(node).firmware_version != node.firmware_version
    flashed = change_firmware(node, "3.0", build_date="05/05/2025", bmc_version="7.10")
    inventory = ramdisk_data(flashed)["inventory"]["system_vendor"]["firmware"]
    assert inventory == {"vendor": node.firmware_vendor, "version": "3.0",
                         "build_date": "05/05/2025"}
    assert ramdisk_data(flashed)["dmi"]["bios"]["Firmware Revision"] == "7.10"
    assert change_firmware(node, bmc_version="7.10").firmware_version == node.firmware_version


def test_swap_nic_keeps_the_name_and_pxe_nic() -> None:
    node = make_node(7, 2, nic_count=4)
    after = swap_nic(node)
    changed = [(a, b) for a, b in zip(node.nics, after.nics, strict=True) if a != b]
    assert len(changed) == 1
    old, new = changed[0]
    assert old.name == new.name and old.mac_address != new.mac_address
    assert old.mac_address != node.pxe_mac and after.pxe_mac == node.pxe_mac
    fleet_macs = {mac for n in make_fleet(7, 64) for mac in n.macs}
    assert new.mac_address not in fleet_macs
    pxe_name = next(n.name for n in node.nics if n.mac_address == node.pxe_mac)
    assert swap_nic(node, pxe_name).pxe_mac != node.pxe_mac


def test_add_pci_device_at_a_free_address() -> None:
    node = make_node(7, 3, virtual=False)
    after = add_pci_device(node)
    added = set(after.pci_devices) - set(node.pci_devices)
    (device,) = added
    assert (device.vendor_id, device.product_id) == ("10de", "1eb8")
    assert device.bus not in {d.bus for d in node.pci_devices}
    with pytest.raises(ValueError, match="taken"):
        add_pci_device(after, bus=device.bus)
    assert [d.bus for d in after.pci_devices] == sorted(d.bus for d in after.pci_devices)


def test_changes_leave_the_original_alone() -> None:
    node = make_node(7, 4, virtual=False)
    before = dataclasses.asdict(node)
    for change in (remove_dimm, replace_disk, change_firmware, swap_nic, add_pci_device):
        change(node)
    assert dataclasses.asdict(node) == before
