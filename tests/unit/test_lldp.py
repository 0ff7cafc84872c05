"""LLDP TLV decoding with literal TLVs (spec 5.4, lldp_basic)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from metalscope import lldp

SPEC_EXAMPLE = [[1, "04d4c9ef112233"], [2, "0545746865726e6574312f37"], [3, "0078"],
                [5, "746f722d7261636b3132"], [127, "0080c2010064"]]
FUNCTIONAL_TLVS = [[1, "04112233aabbcc"], [2, "07373334"], [3, "003c"]]


def parse(*tlvs: list[Any]) -> dict[str, Any]:
    return lldp.parse_tlvs(list(tlvs))


class TestSpecExamples:
    def test_worked_example(self) -> None:
        """The spec 5.4 example decodes to the documented dictionary."""
        assert lldp.parse_tlvs(SPEC_EXAMPLE) == {
            "switch_chassis_id": "d4:c9:ef:11:22:33", "switch_port_id": "Ethernet1/7",
            "switch_system_name": "tor-rack12", "switch_port_untagged_vlan_id": 100}

    def test_functional_test_data(self) -> None:
        """The spec 13.1 eth1 TLVs give the chassis MAC and the locally assigned port ID."""
        assert lldp.parse_tlvs(FUNCTIONAL_TLVS) == {
            "switch_chassis_id": "11:22:33:aa:bb:cc", "switch_port_id": "734"}


class TestBasicTlvs:
    @pytest.mark.parametrize(("value", "expected"), [
        ("04D4C9EF112233", "d4:c9:ef:11:22:33"),   # MAC, upper-case hex accepted
        ("0501c0000201", "192.0.2.1"),              # network address, IPv4
        ("050220010db8000000000000000000000005", "2001:db8::5"),  # network address, IPv6
        ("0506aabbccddeeff", "aa:bb:cc:dd:ee:ff"),  # network address, MAC family
        ("01636861737369732d31", "chassis-1"),      # chassis component
        ("0265746830", "eth0"),                     # interface alias
        ("03736c6f742d33", "slot-3"),               # port component
        ("06737769746368", "switch"),               # interface name
        ("076c6f63616c", "local"),                  # locally assigned
    ])
    def test_chassis_id_subtypes(self, value: str, expected: str) -> None:
        """Every Chassis ID subtype decodes to its text form."""
        assert parse([1, value]) == {"switch_chassis_id": expected}

    @pytest.mark.parametrize(("value", "expected"), [
        ("01416c696173", "Alias"),                   # interface alias
        ("02706f7274", "port"),                      # port component
        ("03aabbccddeeff", "aa:bb:cc:dd:ee:ff"),     # MAC address
        ("04010a000001", "10.0.0.1"),                # network address
        ("0545746865726e6574312f37", "Ethernet1/7"),  # interface name
        ("07373334", "734"),                         # locally assigned
    ])
    def test_port_id_subtypes(self, value: str, expected: str) -> None:
        """Every decodable Port ID subtype decodes to its text form."""
        assert parse([2, value]) == {"switch_port_id": expected}

    def test_text_tlvs(self) -> None:
        """Port description, system name and system description are UTF-8 text."""
        assert parse([4, "706f72742d31"], [5, "7377"], [6, "4f5320c3a9"]) == {
            "switch_port_description": "port-1", "switch_system_name": "sw",
            "switch_system_description": "OS é"}

    def test_end_and_ttl_ignored(self) -> None:
        """End-of-LLDPDU and TTL TLVs produce nothing."""
        assert parse([0, ""], [3, "0078"]) == {}

    def test_capabilities(self) -> None:
        """Supported and enabled system capabilities become lists of names."""
        assert parse([7, "07fe0014"]) == {
            "switch_capabilities_support": [
                "Repeater", "Bridge", "WLAN", "Router", "Telephone", "DOCSIS cable device",
                "Station only", "C-Vlan", "S-Vlan", "TPMR"],
            "switch_capabilities_enabled": ["Bridge", "Router"]}

    def test_capabilities_other_bit_not_reported(self) -> None:
        """The "other" capability bit has no name."""
        assert parse([7, "00010001"]) == {"switch_capabilities_support": [],
                                          "switch_capabilities_enabled": []}

    def test_management_addresses_accumulate(self) -> None:
        """Every management address (IPv4, IPv6, MAC) is appended, in order."""
        result = parse([8, "05010a000001020000000100"],
                       [8, "110220010db8000000000000000000000001020000000100"],
                       [8, "0706001122334455020000000100"])
        assert result == {"switch_mgmt_addresses": ["10.0.0.1", "2001:db8::1",
                                                    "00:11:22:33:44:55"]}

    def test_first_scalar_wins(self) -> None:
        """A repeated scalar TLV keeps the first value."""
        assert parse([5, "6669727374"], [5, "7365636f6e64"]) == {"switch_system_name": "first"}

    def test_ipv4_mapped_ipv6_text_form(self) -> None:
        """IPv6 addresses use netaddr's text form, like upstream."""
        assert parse([1, "050200000000000000000000ffff01020304"]) == {
            "switch_chassis_id": "::ffff:1.2.3.4"}


class TestIeee8021:
    def test_port_vlan(self) -> None:
        """Subtype 1 gives the untagged VLAN ID."""
        assert parse([127, "0080c20100c8"]) == {"switch_port_untagged_vlan_id": 200}

    def test_protocol_vlans(self) -> None:
        """Subtype 2 flags keep their first value; VLAN IDs accumulate."""
        assert parse([127, "0080c202060064"], [127, "0080c2020200c8"]) == {
            "switch_port_protocol_vlan_enabled": True,
            "switch_port_protocol_vlan_support": True,
            "switch_port_protocol_vlan_ids": [100, 200]}

    def test_protocol_vlan_flags(self) -> None:
        """Only the supported bit set means supported but not enabled."""
        assert parse([127, "0080c202020064"]) == {
            "switch_port_protocol_vlan_enabled": False,
            "switch_port_protocol_vlan_support": True,
            "switch_port_protocol_vlan_ids": [100]}

    def test_vlan_names(self) -> None:
        """Subtype 3 appends id/name pairs; trailing NUL padding is dropped."""
        assert parse([127, "0080c203006408766c616e2d313030"],
                     [127, "0080c20300c80476320000"]) == {
            "switch_port_vlans": [{"id": 100, "name": "vlan-100"}, {"id": 200, "name": "v2"}]}

    def test_protocol_identities(self) -> None:
        """Subtype 4 appends the protocol identity as hex."""
        assert parse([127, "0080c2040288cc"], [127, "0080c204030102aa"]) == {
            "switch_protocol_identities": ["88cc", "0102aa"]}

    def test_management_vlan(self) -> None:
        """Subtype 6 gives the management VLAN ID."""
        assert parse([127, "0080c206000a"]) == {"switch_port_management_vlan_id": 10}

    def test_link_aggregation(self) -> None:
        """Subtype 7 gives the aggregation status bits and the aggregated port ID."""
        assert parse([127, "0080c2070300000010"]) == {
            "switch_port_link_aggregation_enabled": True,
            "switch_port_link_aggregation_support": True,
            "switch_port_link_aggregation_id": 16}


class TestIeee8023:
    def test_mac_phy(self) -> None:
        """Subtype 1 gives auto-negotiation flags, sorted capabilities and the MAU type."""
        assert parse([127, "00120f01" "03" "4401" "001e"]) == {
            "switch_port_autonegotiation_enabled": True,
            "switch_port_autonegotiation_support": True,
            "switch_port_physical_capabilities": [
                "1000BASE-T fdx", "100BASE-TX fdx", "10BASE-T fdx", "10BASE-T hdx"],
            "switch_port_mau_type": "1000BASE-T full duplex"}

    def test_10base_t_fdx_quirk(self) -> None:
        """Q-HOOK-4: "10BASE-T fdx" follows the half-duplex bit, not the full-duplex one."""
        assert lldp.autonegotiation_capabilities(0x4000) == ["10BASE-T fdx", "10BASE-T hdx"]
        assert lldp.autonegotiation_capabilities(0x2000) == []

    def test_all_capability_bits(self) -> None:
        """Every advertised capability bit except "other" and real 10BASE-T fdx has a name."""
        assert len(lldp.autonegotiation_capabilities(0xFFFF)) == 15

    def test_link_aggregation_deprecated_subtype(self) -> None:
        """Subtype 3 has the same layout as the 802.1 link aggregation TLV."""
        assert parse([127, "00120f030100000005"]) == {
            "switch_port_link_aggregation_enabled": False,
            "switch_port_link_aggregation_support": True,
            "switch_port_link_aggregation_id": 5}

    def test_mtu(self) -> None:
        """Subtype 4 gives the maximum frame size."""
        assert parse([127, "00120f042328"]) == {"switch_port_mtu": 9000}

    def test_mau_type_table(self) -> None:
        """The MAU table covers RFC 4836 types 0-53 and keeps upstream's "100 BASE-T4"."""
        assert len(lldp.MAU_TYPES) == 54
        assert lldp.MAU_TYPES[14] == "100 BASE-T4"
        assert lldp.MAU_TYPES[16] == "100BASE-TX full duplex"
        assert lldp.MAU_TYPES[53] == "1000BASE-PX20U"


MALFORMED: list[Any] = [
    [1, "zz"],                    # not hexadecimal
    [1, "04d4c9ef11223"],         # odd number of digits
    [1, "é1"],                    # non-ASCII text
    [1, 4],                       # value not a string
    [1, None],
    ["1", "04d4c9ef112233"],      # type not an integer
    [True, "04d4c9ef112233"],     # a boolean is not a type
    [1],                          # too short an item
    [1, "04", "extra"],           # too long an item
    "1:04d4c9ef112233",           # not a list
    {"type": 1, "value": "04"},
    None,
    [1, ""],                      # chassis ID without a subtype
    [1, "04d4c9ef11"],            # truncated MAC
    [1, "04d4c9ef11223344"],      # MAC too long
    [1, "08616263"],              # unknown chassis ID subtype
    [1, "0503c0000201"],          # unknown address family
    [1, "0501c00002"],            # truncated IPv4 address
    [2, "06616263"],              # port ID subtype 6 is not decoded
    [2, "03aabb"],                # truncated port MAC
    [5, "fffe"],                  # not UTF-8
    [7, "0014"],                  # capabilities too short
    [7, "0014001400"],            # capabilities too long
    [8, "05"],                    # management address without family
    [8, "0501c000"],              # truncated management address
    [8, "0509c0000201"],          # unknown management address family
    [42, "00"],                   # unknown TLV type
    [127, "0080c2"],              # no organisational subtype
    [127, "aabbcc0100"],          # unknown organisation
    [127, "0080c2050000"],        # unknown 802.1 subtype
    [127, "0080c20100"],          # truncated port VLAN ID
    [127, "0080c20206006400"],    # protocol VLAN too long
    [127, "0080c2030064056162"],  # VLAN name shorter than its length
    [127, "0080c20300"],          # VLAN name without length
    [127, "0080c20403aa"],        # protocol identity shorter than its length
    [127, "0080c204"],            # protocol identity without length
    [127, "0080c206"],            # management VLAN without value
    [127, "0080c207030000"],      # truncated link aggregation
    [127, "00120f010344010036"],  # MAU type 54 is unknown
    [127, "00120f0103440100ff"],  # MAU type 255 is unknown
    [127, "00120f0103"],          # truncated MAC/PHY
    [127, "00120f020000"],        # unknown 802.3 subtype
    [127, "00120f0423"],          # truncated MTU
]


class TestMalformed:
    @pytest.mark.parametrize("item", MALFORMED)
    def test_skipped_with_warning(self, item: Any, caplog: pytest.LogCaptureFixture) -> None:
        """A malformed TLV yields nothing and logs a warning instead of raising."""
        with caplog.at_level(logging.WARNING, logger="metalscope.lldp"):
            assert lldp.parse_tlvs([item]) == {}
        assert any(r.levelno == logging.WARNING for r in caplog.records)

    def test_valid_tlvs_survive_among_malformed(self) -> None:
        """Malformed TLVs are skipped one by one; the valid ones are still decoded."""
        assert lldp.parse_tlvs(MALFORMED + SPEC_EXAMPLE) == lldp.parse_tlvs(SPEC_EXAMPLE)

    def test_malformed_first_does_not_block_later(self) -> None:
        """A broken first chassis ID does not count as the first occurrence."""
        assert parse([1, "04d4c9"], [1, "04d4c9ef112233"]) == {
            "switch_chassis_id": "d4:c9:ef:11:22:33"}

    def test_failed_tlv_adds_no_partial_pairs(self) -> None:
        """A MAC/PHY TLV with an unknown MAU type adds none of its other names."""
        result = parse([127, "00120f0103440100ff"], [127, "00120f01" "02" "0000" "0010"])
        assert result == {"switch_port_autonegotiation_enabled": True,
                          "switch_port_autonegotiation_support": False,
                          "switch_port_physical_capabilities": [],
                          "switch_port_mau_type": "100BASE-TX full duplex"}

    @pytest.mark.parametrize("tlvs", [None, "0104", {"1": "04"}, 7])
    def test_non_list_data(self, tlvs: Any) -> None:
        """LLDP data that is not a list decodes to nothing."""
        assert lldp.parse_tlvs(tlvs) == {}


class TestInterfaceTlvs:
    def test_lldp_raw_preferred(self) -> None:
        """A non-empty ``lldp_raw[<name>]`` wins over the interface's own ``lldp``."""
        data = {"lldp_raw": {"eth0": FUNCTIONAL_TLVS}}
        assert lldp.interface_tlvs(data, {"name": "eth0", "lldp": SPEC_EXAMPLE}) == FUNCTIONAL_TLVS

    def test_empty_lldp_raw_falls_back(self) -> None:
        """An empty ``lldp_raw`` entry falls back to the interface's ``lldp``."""
        data = {"lldp_raw": {"eth0": []}}
        assert lldp.interface_tlvs(data, {"name": "eth0", "lldp": SPEC_EXAMPLE}) == SPEC_EXAMPLE

    def test_none(self) -> None:
        """Without either source there are no TLVs."""
        assert lldp.interface_tlvs({}, {"name": "eth0"}) is None

    @pytest.mark.parametrize("name", [{"a": 1}, ["eth0"], None, 5])
    def test_a_name_that_is_not_a_string_reads_only_the_interface(self, name: object) -> None:
        """A hostile interface name (a dict or list is unhashable) does not raise."""
        data = {"lldp_raw": {"eth0": FUNCTIONAL_TLVS}}
        assert lldp.interface_tlvs(data, {"name": name, "lldp": SPEC_EXAMPLE}) == SPEC_EXAMPLE
