"""Factories for realistic test documents: ramdisk (IPA) data, Ironic nodes and ports.

Every call returns a fresh deep copy, so tests may mutate what they get. Keyword overrides
replace top-level keys; tests that need a key *removed* pop it themselves.
"""

from __future__ import annotations

import copy
from typing import Any

from metalscope.node_changes import NodeChanges
from metalscope.settings import Settings, load_settings
from metalscope.state_machine import Event
from metalscope.storage.repository import Repository

GIB = 1 << 30

NODE_UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
PXE_MAC = "3c:fd:fe:aa:00:01"
IB_CLIENT_ID = "ff:00:00:00:00:00:02:00:00:02:c9:00:7c:fe:90:03:00:29:2a:61"

_SDA = {
    "name": "/dev/sda", "model": "PERC H740P", "size": 959656755200,
    "rotational": False, "wwn": "0x6d0946600a2b3c00", "serial": "6d0946600a2b3c00",
    "vendor": "DELL", "wwn_with_extension": "0x6d0946600a2b3c00",
    "wwn_vendor_extension": None, "hctl": "0:2:0:0",
    "by_path": "/dev/disk/by-path/pci-0000:18:00.0-scsi-0:2:0:0",
    "logical_sectors": 512, "physical_sectors": 512, "tran": None,
}

_NVME = {
    "name": "/dev/nvme0n1", "model": "Dell Ent NVMe P5600", "size": 1600321314816,
    "rotational": False, "wwn": None, "serial": "PHAB123401A31P6AGN",
    "vendor": None, "wwn_with_extension": None, "wwn_vendor_extension": None,
    "hctl": None, "by_path": "/dev/disk/by-path/pci-0000:5e:00.0-nvme-1",
    "logical_sectors": 512, "physical_sectors": 512, "tran": "nvme",
}

# The constructed example of spec 6.3: a Dell R640 with a PXE NIC, an unplugged NIC and
# an InfiniBand NIC, a RAID volume and an NVMe disk.
_RAMDISK_DATA: dict[str, Any] = {
    "inventory": {
        "interfaces": [
            {"name": "eno1", "mac_address": PXE_MAC, "ipv4_address": "192.0.2.41",
             "ipv6_address": "fe80::3efd:feff:feaa:1%eno1", "has_carrier": True,
             "vendor": "0x8086", "product": "0x1572", "client_id": None, "biosdevname": "em1",
             "speed_mbps": 10000,
             "lldp": [[1, "04d4c9ef112233"], [2, "0545746865726e6574312f37"], [3, "0078"],
                      [5, "746f722d7261636b3132"], [127, "0080c2010064"], [0, ""]]},
            {"name": "eno2", "mac_address": "3c:fd:fe:aa:00:02", "ipv4_address": None,
             "ipv6_address": None, "has_carrier": False, "vendor": "0x8086",
             "product": "0x1572", "client_id": None, "biosdevname": "em2",
             "speed_mbps": None, "lldp": None},
            {"name": "ib0", "mac_address": "7c:fe:90:29:2a:61", "ipv4_address": "198.51.100.17",
             "ipv6_address": None, "has_carrier": True, "vendor": "0x15b3", "product": "0x1017",
             "client_id": IB_CLIENT_ID, "biosdevname": None, "speed_mbps": 100000, "lldp": None},
        ],
        "cpu": {"model_name": "Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz",
                "frequency": "2200.000", "count": 48, "architecture": "x86_64",
                "flags": ["fpu", "vme", "pse", "sse2", "vmx", "smx", "aes", "pdpe1gb"],
                "socket_count": 2},
        "memory": {"total": 201863462912, "physical_mb": 196608},
        "disks": [_SDA, _NVME],
        "bmc_address": "192.0.2.200",
        "bmc_v6address": "::/0",
        "bmc_mac": "d0:94:66:0a:2b:3c",
        "system_vendor": {"product_name": "PowerEdge R640", "serial_number": "7QX9K42",
                          "manufacturer": "Dell Inc.",
                          "firmware": {"vendor": "Dell Inc.", "version": "2.19.1",
                                       "build_date": "03/12/2024"}},
        "boot": {"current_boot_mode": "uefi", "pxe_interface": PXE_MAC},
        "hostname": "localhost.localdomain",
    },
    "root_disk": dict(_SDA),  # a separate object, as after JSON decoding
    "boot_interface": "01-3c-fd-fe-aa-00-01",
    "configuration": {"collectors": ["default", "logs", "pci-devices"],
                      "managers": [{"name": "generic_hardware_manager", "version": "1.2"}]},
    "pci_devices": [
        {"vendor_id": "8086", "product_id": "1572", "class": "020000", "revision": "02",
         "bus": "0000:18:00.0"},
        {"vendor_id": "10de", "product_id": "1eb8", "class": "030200", "revision": "a1",
         "bus": "0000:3b:00.0"},
    ],
    "error": None,
    "logs": "H4sIAAAAAAAAA+3OMQ6CQBCF4a05xR7AYmdhF2...",
}

# The ramdisk data of the upstream functional test (spec 13.1).
_FUNCTIONAL_DATA: dict[str, Any] = {
    "boot_interface": "01-11-22-33-44-55-66",
    "inventory": {
        "interfaces": [
            {"name": "eth1", "mac_address": "11:22:33:44:55:66", "ipv4_address": "1.2.1.2",
             "ipv6_address": None, "client_id": None,
             "lldp": [[1, "04112233aabbcc"], [2, "07373334"], [3, "003c"]]},
            {"name": "eth2", "mac_address": "12:12:21:12:21:12", "ipv4_address": None,
             "ipv6_address": None, "client_id": None, "lldp": None},
            {"name": "eth3", "mac_address": "66:55:44:33:22:11", "ipv4_address": "1.2.1.1",
             "ipv6_address": None, "client_id": None, "lldp": None},
            {"name": "ib0", "mac_address": "7c:fe:90:29:26:52", "ipv4_address": "1.2.1.3",
             "ipv6_address": None, "lldp": None,
             "client_id": "ff:00:00:00:00:00:02:00:00:02:c9:00:7c:fe:90:03:00:29:26:52"},
        ],
        "disks": [{"name": "/dev/sda", "model": "Big Data Disk", "size": 1000 * GIB,
                   "rotational": True, "wwn": None, "serial": "1111", "vendor": "ata"},
                  {"name": "/dev/sdb", "model": "Small OS Disk", "size": 20 * GIB,
                   "rotational": False, "wwn": None, "serial": "2222", "vendor": "ata"}],
        "cpu": {"count": 4, "architecture": "x86_64"},
        "memory": {"physical_mb": 12288},
        "bmc_address": "1.2.3.4",
        "bmc_v6address": "2001:1234:1234:1234:1234:1234:1234:1234/64",
    },
    "root_disk": {"name": "/dev/sda", "model": "Big Data Disk", "size": 1000 * GIB,
                  "rotational": True, "wwn": None, "serial": "1111", "vendor": "ata"},
    "interfaces": {"eth1": {"mac": "11:22:33:44:55:66", "ip": "1.2.1.2"},
                   "eth2": {"mac": "12:12:21:12:21:12"},
                   "eth3": {"mac": "66:55:44:33:22:11", "ip": "1.2.1.1"}},
}


def ramdisk_data(**overrides: Any) -> dict[str, Any]:
    """The spec 6.3 example document, with top-level keys replaced by ``overrides``."""
    data = copy.deepcopy(_RAMDISK_DATA)
    data.update(copy.deepcopy(overrides))
    return data


def functional_ramdisk_data(**overrides: Any) -> dict[str, Any]:
    """The upstream functional test's ramdisk data (spec 13.1), with ``overrides``."""
    data = copy.deepcopy(_FUNCTIONAL_DATA)
    data.update(copy.deepcopy(overrides))
    return data


def inventory(**overrides: Any) -> dict[str, Any]:
    """The spec 6.3 inventory alone, with keys replaced by ``overrides``."""
    result: dict[str, Any] = ramdisk_data()["inventory"]
    result.update(copy.deepcopy(overrides))
    return result


def disk(name: str = "/dev/sda", size_gib: float = 100, **fields: Any) -> dict[str, Any]:
    """An inventory disk of ``size_gib`` GiB with empty identification fields."""
    result: dict[str, Any] = {
        "name": name, "model": None, "size": int(size_gib * GIB), "rotational": False,
        "wwn": None, "serial": None, "vendor": None, "wwn_with_extension": None,
        "wwn_vendor_extension": None, "hctl": None, "by_path": None,
    }
    result.update(fields)
    return result


def ironic_node(**overrides: Any) -> dict[str, Any]:
    """An Ironic node as the REST API returns it (``inspecting``, IPMI, no properties)."""
    node: dict[str, Any] = {
        "uuid": NODE_UUID, "name": "node-1", "driver": "ipmi",
        "driver_info": {"ipmi_address": "192.0.2.200"}, "properties": {},
        "provision_state": "inspecting", "power_state": "power off", "maintenance": False,
        "instance_uuid": None, "extra": {}, "traits": [],
    }
    node.update(copy.deepcopy(overrides))
    return node


def ironic_port(address: str, **overrides: Any) -> dict[str, Any]:
    """An Ironic port of the factory node with ``address``."""
    port: dict[str, Any] = {
        "uuid": f"port-{address}", "node_uuid": NODE_UUID, "address": address, "extra": {},
        "pxe_enabled": True, "local_link_connection": {}, "physical_network": None,
    }
    port.update(copy.deepcopy(overrides))
    return port


def node_changes(ports: list[dict[str, Any]] | None = None, **node_overrides: Any) -> NodeChanges:
    """A NodeChanges over :func:`ironic_node` (with ``node_overrides``) and ``ports``."""
    return NodeChanges(ironic_node(**node_overrides), ports or [])


def settings(**sections: dict[str, Any]) -> Settings:
    """Settings from embedded defaults plus per-section overrides, e.g. ``processing={...}``."""
    return load_settings(overrides=sections)


async def start_introspection(repo: Repository, uuid: str, macs: list[str]) -> None:
    """An unmanaged introspection of ``uuid`` waiting for these MACs (record level)."""
    await repo.start_introspection(uuid, False, [], None)
    await repo.add_attributes(uuid, "mac", macs)


async def end_introspection(repo: Repository, uuid: str) -> None:
    """End the introspection of ``uuid`` (in error), as a filter sees it."""
    record = await repo.get_node(uuid)
    assert record is not None
    await repo.transition(record, Event.ERROR, error="done")
