"""Literal processed introspection data for the hardware diff tests."""

from __future__ import annotations

from typing import Any

GIB = 1 << 30


def dimm(locator: str, serial: str | None, size: str = "16 GB", **fields: Any) -> dict[str, Any]:
    return {"Handle": f"Handle 0x11{locator[-1]}0, DMI type 17, 84 bytes", "Size": size,
            "Locator": locator, "Bank Locator": "Not Specified", "Type": "DDR4",
            "Speed": "3200 MT/s", "Manufacturer": "Samsung",
            "Serial Number": serial if serial is not None else "Not Specified",
            "Part Number": "M393A2K43DB3-CWE", **fields}


def base_data() -> dict[str, Any]:
    return {
        "inventory": {
            "system_vendor": {"manufacturer": "Dell Inc.", "product_name": "PowerEdge R650",
                              "serial_number": "7XJ2KL3",
                              "firmware": {"vendor": "Dell Inc.", "version": "2.1",
                                           "build_date": "01/02/2024"}},
            "cpu": {"model_name": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
                    "frequency": "3200.0000", "count": 128, "architecture": "x86_64",
                    "socket_count": 2, "flags": ["fpu", "vmx", "aes", "pse", "sse2", "smx"]},
            "memory": {"total": 64 * GIB - 900 * (1 << 20), "physical_mb": 65536},
            "disks": [
                {"name": "/dev/sda", "model": "PERC H755", "size": 479559942144,
                 "rotational": False, "vendor": "DELL", "serial": "S1", "wwn": "0x61",
                 "by_path": "/dev/disk/by-path/pci-0000:65:00.0-scsi-0:2:0:0"},
                {"name": "/dev/sdb", "model": "ST2000", "size": 1800 * 10**9,
                 "rotational": True, "vendor": "SEAGATE", "serial": "S2", "wwn": "0x62",
                 "by_path": "/dev/disk/by-path/pci-0000:65:00.0-scsi-0:2:1:0"},
            ],
            "interfaces": [
                {"name": "eno1", "mac_address": "d0:94:66:00:00:01", "ipv4_address": "192.0.2.10",
                 "ipv6_address": "fe80::1%eno1", "has_carrier": True, "vendor": "0x14e4",
                 "product": "0x165f", "driver": "tg3", "speed_mbps": 1000,
                 "pci_address": "0000:04:00.0", "lldp": []},
                {"name": "eno2", "mac_address": "d0:94:66:00:00:02", "ipv4_address": None,
                 "has_carrier": False, "vendor": "0x14e4", "product": "0x165f",
                 "driver": "tg3", "speed_mbps": 1000, "pci_address": "0000:04:00.1",
                 "lldp": []},
            ],
            "boot": {"current_boot_mode": "uefi", "pxe_interface": "01-d0-94-66-00-00-01"},
            "bmc_address": "203.0.113.1",
            "hostname": "localhost.localdomain",
        },
        "dmi": {"bios": {"Vendor": "Dell Inc.", "Version": "2.1", "Release Date": "01/02/2024",
                         "BIOS Revision": "2.1", "Firmware Revision": "6.10"},
                "cpu": [],
                "memory": {"Number Of Devices": 4, "devices": [
                    dimm("A1", "AA01"), dimm("A2", "AA02"), dimm("A3", "AA03"),
                    dimm("A4", "AA04"),
                    {"Size": "No Module Installed", "Locator": "A5",
                     "Serial Number": "Not Specified"},
                ]}},
        "pci_devices": [
            {"vendor_id": "14e4", "product_id": "165f", "class": "020000", "revision": "00",
             "bus": "0000:04:00.0", "numa_node_id": "0"},
            {"vendor_id": "14e4", "product_id": "165f", "class": "020000", "revision": "00",
             "bus": "0000:04:00.1", "numa_node_id": "0"},
            {"vendor_id": "1000", "product_id": "10e2", "class": "010400", "revision": "00",
             "bus": "0000:65:00.0", "numa_node_id": "0"},
        ],
        "all_interfaces": {
            "eno1": {"ip": "192.0.2.10", "mac": "d0:94:66:00:00:01", "pxe": True,
                     "lldp_processed": {"switch_chassis_id": "00:1c:73:00:00:99",
                                        "switch_port_id": "Ethernet1/1",
                                        "switch_system_name": "leaf-1",
                                        "switch_port_vlans": [{"id": 100}]}},
            "eno2": {"ip": None, "mac": "d0:94:66:00:00:02", "pxe": False},
        },
        "boot_interface": "01-d0-94-66-00-00-01",
        "root_disk": {"name": "/dev/sda"},
        "error": None,
        "logs": "H4sIAAAAAAAA",
    }
