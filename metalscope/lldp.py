"""LLDP: decoding the raw TLVs the ramdisk reports into ``switch_*`` names (spec 5.4).

The ramdisk sends the TLVs it saw on each interface as ``[type, "<hex of the value>"]``
pairs. :func:`parse_tlvs` decodes the IEEE 802.1AB basic management set and the
organisationally specific TLVs of IEEE 802.1 (OUI 00-80-C2) and IEEE 802.3 (OUI 00-12-0F)
into the names upstream stores as ``lldp_processed``. A TLV that cannot be decoded (bad hex,
too short or too long, unknown type, subtype or organisation, text that is not UTF-8) is
logged and skipped: decoding never raises.
"""

from __future__ import annotations

import binascii
import logging
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import netaddr

LOG = logging.getLogger(__name__)

#: What one TLV decodes to: ``(name, value)`` pairs, in order.
Pairs = list[tuple[str, Any]]
Decoder = Callable[[bytes], Pairs]

TLV_END = 0
TLV_CHASSIS_ID = 1
TLV_PORT_ID = 2
TLV_TTL = 3
TLV_PORT_DESCRIPTION = 4
TLV_SYSTEM_NAME = 5
TLV_SYSTEM_DESCRIPTION = 6
TLV_SYSTEM_CAPABILITIES = 7
TLV_MANAGEMENT_ADDRESS = 8
TLV_ORG_SPECIFIC = 127

#: TLVs that carry nothing worth reporting.
IGNORED_TYPES = frozenset({TLV_END, TLV_TTL})

CHASSIS_SUBTYPE_MAC = 4

OUI_IEEE_802_1 = bytes.fromhex("0080c2")
OUI_IEEE_802_3 = bytes.fromhex("00120f")

#: Names that collect every occurrence; any other name keeps its first value.
LIST_NAMES = frozenset({"switch_mgmt_addresses", "switch_port_protocol_vlan_ids",
                        "switch_port_vlans", "switch_protocol_identities"})

#: IANA address family number -> address length in bytes (IPv4, IPv6, IEEE 802 MAC).
ADDRESS_SIZES: Mapping[int, int] = MappingProxyType({1: 4, 2: 16, 6: 6})

#: System capabilities TLV: bit mask -> name (the "other" bit 0x0001 is not reported).
CAPABILITY_BITS = (
    (0x0002, "Repeater"), (0x0004, "Bridge"), (0x0008, "WLAN"), (0x0010, "Router"),
    (0x0020, "Telephone"), (0x0040, "DOCSIS cable device"), (0x0080, "Station only"),
    (0x0100, "C-Vlan"), (0x0200, "S-Vlan"), (0x0400, "TPMR"),
)

#: 802.3 MAC/PHY TLV, auto-negotiation advertised capability (RFC 4836
#: ``IANAifMauAutoNegCapBits``; bit 0 is the most significant bit of the 16-bit field)
#: -> reported name. Quirk Q-HOOK-4, reproduced so ``lldp_processed`` is identical to
#: upstream's: "10BASE-T fdx" is taken from bit 1 (half duplex), and bit 2 (the real
#: full-duplex bit) is never read.
AUTONEG_CAPABILITY_BITS = (
    (1, "10BASE-T hdx"), (1, "10BASE-T fdx"), (3, "10BASE-T4"),
    (4, "100BASE-TX hdx"), (5, "100BASE-TX fdx"), (6, "100BASE-T2 hdx"), (7, "100BASE-T2 fdx"),
    (8, "PAUSE fdx"), (9, "Asym PAUSE fdx"), (10, "Sym PAUSE fdx"),
    (11, "Asym and Sym PAUSE fdx"), (12, "1000BASE-X hdx"), (13, "1000BASE-X fdx"),
    (14, "1000BASE-T hdx"), (15, "1000BASE-T fdx"),
)

#: Operational MAU types of RFC 4836 (``dot3MauType...``), by index. Index 14 keeps the
#: space in "100 BASE-T4" that upstream reports, for identical output.
MAU_TYPES = (
    "Unknown", "AUI", "10BASE-5", "FOIRL", "10BASE-2", "10BASE-T duplex mode unknown",
    "10BASE-FP", "10BASE-FB", "10BASE-FL duplex mode unknown", "10BROAD36",
    "10BASE-T half duplex", "10BASE-T full duplex", "10BASE-FL half duplex",
    "10BASE-FL full duplex", "100 BASE-T4", "100BASE-TX half duplex", "100BASE-TX full duplex",
    "100BASE-FX half duplex", "100BASE-FX full duplex", "100BASE-T2 half duplex",
    "100BASE-T2 full duplex", "1000BASE-X half duplex", "1000BASE-X full duplex",
    "1000BASE-LX half duplex", "1000BASE-LX full duplex", "1000BASE-SX half duplex",
    "1000BASE-SX full duplex", "1000BASE-CX half duplex", "1000BASE-CX full duplex",
    "1000BASE-T half duplex", "1000BASE-T full duplex", "10GBASE-X", "10GBASE-LX4",
    "10GBASE-R", "10GBASE-ER", "10GBASE-LR", "10GBASE-SR", "10GBASE-W", "10GBASE-EW",
    "10GBASE-LW", "10GBASE-SW", "10GBASE-CX4", "2BASE-TL", "10PASS-TS", "100BASE-BX10D",
    "100BASE-BX10U", "100BASE-LX10", "1000BASE-BX10D", "1000BASE-BX10U", "1000BASE-LX10",
    "1000BASE-PX10D", "1000BASE-PX10U", "1000BASE-PX20D", "1000BASE-PX20U",
)


class MalformedTlv(ValueError):
    """A TLV that cannot be decoded; :func:`parse_tlvs` logs it and moves on."""


# -- entry points ------------------------------------------------------------------------

def parse_tlvs(tlvs: Any) -> dict[str, Any]:
    """Decode a raw ``[[type, hex], ...]`` list into ``switch_*`` names and values.

    The first occurrence of a scalar name wins; list names (:data:`LIST_NAMES`) collect
    every occurrence. Malformed TLVs are logged and skipped.
    """
    result: dict[str, Any] = {}
    for tlv_type, value in iter_tlvs(tlvs):
        try:
            pairs = decode_tlv(tlv_type, value)
        except MalformedTlv as exc:
            LOG.warning("Skipping LLDP TLV of type %d: %s", tlv_type, exc)
            continue
        merge_pairs(result, pairs)
    return result


def iter_tlvs(tlvs: Any) -> Iterator[tuple[int, bytes]]:
    """The ``(type, value bytes)`` of every well-formed item; the others are logged."""
    if not isinstance(tlvs, list):
        LOG.warning("Ignoring LLDP data that is not a list: %r", tlvs)
        return
    for item in tlvs:
        try:
            tlv = split_item(item)
        except MalformedTlv as exc:
            LOG.warning("Skipping LLDP TLV %r: %s", item, exc)
            continue
        yield tlv


def interface_tlvs(data: dict[str, Any], iface: dict[str, Any]) -> Any:
    """An inventory interface's raw TLVs: non-empty ``lldp_raw[<name>]``, else its ``lldp``."""
    raw = data.get("lldp_raw")
    name = iface.get("name")
    if isinstance(raw, dict) and isinstance(name, str) and raw.get(name):
        return raw[name]
    return iface.get("lldp")


def split_item(item: Any) -> tuple[int, bytes]:
    """Check one ``[type, hex]`` item and decode its hex value."""
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        raise MalformedTlv("expected a [type, hexadecimal value] pair")
    tlv_type, value = item
    if isinstance(tlv_type, bool) or not isinstance(tlv_type, int):
        raise MalformedTlv(f"the type {tlv_type!r} is not an integer")
    return tlv_type, decode_hex(value)


def decode_hex(value: Any) -> bytes:
    """The bytes of a hexadecimal string."""
    if not isinstance(value, str):
        raise MalformedTlv(f"the value {value!r} is not a hexadecimal string")
    try:
        return binascii.unhexlify(value)
    except (binascii.Error, ValueError) as exc:
        raise MalformedTlv(f"the value {value!r} is not valid hexadecimal: {exc}") from exc


def decode_tlv(tlv_type: int, value: bytes) -> Pairs:
    """The names and values one TLV carries; raises MalformedTlv."""
    if tlv_type in IGNORED_TYPES:
        return []
    decoder = BASIC_DECODERS.get(tlv_type)
    if decoder is None:
        raise MalformedTlv(f"unknown TLV type {tlv_type}")
    return decoder(value)


def merge_pairs(result: dict[str, Any], pairs: Pairs) -> None:
    """Add decoded pairs: scalar names keep their first value, list names accumulate."""
    for name, value in pairs:
        if name in LIST_NAMES:
            result.setdefault(name, []).append(value)
        else:
            result.setdefault(name, value)


def chassis_id(value: bytes) -> str:
    """A Chassis ID TLV value as text: MAC, network address or UTF-8 by subtype."""
    return _identifier(value, CHASSIS_ID_FORMATS)


def port_id(value: bytes) -> str:
    """A Port ID TLV value as text: MAC, network address or UTF-8 by subtype."""
    return _identifier(value, PORT_ID_FORMATS)


def autonegotiation_capabilities(bits: int) -> list[str]:
    """Sorted names of the advertised auto-negotiation capabilities (802.3 MAC/PHY TLV)."""
    return sorted({name for bit, name in AUTONEG_CAPABILITY_BITS if bits & (0x8000 >> bit)})


def capability_names(bits: int) -> list[str]:
    """Names of the system capabilities set in a 16-bit capabilities field."""
    return [name for mask, name in CAPABILITY_BITS if bits & mask]


# -- field formats -----------------------------------------------------------------------

def _need(value: bytes, size: int, what: str) -> None:
    if len(value) < size:
        raise MalformedTlv(f"{what} needs at least {size} bytes, got {len(value)}")


def _exact(value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise MalformedTlv(f"{what} must be {size} bytes long, got {len(value)}")


def _uint16(value: bytes, what: str) -> int:
    _need(value, 2, what)
    return int.from_bytes(value[:2], "big")


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedTlv(f"the text is not UTF-8: {exc}") from exc


def _mac(value: bytes) -> str:
    _exact(value, 6, "a MAC address")
    return ":".join(f"{byte:02x}" for byte in value)


def _address_size(family: int) -> int:
    size = ADDRESS_SIZES.get(family)
    if size is None:
        raise MalformedTlv(f"unknown address family {family}")
    return size


def _address(family: int, raw: bytes) -> str:
    """An IANA-family address: IPv4/IPv6 in netaddr's text form, or a MAC."""
    _exact(raw, _address_size(family), "the address")
    if family == 6:
        return _mac(raw)
    return str(netaddr.IPAddress(int.from_bytes(raw, "big"), version=4 if family == 1 else 6))


def _network_address(value: bytes) -> str:
    _need(value, 1, "a network address")
    return _address(value[0], value[1:])


def _identifier(value: bytes, formats: Mapping[int, Callable[[bytes], str]]) -> str:
    _need(value, 1, "an identifier")
    decode = formats.get(value[0])
    if decode is None:
        raise MalformedTlv(f"unknown subtype {value[0]}")
    return decode(value[1:])


# -- basic management set ----------------------------------------------------------------

def _chassis_id_tlv(value: bytes) -> Pairs:
    return [("switch_chassis_id", chassis_id(value))]


def _port_id_tlv(value: bytes) -> Pairs:
    return [("switch_port_id", port_id(value))]


def _text_tlv(name: str) -> Decoder:
    return lambda value: [(name, _text(value))]


def _capabilities_tlv(value: bytes) -> Pairs:
    _exact(value, 4, "system capabilities")
    return [("switch_capabilities_support", capability_names(_uint16(value, "capabilities"))),
            ("switch_capabilities_enabled", capability_names(_uint16(value[2:], "capabilities")))]


def _management_address_tlv(value: bytes) -> Pairs:
    """Length, family, address, then interface numbering and OID (not reported)."""
    _need(value, 2, "a management address")
    family = value[1]
    raw = value[2:2 + _address_size(family)]
    return [("switch_mgmt_addresses", _address(family, raw))]


def _org_specific_tlv(value: bytes) -> Pairs:
    _need(value, 4, "an organisationally specific TLV")
    oui, subtype, payload = value[:3], value[3], value[4:]
    decoders = ORG_DECODERS.get(oui)
    if decoders is None:
        raise MalformedTlv(f"unknown organisation {oui.hex()}")
    decoder = decoders.get(subtype)
    if decoder is None:
        raise MalformedTlv(f"unknown subtype {subtype} of organisation {oui.hex()}")
    return decoder(payload)


# -- IEEE 802.1 --------------------------------------------------------------------------

def _port_vlan_tlv(value: bytes) -> Pairs:
    return [("switch_port_untagged_vlan_id", _uint16(value, "a port VLAN ID"))]


def _protocol_vlan_tlv(value: bytes) -> Pairs:
    _exact(value, 3, "a port and protocol VLAN ID")
    return [("switch_port_protocol_vlan_enabled", bool(value[0] & 0x04)),
            ("switch_port_protocol_vlan_support", bool(value[0] & 0x02)),
            ("switch_port_protocol_vlan_ids", _uint16(value[1:], "a VLAN ID"))]


def _vlan_name_tlv(value: bytes) -> Pairs:
    _need(value, 3, "a VLAN name")
    name = value[3:3 + value[2]]
    _exact(name, value[2], "the VLAN name")
    return [("switch_port_vlans",
             {"id": _uint16(value, "a VLAN ID"), "name": _text(name).rstrip("\x00")})]


def _protocol_identity_tlv(value: bytes) -> Pairs:
    _need(value, 1, "a protocol identity")
    identity = value[1:1 + value[0]]
    _exact(identity, value[0], "the protocol identity")
    return [("switch_protocol_identities", identity.hex())]


def _management_vlan_tlv(value: bytes) -> Pairs:
    return [("switch_port_management_vlan_id", _uint16(value, "a management VLAN ID"))]


def _link_aggregation_tlv(value: bytes) -> Pairs:
    """802.1 link aggregation; 802.3 subtype 3 (deprecated) has the same layout."""
    _exact(value, 5, "link aggregation")
    return [("switch_port_link_aggregation_enabled", bool(value[0] & 0x02)),
            ("switch_port_link_aggregation_support", bool(value[0] & 0x01)),
            ("switch_port_link_aggregation_id", int.from_bytes(value[1:], "big"))]


# -- IEEE 802.3 --------------------------------------------------------------------------

def _mac_phy_tlv(value: bytes) -> Pairs:
    _exact(value, 5, "MAC/PHY configuration")
    mau_type = _uint16(value[3:], "a MAU type")
    if mau_type >= len(MAU_TYPES):
        raise MalformedTlv(f"unknown MAU type {mau_type}")
    return [("switch_port_autonegotiation_enabled", bool(value[0] & 0x02)),
            ("switch_port_autonegotiation_support", bool(value[0] & 0x01)),
            ("switch_port_physical_capabilities",
             autonegotiation_capabilities(_uint16(value[1:], "capabilities"))),
            ("switch_port_mau_type", MAU_TYPES[mau_type])]


def _mtu_tlv(value: bytes) -> Pairs:
    return [("switch_port_mtu", _uint16(value, "a maximum frame size"))]


# -- dispatch tables ---------------------------------------------------------------------

#: Chassis ID subtype -> value format.
CHASSIS_ID_FORMATS: Mapping[int, Callable[[bytes], str]] = MappingProxyType({
    1: _text, 2: _text, 3: _text, 4: _mac, 5: _network_address, 6: _text, 7: _text})

#: Port ID subtype -> value format (6, agent circuit ID, is not decoded).
PORT_ID_FORMATS: Mapping[int, Callable[[bytes], str]] = MappingProxyType({
    1: _text, 2: _text, 3: _mac, 4: _network_address, 5: _text, 7: _text})

BASIC_DECODERS: Mapping[int, Decoder] = MappingProxyType({
    TLV_CHASSIS_ID: _chassis_id_tlv,
    TLV_PORT_ID: _port_id_tlv,
    TLV_PORT_DESCRIPTION: _text_tlv("switch_port_description"),
    TLV_SYSTEM_NAME: _text_tlv("switch_system_name"),
    TLV_SYSTEM_DESCRIPTION: _text_tlv("switch_system_description"),
    TLV_SYSTEM_CAPABILITIES: _capabilities_tlv,
    TLV_MANAGEMENT_ADDRESS: _management_address_tlv,
    TLV_ORG_SPECIFIC: _org_specific_tlv,
})

#: OUI -> organisationally specific subtype -> decoder.
ORG_DECODERS: Mapping[bytes, Mapping[int, Decoder]] = MappingProxyType({
    OUI_IEEE_802_1: MappingProxyType({
        1: _port_vlan_tlv, 2: _protocol_vlan_tlv, 3: _vlan_name_tlv,
        4: _protocol_identity_tlv, 6: _management_vlan_tlv, 7: _link_aggregation_tlv}),
    OUI_IEEE_802_3: MappingProxyType({
        1: _mac_phy_tlv, 3: _link_aggregation_tlv, 4: _mtu_tlv}),
})
