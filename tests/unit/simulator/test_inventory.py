"""Simulated machines and the IPA documents rendered for them (spec 6, 4.2, 5.4, 5.5)."""

from __future__ import annotations

import base64
import gzip
import io
import ipaddress
import json
import random
import re
import tarfile
from typing import Any

import pytest

from metalscope.simulator import SwitchPort, lldp_tlvs, make_fleet, make_node, ramdisk_data

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
TOP_LEVEL_KEYS = {"inventory", "root_disk", "boot_interface", "configuration", "pci_devices",
                  "lldp_raw", "logs", "error"}
INVENTORY_KEYS = {"interfaces", "cpu", "disks", "memory", "bmc_address", "bmc_v6address",
                  "system_vendor", "boot", "hostname"}
INTERFACE_KEYS = {"name", "mac_address", "ipv4_address", "ipv6_address", "has_carrier", "lldp",
                  "vendor", "product", "client_id", "biosdevname", "speed_mbps", "pci_address",
                  "driver"}
DISK_KEYS = {"name", "model", "size", "rotational", "wwn", "serial", "vendor",
             "wwn_with_extension", "wwn_vendor_extension", "hctl", "by_path", "logical_sectors",
             "physical_sectors", "tran"}
CPU_KEYS = {"model_name", "frequency", "count", "architecture", "flags", "socket_count"}
DOC_NETWORKS = [ipaddress.ip_network(n) for n in
                ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]


@pytest.fixture(scope="module")
def fleet() -> list[Any]:
    return make_fleet(11, 50)


@pytest.fixture(scope="module")
def documents(fleet: list[Any]) -> list[dict[str, Any]]:
    return [ramdisk_data(node) for node in fleet]


def tlv_value(tlvs: list[list[Any]], kind: int) -> bytes:
    return bytes.fromhex(next(value for t, value in tlvs if t == kind))


def test_same_seed_and_index_give_identical_documents() -> None:
    """Generation is deterministic down to the bytes of the log tarball."""
    first = json.dumps(ramdisk_data(make_node(42, 7)), sort_keys=True)
    second = json.dumps(ramdisk_data(make_node(42, 7)), sort_keys=True)
    assert first == second


def test_different_seeds_give_different_machines() -> None:
    """Another seed yields other MACs for the same index."""
    assert set(make_node(1, 0).macs).isdisjoint(make_node(2, 0).macs)


def test_generation_leaves_global_random_state_alone() -> None:
    """Building a fleet does not consume or reseed the module-level random generator."""
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    make_fleet(3, 20)
    assert random.random() == expected


def test_fleet_has_vendor_and_nic_count_variety(fleet: list[Any]) -> None:
    """Fifty nodes span at least three vendors, VMs and servers, and every NIC count 1-8."""
    assert len({node.vendor for node in fleet}) >= 3
    assert {len(node.nics) for node in fleet} == set(range(1, 9))
    assert {node.virtual for node in fleet} == {True, False}


def test_every_document_has_the_keys_ipa_sends(documents: list[dict[str, Any]]) -> None:
    """Top-level, inventory, interface, disk and CPU keys match IPA's serialisation."""
    for doc in documents:
        assert set(doc) >= TOP_LEVEL_KEYS
        inventory = doc["inventory"]
        assert set(inventory) >= INVENTORY_KEYS
        assert set(inventory["cpu"]) == CPU_KEYS
        assert set(inventory["memory"]) == {"total", "physical_mb"}
        assert all(set(iface) == INTERFACE_KEYS for iface in inventory["interfaces"])
        assert all(set(disk) == DISK_KEYS for disk in inventory["disks"])
        assert doc["error"] is None
        assert doc["configuration"]["collectors"][0] == "default"
        assert doc["configuration"]["collectors"][-1] == "logs"


def test_documents_survive_a_json_round_trip(documents: list[dict[str, Any]]) -> None:
    """Documents hold only JSON types (tuples would come back as lists)."""
    for doc in documents:
        assert json.loads(json.dumps(doc)) == doc


def test_macs_are_valid_and_unique_across_a_fleet() -> None:
    """Two hundred nodes yield well-formed, pairwise distinct NIC and BMC MACs."""
    fleet = make_fleet(5, 200)
    macs = [mac for node in fleet for mac in node.macs]
    macs += [node.bmc_mac for node in fleet if node.bmc_mac]
    assert all(MAC_RE.match(mac) for mac in macs)
    assert len(macs) == len(set(macs))


def test_addresses_come_from_documentation_ranges(documents: list[dict[str, Any]]) -> None:
    """NIC and BMC addresses lie in RFC 5737 / RFC 3849 ranges (or link-local), BMCs unique."""
    bmcs = []
    for doc in documents:
        inventory = doc["inventory"]
        for iface in inventory["interfaces"]:
            if iface["ipv4_address"]:
                assert any(ipaddress.ip_address(iface["ipv4_address"]) in net
                           for net in DOC_NETWORKS)
            if iface["ipv6_address"]:
                assert iface["ipv6_address"].startswith("fe80::")
        for key, unknown in (("bmc_address", "0.0.0.0"), ("bmc_v6address", "::/0")):
            if inventory[key] not in (None, unknown):
                assert any(ipaddress.ip_address(inventory[key]) in net for net in DOC_NETWORKS)
                bmcs.append(inventory[key])
    assert bmcs and len(bmcs) == len(set(bmcs))


def test_pxe_boot_interface_matches_exactly_one_nic(documents: list[dict[str, Any]]) -> None:
    """``boot_interface`` is PXELINUX ``01-`` form naming one NIC, which has a DHCP address."""
    for doc in documents:
        assert re.match(r"^01(-[0-9a-f]{2}){6}$", doc["boot_interface"])
        mac = doc["boot_interface"][3:].replace("-", ":")
        matching = [i for i in doc["inventory"]["interfaces"] if i["mac_address"] == mac]
        assert len(matching) == 1
        assert matching[0]["ipv4_address"] and matching[0]["has_carrier"]
        assert doc["inventory"]["boot"]["pxe_interface"] == doc["boot_interface"]


def test_lldp_hex_decodes_to_the_switch_port(fleet: list[Any]) -> None:
    """Chassis ID (MAC subtype) and port ID (interface-name subtype) decode to the cabling."""
    checked = 0
    for node in fleet:
        doc = ramdisk_data(node)
        for nic, iface in zip(node.nics, doc["inventory"]["interfaces"], strict=True):
            if nic.switch is None:
                assert iface["lldp"] == [] and doc["lldp_raw"][nic.name] == []
                continue
            tlvs = doc["lldp_raw"][nic.name]
            assert iface["lldp"] == tlvs
            chassis, port = tlv_value(tlvs, 1), tlv_value(tlvs, 2)
            assert chassis[0] == 4 and chassis[1:].hex(":") == nic.switch.chassis_mac
            assert port[0] == 5 and port[1:].decode() == nic.switch.port_id
            assert tlv_value(tlvs, 5).decode() == nic.switch.system_name
            assert tlvs[-1] == [0, ""]
            checked += 1
    assert checked > 20


def test_lldp_tlvs_encode_the_spec_example() -> None:
    """A hand-built port encodes to the TLVs of spec 5.4's lldp_basic example."""
    port = SwitchPort(chassis_mac="d4:c9:ef:11:22:33", port_id="Ethernet1/7",
                      system_name="tor-rack12", system_description="", port_description="",
                      management_ipv4="198.51.100.1", port_vlan_id=100, vlans=((100, "prov"),),
                      mtu=9216, mau_type=None)
    tlvs = lldp_tlvs(port)
    assert tlvs[:3] == [[1, "04d4c9ef112233"], [2, "0545746865726e6574312f37"], [3, "0078"]]
    assert [5, "746f722d7261636b3132"] in tlvs
    assert [127, "0080c2010064"] in tlvs
    assert [127, "0080c203006404" + b"prov".hex()] in tlvs
    assert [127, "00120f042400"] in tlvs  # 802.3 maximum frame size 9216


def test_logs_decode_to_a_gzip_tarball(fleet: list[Any]) -> None:
    """``logs`` is base64 of a gzip tarball whose ``journal`` mentions the node."""
    node = fleet[0]
    raw = base64.b64decode(ramdisk_data(node)["logs"])
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw)  # a valid gzip stream
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        journal = tar.extractfile("journal")
        assert journal is not None
        assert node.name in journal.read().decode()


def test_without_logs_the_key_and_collector_are_absent() -> None:
    """``with_logs=False`` drops both ``logs`` and the ``logs`` collector name."""
    doc = ramdisk_data(make_node(0, 1), with_logs=False)
    assert "logs" not in doc
    assert "logs" not in doc["configuration"]["collectors"]


def test_ramdisk_error_is_reported_verbatim() -> None:
    """A simulated collector failure is sent as the ``error`` string, the rest unchanged."""
    node = make_node(0, 2)
    failed = ramdisk_data(node, error="collector extra-hardware failed: boom")
    assert failed["error"] == "collector extra-hardware failed: boom"
    assert failed["inventory"] == ramdisk_data(node)["inventory"]


def test_overrides_set_macs_pxe_nic_and_bmc() -> None:
    """Chosen MACs, PXE NIC and BMC address appear in the document; the disks do not change."""
    macs = ["52:54:00:12:34:01", "52:54:00:12:34:02", "52:54:00:12:34:03"]
    node = make_node(9, 4, macs=macs, pxe_mac=macs[1], bmc_address="203.0.113.250",
                     vendor="dell")
    doc = ramdisk_data(node)
    assert [i["mac_address"] for i in doc["inventory"]["interfaces"]] == macs
    assert doc["boot_interface"] == "01-52-54-00-12-34-02"
    assert doc["inventory"]["bmc_address"] == "203.0.113.250"
    assert doc["inventory"]["system_vendor"]["manufacturer"] == "Dell Inc."
    assert node.disks == make_node(9, 4, vendor="dell").disks


@pytest.mark.parametrize("overrides", [
    {"macs": ["52:54:00:00:00:01"], "pxe_mac": "52:54:00:00:00:02"},
    {"macs": ["52:54:00:00:00:01", "52:54:00:00:00:01"]},
    {"macs": ["not-a-mac"]},
    {"vendor": "Acme Computers"},
    {"nic_count": 40},
])
def test_impossible_overrides_are_rejected(overrides: dict[str, Any]) -> None:
    """Unknown PXE MACs, duplicate or malformed MACs and unknown vendors raise ValueError."""
    with pytest.raises(ValueError):
        make_node(0, 0, **overrides)


def test_virtual_machines_report_no_bmc() -> None:
    """A VM has no IPMI device: null BMC addresses and no ``bmc_mac``, as IPA reports."""
    inventory = ramdisk_data(make_node(0, 0, virtual=True))["inventory"]
    assert inventory["bmc_address"] is None and inventory["bmc_v6address"] is None
    assert "bmc_mac" not in inventory


def test_a_bmc_without_ipv6_reports_the_unknown_value() -> None:
    """Giving a VM a BMC IPv4 address makes its missing IPv6 address ``::/0``."""
    inventory = ramdisk_data(make_node(0, 0, virtual=True, bmc_address="203.0.113.9"))["inventory"]
    assert (inventory["bmc_address"], inventory["bmc_v6address"]) == ("203.0.113.9", "::/0")


def test_infiniband_nics_carry_a_client_id_built_from_the_mac() -> None:
    """An IPoIB NIC's client-id is the IPA prefix plus a GUID that embeds its MAC."""
    nics = [nic for node in make_fleet(3, 120) for nic in node.nics if nic.infiniband]
    assert nics
    for nic in nics:
        octets = nic.mac_address.split(":")
        expected = ":".join(["ff:00:00:00:00:00:02:00:00:02:c9:00", *octets[:3], "03", "00",
                             *octets[3:]])
        assert nic.client_id == expected


def test_root_disk_is_ipas_choice(documents: list[dict[str, Any]]) -> None:
    """``root_disk`` is the smallest disk of at least 4 GiB, ties broken by name."""
    for doc in documents:
        eligible = [d for d in doc["inventory"]["disks"] if d["size"] >= 4 * 2**30]
        assert doc["root_disk"] == min(eligible, key=lambda d: (d["size"], d["name"]))


def test_disks_and_cpus_look_like_real_hardware(documents: list[dict[str, Any]]) -> None:
    """Disk transports, rotational flags and CPU architectures cover the realistic mix."""
    disks = [d for doc in documents for d in doc["inventory"]["disks"]]
    assert {d["tran"] for d in disks} >= {"nvme", "sata", None}
    assert {d["rotational"] for d in disks} == {True, False}
    assert all(d["size"] > 0 and d["name"].startswith("/dev/") for d in disks)
    cpus = [doc["inventory"]["cpu"] for doc in documents]
    assert {cpu["architecture"] for cpu in cpus} <= {"x86_64", "aarch64"}
    assert all(cpu["count"] >= 1 and cpu["flags"] for cpu in cpus)


def test_pci_devices_include_an_occasional_gpu(documents: list[dict[str, Any]]) -> None:
    """Some nodes carry an NVIDIA 10de:1eb8 and every PCI entry has IPA's keys."""
    devices = [d for doc in documents for d in doc["pci_devices"]]
    assert any((d["vendor_id"], d["product_id"]) == ("10de", "1eb8") for d in devices)
    assert all(set(d) == {"vendor_id", "product_id", "class", "revision", "bus", "numa_node_id"}
               for d in devices)


def test_extra_hardware_data_is_a_list_of_four_item_rows() -> None:
    """The ``extra-hardware`` collector's ``data`` is a list of 4-item string lists."""
    doc = ramdisk_data(make_node(0, 0, virtual=False), with_extra_hardware=True)
    assert "extra-hardware" in doc["configuration"]["collectors"]
    assert doc["data"] and all(len(row) == 4 and all(isinstance(v, str) for v in row)
                               for row in doc["data"])


def test_nic_count_and_vendor_overrides_shape_the_machine() -> None:
    """``nic_count`` fixes the number of NICs and ``vendor`` the catalogue entry."""
    node = make_node(0, 0, nic_count=5, vendor="supermicro")
    assert len(node.nics) == 5 and node.vendor == "Supermicro"
    assert node.nics[0].switch is None or node.name in node.nics[0].switch.port_description


def test_unknown_override_keyword_is_a_type_error() -> None:
    """A keyword that is neither a selector nor a node field is refused."""
    with pytest.raises(TypeError):
        make_node(0, 0, colour="red")
