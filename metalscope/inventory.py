"""Read-only accessors over ramdisk (IPA) data: inventory, interfaces, disks, MACs, BMC.

Spec sections 4.2, 5.3 and 6.

Interface cap. Every lookup MAC is one bound parameter of the lookup query, and PostgreSQL
takes at most 32767 in a statement (SQLite 32766, MySQL 65535): a callback listing more
made the database refuse the query (a 500). :func:`check_interface_count` refuses more than
``[processing]max_interfaces`` distinct lookup MACs (never more than
:data:`MAX_LOOKUP_MACS`, whatever the setting) with a lookup failure (400), and the
``validate_interfaces`` hook refuses an inventory listing more interfaces than the setting.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from metalscope.errors import HookError, LookupFailed

_MAC_RE = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
_MAC_LONG_RE = re.compile(r"^([0-9a-fA-F]{2}:){19}[0-9a-fA-F]{2}$")

UNKNOWN_BMC_V4 = ("", "0.0.0.0")
UNKNOWN_BMC_V6 = ("", "::/0")

#: The most lookup MACs ever bound in one query, below every database's parameter limit.
MAX_LOOKUP_MACS = 30000


def is_valid_mac(value: Any) -> bool:
    """True for a 6-byte MAC (colon or dash separated) or a 20-byte InfiniBand address."""
    return isinstance(value, str) and bool(_MAC_RE.match(value) or _MAC_LONG_RE.match(value))


def get_inventory(data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data['inventory']`` after the common checks every hook makes (spec 5.3)."""
    inventory = data.get("inventory")
    if not inventory or not isinstance(inventory, dict):
        raise HookError("Hardware inventory is empty or missing")
    if not inventory.get("interfaces") or not isinstance(inventory["interfaces"], list):
        raise HookError("No network interfaces provided in the inventory")
    if not all(isinstance(nic, dict) for nic in inventory["interfaces"]):
        raise HookError("Malformed inventory: every interface must be an object")
    if not inventory.get("disks"):
        inventory["disks"] = []
    if not isinstance(inventory["disks"], list) or not all(
            isinstance(disk, dict) for disk in inventory["disks"]):
        raise HookError("Malformed inventory: disks must be a list of objects")
    return inventory


def section(inventory: dict[str, Any], key: str) -> dict[str, Any]:
    """An object-valued inventory section (``cpu``, ``boot``...): {} when not reported,
    HookError when it is something else than an object."""
    value = inventory.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HookError(f"Malformed inventory: {key} must be an object, got "
                        f"{type(value).__name__}")
    return value


def pxe_mac(data: dict[str, Any]) -> str | None:
    """The MAC of the NIC that PXE-booted, lower-cased; PXELINUX ``01-aa-bb-..`` form accepted."""
    value = data.get("boot_interface")
    if not value or not isinstance(value, str):
        return None
    if "-" in value:
        value = value.split("-", 1)[1].replace("-", ":")
    # Upstream does not lower-case the colon form (quirk Q-HOOK-1); we do.
    return value.lower()


def _bmc(data: dict[str, Any], key: str, legacy_key: str, unknown: tuple[str, ...]) -> str | None:
    """The inventory's value, else the legacy top-level one; "unknown" spellings mean None."""
    inventory = data.get("inventory")
    source = inventory if isinstance(inventory, dict) and key in inventory else data
    value = source.get(key if source is inventory else legacy_key)
    return None if not isinstance(value, str) or value in unknown else value


def bmc_v4(data: dict[str, Any]) -> str | None:
    return _bmc(data, "bmc_address", "ipmi_address", UNKNOWN_BMC_V4)


def bmc_v6(data: dict[str, Any]) -> str | None:
    return _bmc(data, "bmc_v6address", "ipmi_v6address", UNKNOWN_BMC_V6)


def bmc_addresses(data: dict[str, Any]) -> list[str]:
    return [a for a in (bmc_v4(data), bmc_v6(data)) if a]


def lookup_macs(data: dict[str, Any]) -> list[str]:
    """MACs used for lookup, each once: every interface of ``all_interfaces`` (built by
    validate_interfaces)."""
    all_interfaces = data.get("all_interfaces")
    if not isinstance(all_interfaces, dict):
        return []
    return list(dict.fromkeys(
        i["mac"] for i in all_interfaces.values() if isinstance(i, dict) and i.get("mac")))


def interface_limit_message(count: int, limit: int) -> str:
    return (f"The ramdisk reported {count} network interfaces, more than the {limit} "
            "accepted ([processing]max_interfaces)")


class TooManyInterfaces(LookupFailed):
    """The data carries more lookup MACs than may be looked up."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(interface_limit_message(count, limit))
        self.count = count
        self.limit = limit


def check_interface_count(data: dict[str, Any], limit: int) -> None:
    """Raise TooManyInterfaces when ``data`` has more distinct lookup MACs than ``limit``
    (``[processing]max_interfaces``, capped at :data:`MAX_LOOKUP_MACS`)."""
    limit = min(limit, MAX_LOOKUP_MACS)
    count = len(lookup_macs(data))
    if count > limit:
        raise TooManyInterfaces(count, limit)


def interface_ip(iface: dict[str, Any]) -> str | None:
    if iface.get("ipv4_address"):
        return str(iface["ipv4_address"])
    if iface.get("ipv6_address"):
        return str(iface["ipv6_address"]).split("%", 1)[0]
    return None


def is_loopback(ip: str | None) -> bool:
    """Whether ``ip`` (an address, possibly with a prefix length) is a valid loopback
    address. Without a colon it can only be IPv4, loopback only under 127/8: most
    addresses are answered without parsing them (once per interface per callback)."""
    if not ip or (":" not in ip and not ip.startswith("127.")):
        return False
    try:
        return ipaddress.ip_address(ip.split("/", 1)[0]).is_loopback
    except ValueError:
        return False
