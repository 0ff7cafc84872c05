"""Components that come in numbers: DIMMs, disks, NICs, PCI devices and accelerators.

Each function returns ``{identity: attributes}`` or None when the data lacks the section it
reads. Identities are stable across boots: serial numbers, WWNs and MACs, never positions in a
list; an identity seen twice in one inventory gets a ``#2`` suffix so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metalscope import lldp
from metalscope.hardware.values import (
    dig,
    dmi_size_mb,
    dmi_speed,
    flag,
    integer,
    mac,
    text,
)

Components = dict[str, dict[str, Any]]

#: PCI class prefixes of accelerators: 3D controllers (most compute GPUs), processing
#: accelerators and co-processors.
ACCELERATOR_CLASSES = ("0302", "1200", "0b40")

#: The ``lldp_processed`` names that say where a NIC is cabled.
LLDP_FIELDS = ("switch_chassis_id", "switch_system_name", "switch_port_id")


def _add(components: Components, identity: str, attributes: dict[str, Any]) -> None:
    key, number = identity, 1
    while key in components:
        number += 1
        key = f"{identity}#{number}"
    components[key] = attributes


def _items(value: Any) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) \
        else []


def dimms(data: Mapping[str, Any]) -> Components | None:
    """Installed DIMMs from IPA's dmidecode collector (``dmi.memory.devices``)."""
    devices = dig(data, "dmi", "memory", "devices")
    if not isinstance(devices, list):
        return None
    components: Components = {}
    for device in _items(devices):
        size = dmi_size_mb(device.get("Size"))
        if size is None:
            continue  # an empty slot
        _add(components, dimm_identity(device), {
            "locator": text(device.get("Locator")),
            "bank": text(device.get("Bank Locator")),
            "size_mb": size,
            "type": text(device.get("Type")),
            "speed": dmi_speed(device.get("Speed")),
            "part_number": text(device.get("Part Number")),
            "manufacturer": text(device.get("Manufacturer")),
        })
    return components


def dimm_identity(device: Mapping[str, Any]) -> str:
    """``serial:<serial number>``, else ``locator:<bank>/<locator>`` (or the locator alone)."""
    serial = text(device.get("Serial Number"))
    if serial is not None:
        return f"serial:{serial}"
    locator = text(device.get("Locator")) or "?"
    bank = text(device.get("Bank Locator"))
    return f"locator:{bank}/{locator}" if bank else f"locator:{locator}"


def disks(inventory: Mapping[str, Any]) -> Components | None:
    """Block devices of ``inventory.disks``."""
    listed = inventory.get("disks")
    if not isinstance(listed, list):
        return None
    components: Components = {}
    for disk in _items(listed):
        _add(components, disk_identity(disk), {
            "name": text(disk.get("name")),
            "serial": text(disk.get("serial")),
            "size_bytes": integer(disk.get("size")),
            "model": text(disk.get("model")),
            "vendor": text(disk.get("vendor")),
            "rotational": flag(disk.get("rotational")),
        })
    return components


def disk_identity(disk: Mapping[str, Any]) -> str:
    """``serial:``, else ``wwn:``, else ``path:`` (by-path), else ``name:``."""
    for prefix, key in (("serial", "serial"), ("wwn", "wwn"), ("path", "by_path"),
                        ("name", "name")):
        value = text(disk.get(key))
        if value is not None:
            return f"{prefix}:{value}"
    return "name:?"


def nics(inventory: Mapping[str, Any], data: Mapping[str, Any], *,
         neighbours: bool = True) -> Components | None:
    """Network interfaces of ``inventory.interfaces``, by MAC, with their LLDP neighbour
    (unless ``neighbours`` is False)."""
    listed = inventory.get("interfaces")
    if not isinstance(listed, list):
        return None
    components: Components = {}
    for iface in _items(listed):
        address = mac(iface.get("mac_address"))
        if address is None:
            continue
        name = text(iface.get("name"))
        speed = integer(iface.get("speed_mbps"))
        _add(components, address, {
            "name": name,
            "vendor": text(iface.get("vendor")),
            "product": text(iface.get("product")),
            "driver": text(iface.get("driver")),
            "firmware": text(dig(data, "extra", "network", name or "", "firmware")),
            "speed_mbps": speed if speed and speed > 0 else None,
            **(neighbour(data, iface) if neighbours else {}),
        })
    return components


def neighbour(data: Mapping[str, Any], iface: Mapping[str, Any]) -> dict[str, Any]:
    """The switch a NIC is cabled to: ``lldp_processed``, else the raw TLVs decoded."""
    name = iface.get("name")
    name = name if isinstance(name, str) else None
    processed = dig(data, "all_interfaces", name or "", "lldp_processed")
    if not isinstance(processed, Mapping) or not processed:
        tlvs = lldp.interface_tlvs(dict(data), {"name": name, "lldp": iface.get("lldp")})
        processed = lldp.parse_tlvs(tlvs) if tlvs else {}
    return {field: text(processed.get(field)) for field in LLDP_FIELDS}


def pci(data: Mapping[str, Any]) -> Components | None:
    """Devices of ``pci_devices`` (IPA's pci-devices collector), as ``vendor:product@bus``."""
    listed = data.get("pci_devices")
    if not isinstance(listed, list):
        return None
    components: Components = {}
    for device in _items(listed):
        attributes = pci_attributes(device)
        _add(components, pci_identity(attributes), attributes)
    return components


def pci_attributes(device: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of one PCI device, hexadecimal ids in lower case without ``0x``."""
    return {
        "vendor_id": _hex(device.get("vendor_id")),
        "product_id": _hex(device.get("product_id") or device.get("device_id")),
        "class": _hex(device.get("class")),
        "revision": _hex(device.get("revision")),
        "bus": text(device.get("bus")),
    }


def pci_identity(attributes: Mapping[str, Any]) -> str:
    vendor = attributes.get("vendor_id") or "?"
    product = attributes.get("product_id") or "?"
    return f"{vendor}:{product}@{attributes.get('bus') or '?'}"


def _hex(value: Any) -> str | None:
    result = text(value)
    return result.lower().removeprefix("0x") if result else None


def accelerators(data: Mapping[str, Any]) -> Components | None:
    """Accelerator devices: PCI devices of an accelerator class, and any device an
    ``accelerators`` list in the data names (vendor_id/device_id)."""
    devices = pci(data)
    named = _items(data.get("accelerators"))
    if devices is None and not named:
        return None
    known = {(_hex(item.get("vendor_id")), _hex(item.get("device_id") or item.get("product_id")))
             for item in named}
    components: Components = {}
    seen: set[tuple[str | None, str | None]] = set()
    for identity, attributes in (devices or {}).items():
        pair = (attributes["vendor_id"], attributes["product_id"])
        if pair in known or (attributes["class"] or "").startswith(ACCELERATOR_CLASSES):
            components[identity] = attributes
            seen.add(pair)
    for vendor, product in sorted(known - seen, key=str):  # named, though no PCI list shows it
        attributes = {"vendor_id": vendor, "product_id": product, "class": None,
                      "revision": None, "bus": None}
        _add(components, pci_identity(attributes), attributes)
    return components
