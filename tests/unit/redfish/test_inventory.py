"""Redfish documents mapped to the ramdisk's data, and read back by the hardware view."""

from typing import Any

from metalscope.fleet.summary import summarise
from metalscope.hardware.view import build_view
from metalscope.redfish.inventory import ramdisk_data
from metalscope.redfish.reader import Documents
from metalscope.testing.redfish import MOCKUP_SYSTEM, MOCKUP_UUID, mockup_documents

SYSTEM = MOCKUP_SYSTEM


def full_documents() -> Documents:
    """The mockup's documents, as the reader gathers them."""
    docs = mockup_documents()

    def under(prefix: str) -> list[dict[str, Any]]:
        return [doc for path, doc in docs.items()
                if path.startswith(prefix + "/") and path.count("/") == prefix.count("/") + 1]

    storage = f"{SYSTEM}/Storage/RAID1"
    return Documents(
        system_path=SYSTEM, system=docs[SYSTEM], processors=under(f"{SYSTEM}/Processors"),
        memory=under(f"{SYSTEM}/Memory"),
        storage=[{"storage": docs[storage], "drives": under(f"{storage}/Drives"),
                  "controllers": docs[storage]["StorageControllers"]}],
        ethernet=under(f"{SYSTEM}/EthernetInterfaces"),
        pcie=[{"device": docs[path], "functions": under(f"{path}/PCIeFunctions")}
              for path in (f"{SYSTEM}/PCIeDevices/NIC.Slot.1", f"{SYSTEM}/PCIeDevices/GPU.Slot.2")],
        bios=docs[f"{SYSTEM}/Bios"], manager=docs["/redfish/v1/Managers/iDRAC"])


def minimal_documents() -> Documents:
    """A BMC that gives only its system, with nothing linked."""
    return Documents(system_path=SYSTEM, system={"Id": "1", "UUID": MOCKUP_UUID},
                     missing=["Processors", "Memory", "Storage", "SimpleStorage",
                              "EthernetInterfaces", "PCIeDevices", "Bios", "Managers"])


def test_system() -> None:
    data = ramdisk_data(full_documents(), bmc_host="192.0.2.200")
    assert data["inventory"]["system_vendor"] == {
        "manufacturer": "Dell Inc.", "product_name": "PowerEdge R640",
        "serial_number": "7QX9K42", "system_uuid": MOCKUP_UUID, "firmware": {"version": "2.19.1"}}
    assert data["inventory"]["boot"] == {"current_boot_mode": "uefi"}
    assert data["inventory"]["bmc_address"] == "192.0.2.200"
    assert data["inspection_method"] == "redfish"
    assert data["redfish_missing"] == []
    assert data["redfish"]["system_id"] == SYSTEM


def test_cpu_counts_threads_of_installed_cpus() -> None:
    cpu = ramdisk_data(full_documents())["inventory"]["cpu"]
    assert cpu == {"model_name": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "count": 48,
                   "architecture": "x86_64", "frequency": "3200", "socket_count": 2}
    assert "flags" not in cpu  # Redfish does not know them


def test_memory_and_dimms_skip_empty_slots() -> None:
    data = ramdisk_data(full_documents())
    assert data["inventory"]["memory"] == {"physical_mb": 3 * 32768}
    devices = data["dmi"]["memory"]["devices"]
    assert [d["Locator"] for d in devices] == ["A1", "A2", "B1"]
    assert devices[0] == {"Locator": "A1", "Size": "32768 MB", "Type": "DDR4",
                          "Speed": "2933 MT/s", "Manufacturer": "Samsung",
                          "Serial Number": "3A1B2C01", "Part Number": "M393A4K40DB3-CWE"}


def test_memory_from_summary_without_dimms() -> None:
    documents = minimal_documents()
    documents.system["MemorySummary"] = {"TotalSystemMemoryGiB": 15.5}
    assert ramdisk_data(documents)["inventory"]["memory"] == {"physical_mb": 15872}


def test_disks_and_root_disk() -> None:
    data = ramdisk_data(full_documents())
    disks = data["inventory"]["disks"]
    assert disks[0] == {"name": "Physical Disk 0", "model": "SAMSUNG MZ7LH480",
                        "size": 480103981056, "rotational": False,
                        "serial": "S4EVNX0M123456", "vendor": "Samsung",
                        "wwn": "0x5000c500a1b2c3d0", "tran": "sata", "logical_sectors": 512}
    assert disks[1]["rotational"] is True and disks[1]["tran"] == "sas"
    assert data["root_disk"] == disks[0]  # the smallest of at least 4 GiB, as IPA chooses
    assert data["redfish"]["storage_controllers"][0]["model"] == "PERC H740P Mini"
    assert {d["media_type"] for d in data["redfish"]["drives"]} == {"SSD", "HDD"}


def test_simple_storage_when_no_storage() -> None:
    documents = minimal_documents()
    documents.simple_storage = [{"Id": "1", "Devices": [
        {"Name": "SATA disk", "Model": "WD", "CapacityBytes": 8 << 30,
         "Status": {"State": "Enabled"}},
        {"Name": "empty bay", "Status": {"State": "Absent"}}]}]
    data = ramdisk_data(documents)
    assert data["inventory"]["disks"] == [{"name": "SATA disk", "model": "WD", "size": 8 << 30}]


def test_interfaces() -> None:
    interfaces = ramdisk_data(full_documents())["inventory"]["interfaces"]
    assert interfaces == [
        {"name": "NIC1", "mac_address": "3c:fd:fe:aa:00:01", "ipv4_address": "192.0.2.41",
         "has_carrier": True, "speed_mbps": 10000},
        {"name": "NIC2", "mac_address": "3c:fd:fe:aa:00:02", "has_carrier": False}]


def test_pci_devices_in_the_collectors_shape() -> None:
    data = ramdisk_data(full_documents())
    assert data["pci_devices"] == [
        {"vendor_id": "8086", "product_id": "1572", "class": "020000", "revision": "01",
         "bus": "0000:18:00.0"},
        {"vendor_id": "10de", "product_id": "1eb8", "class": "030200", "revision": "01",
         "bus": "0000:3b:00.0"}]
    assert [d["device_type"] for d in data["redfish"]["pcie_devices"]] == [
        "MultiFunction", "SingleFunction"]


def test_ipv6_bmc_and_hostname_bmc() -> None:
    assert ramdisk_data(minimal_documents(), bmc_host="2001:db8::5")["inventory"][
        "bmc_v6address"] == "2001:db8::5"
    inventory = ramdisk_data(minimal_documents(), bmc_host="bmc.example.org")["inventory"]
    assert "bmc_address" not in inventory and "bmc_v6address" not in inventory


def test_absent_resources_are_absent_keys() -> None:
    data = ramdisk_data(minimal_documents())
    assert data["inventory"] == {"system_vendor": {"system_uuid": MOCKUP_UUID}}
    for key in ("root_disk", "pci_devices", "dmi"):
        assert key not in data
    assert data["redfish_missing"] == ["Processors", "Memory", "Storage", "SimpleStorage",
                                       "EthernetInterfaces", "PCIeDevices", "Bios",
                                       "Managers"]


def test_empty_collections_are_empty_lists() -> None:
    documents = minimal_documents()
    documents.ethernet, documents.storage = [], [{"storage": {"Id": "1"}, "drives": [],
                                                 "controllers": []}]
    inventory = ramdisk_data(documents)["inventory"]
    assert (inventory["interfaces"], inventory["disks"]) == ([], [])


def test_boot_mode_from_bios_attributes() -> None:
    documents = minimal_documents()
    documents.bios = {"Attributes": {"BootMode": "Bios"}}
    assert ramdisk_data(documents)["inventory"]["boot"] == {"current_boot_mode": "bios"}


def test_hardware_view_reads_every_category() -> None:
    view = build_view(ramdisk_data(full_documents()))
    categories = view.categories
    assert categories["system"] == {"system": {
        "vendor": "Dell Inc.", "product": "PowerEdge R640", "serial": "7QX9K42",
        "uuid": MOCKUP_UUID}}
    assert categories["firmware"] is not None
    assert categories["firmware"]["bios"]["version"] == "2.19.1"
    assert categories["firmware"]["bmc"] == {"version": "7.00.00.171"}
    assert set(categories["memory"] or {}) == {"serial:3A1B2C01", "serial:3A1B2C02",
                                               "serial:3A1B2C03"}
    assert set(categories["disks"] or {}) == {"serial:S4EVNX0M123456", "serial:ZAD1X2Y3"}
    assert set(categories["nics"] or {}) == {"3c:fd:fe:aa:00:01", "3c:fd:fe:aa:00:02"}
    assert set(categories["pci"] or {}) == {"8086:1572@0000:18:00.0", "10de:1eb8@0000:3b:00.0"}
    assert set(categories["accelerators"] or {}) == {"10de:1eb8@0000:3b:00.0"}
    assert view.total_mb == 98304


def test_hardware_view_of_a_bare_bmc_collects_nothing_it_lacks() -> None:
    categories = build_view(ramdisk_data(minimal_documents())).categories
    for name in ("cpu", "memory", "disks", "nics", "pci"):
        assert categories[name] is None, name


def test_fleet_summary() -> None:
    summary = summarise(ramdisk_data(full_documents()))
    assert (summary.vendor, summary.model, summary.serial) == ("Dell Inc.", "PowerEdge R640",
                                                               "7QX9K42")
    assert (summary.cpu_count, summary.cpu_arch, summary.memory_mib) == (48, "x86_64", 98304)
    assert (summary.disk_count, summary.disk_bytes) == (2, 480103981056 + 1920383410176)
    assert (summary.nic_count, summary.boot_mode) == (2, "uefi")
