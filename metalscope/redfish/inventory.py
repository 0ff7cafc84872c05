"""Redfish documents mapped to the data a ramdisk posts (spec 6), pure.

The result has the keys the processing hooks, the rules, the hardware history and the fleet
summary read: ``inventory`` (``interfaces``, ``cpu``, ``memory``, ``disks``,
``system_vendor``, ``boot``, ``bmc_address``/``bmc_v6address``, ``hostname``), ``root_disk``
(IPA's own rule: the smallest disk of at least 4 GiB), ``pci_devices`` (the pci-devices
collector's shape), ``dmi`` (the DIMMs and firmware revisions in dmidecode's labels, as the
dmi-decode collector posts them), plus ``inspection_method: "redfish"``, ``redfish`` (what
has no ramdisk equivalent: controllers, drives' media type and protocol, link state, PCIe
devices, BMC firmware, the system path) and ``redfish_missing`` (the resources the BMC did
not provide).

Nothing is invented: a value the BMC does not give leaves its key out (Redfish knows neither
CPU flags, nor usable memory, nor kernel device names), and a section with nothing known is
left out as a whole.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from metalscope.redfish.reader import Documents, Json

GIB = 1 << 30
MIB = 1 << 20
#: IPA's default minimum size of a root disk.
MIN_ROOT_DISK = 4 * GIB

#: Redfish ``InstructionSet``, then ``ProcessorArchitecture``, to the kernel's machine name.
ARCHITECTURES = {"x86-64": "x86_64", "x86": "x86_64", "IA-64": "ia64", "ARM-A64": "aarch64",
                 "ARM-A32": "armv7l", "MIPS64": "mips64", "MIPS32": "mips"}
BOOT_MODES = {"UEFI": "uefi", "Legacy": "bios"}
#: Drive ``Protocol`` to the transport ``lsblk`` reports.
TRANSPORTS = {"SAS": "sas", "SATA": "sata", "NVMe": "nvme", "USB": "usb", "FC": "fc",
              "iSCSI": "iscsi"}
#: Drive ``Identifiers`` formats that are WWNs.
WWN_FORMATS = ("NAA", "EUI")


def ramdisk_data(documents: Documents, *, bmc_host: str | None = None) -> dict[str, Any]:
    """The introspection data for the documents one collection read."""
    system = documents.system
    disks = _disks(documents)
    inventory = _present({
        "cpu": _cpu(system, documents.processors),
        "memory": _memory(system, documents.memory),
        "system_vendor": _system_vendor(system),
        "boot": _boot(system, documents.bios),
        "hostname": _text(system.get("HostName")),
        **_bmc_addresses(bmc_host),
    })
    # A list read from the BMC stays, even empty ("none there"); unread, it is absent.
    if documents.ethernet is not None:
        inventory["interfaces"] = [_interface(d) for d in documents.ethernet if _mac(d)]
    if documents.storage is not None or documents.simple_storage is not None:
        inventory["disks"] = disks
    return _present({
        "inventory": inventory,
        "root_disk": _root_disk(disks),
        "pci_devices": _pci_devices(documents.pcie),
        "dmi": _dmi(system, documents.memory, documents.manager),
        "inspection_method": "redfish",
        "redfish": _redfish_section(documents),
        "redfish_missing": list(documents.missing),
    }, keep=("redfish_missing",))


# -- helpers --------------------------------------------------------------------------------

def _present(values: dict[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    """The entries with a value (None and empty containers dropped, except ``keep``)."""
    kept = set(keep)
    return {k: v for k, v in values.items()
            if k in kept or not (v is None or (isinstance(v, dict | list) and not v))}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    result = str(value).strip()
    return result or None


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(str(value), 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return None


def _object(document: Json, key: str) -> Json:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _state(document: Json) -> str | None:
    status = document.get("Status")
    return _text(status.get("State")) if isinstance(status, dict) else None


def _installed(documents: Iterable[Json]) -> list[Json]:
    return [d for d in documents if _state(d) != "Absent"]


def _hex(value: Any) -> str | None:
    text = _text(value)
    return text.lower().removeprefix("0x") if text else None


# -- inventory ------------------------------------------------------------------------------

def _mac(document: Json) -> str | None:
    value = _text(document.get("MACAddress")) or _text(document.get("PermanentMACAddress"))
    return value.lower() if value and value != "00:00:00:00:00:00" else None


def _first_address(document: Json, key: str, unknown: tuple[str, ...]) -> str | None:
    for entry in document.get(key) or []:
        address = _text(entry.get("Address")) if isinstance(entry, dict) else None
        if address and address not in unknown:
            return address
    return None


def _interface(document: Json) -> Json:
    link = _text(document.get("LinkStatus"))
    return _present({
        "name": _text(document.get("Id")) or _text(document.get("Name")),
        "mac_address": _mac(document),
        "ipv4_address": _first_address(document, "IPv4Addresses", ("0.0.0.0",)),
        "ipv6_address": _first_address(document, "IPv6Addresses", ("::",)),
        "has_carrier": {"LinkUp": True, "LinkDown": False, "NoLink": False}.get(link or ""),
        "speed_mbps": _number(document.get("SpeedMbps")),
    })


def _cpus(processors: list[Json] | None) -> list[Json]:
    return [p for p in _installed(processors or [])
            if _text(p.get("ProcessorType")) in (None, "CPU")]


def _cpu(system: Json, processors: list[Json] | None) -> Json | None:
    cpus = _cpus(processors)
    summary = _object(system, "ProcessorSummary")
    threads = [_number(p.get("TotalThreads")) or _number(p.get("TotalCores")) for p in cpus]
    count = sum(t for t in threads if t) if cpus and all(threads) else \
        _number(summary.get("LogicalProcessorCount"))
    first = cpus[0] if cpus else {}
    speed = _number(first.get("MaxSpeedMHz"))
    return _present({
        "model_name": _text(first.get("Model")) or _text(summary.get("Model")),
        "count": count,
        "architecture": _architecture(first),
        "frequency": str(speed) if speed else None,
        "socket_count": len(cpus) or _number(summary.get("Count")),
    }) or None


def _architecture(processor: Json) -> str | None:
    for key in ("InstructionSet", "ProcessorArchitecture"):
        name = ARCHITECTURES.get(_text(processor.get(key)) or "")
        if name:
            return name
    return None


def _dimms(memory: list[Json] | None) -> list[Json]:
    return [m for m in _installed(memory or [])
            if _number(m.get("CapacityMiB")) and _text(m.get("MemoryType")) in (None, "DRAM")]


def _memory(system: Json, memory: list[Json] | None) -> Json | None:
    dimms = _dimms(memory)
    if dimms:
        return {"physical_mb": sum(_number(m.get("CapacityMiB")) or 0 for m in dimms)}
    summary = system.get("MemorySummary")
    size = summary.get("TotalSystemMemoryGiB") if isinstance(summary, dict) else None
    if isinstance(size, int | float) and not isinstance(size, bool) and size > 0:
        return {"physical_mb": round(size * 1024)}
    return None


def _drive_documents(documents: Documents) -> list[Json]:
    if documents.storage is not None:
        return [d for s in documents.storage for d in _installed(s.get("drives") or [])]
    return [d for s in documents.simple_storage or []
            for d in _installed(s.get("Devices") or []) if isinstance(d, dict)]


def _disks(documents: Documents) -> list[Json]:
    return [_disk(d) for d in _drive_documents(documents)]


def _disk(drive: Json) -> Json:
    media = _text(drive.get("MediaType"))
    return _present({
        "name": _text(drive.get("Name")) or _text(drive.get("Id")),
        "model": _text(drive.get("Model")),
        "size": _number(drive.get("CapacityBytes")),
        "rotational": {"HDD": True, "SSD": False, "SMR": True}.get(media or ""),
        "serial": _text(drive.get("SerialNumber")),
        "vendor": _text(drive.get("Manufacturer")),
        "wwn": _wwn(drive),
        "tran": TRANSPORTS.get(_text(drive.get("Protocol")) or ""),
        "logical_sectors": _number(drive.get("BlockSizeBytes")),
    })


def _wwn(drive: Json) -> str | None:
    for identifier in drive.get("Identifiers") or []:
        if isinstance(identifier, dict) and identifier.get("DurableNameFormat") in WWN_FORMATS:
            name = _text(identifier.get("DurableName"))
            if name:
                return "0x" + name.lower().replace(":", "").removeprefix("0x")
    return None


def _root_disk(disks: list[Json]) -> Json | None:
    sized = [d for d in disks if (d.get("size") or 0) >= MIN_ROOT_DISK]
    return min(sized, key=lambda d: d["size"]) if sized else None


def _system_vendor(system: Json) -> Json | None:
    uuid = _text(system.get("UUID"))
    return _present({
        "manufacturer": _text(system.get("Manufacturer")),
        "product_name": _text(system.get("Model")),
        "serial_number": _text(system.get("SerialNumber")),
        "system_uuid": uuid.lower() if uuid else None,
        "firmware": _present({"version": _text(system.get("BiosVersion"))}),
    }) or None


def _boot(system: Json, bios: Json | None) -> Json | None:
    boot = _object(system, "Boot")
    mode = BOOT_MODES.get(_text(boot.get("BootSourceOverrideMode")) or "")
    if mode is None and bios is not None:
        attributes = _object(bios, "Attributes")
        mode = {"uefi": "uefi", "bios": "bios", "legacy": "bios"}.get(
            (_text(attributes.get("BootMode")) or "").lower())
    return {"current_boot_mode": mode} if mode else None


def _bmc_addresses(host: str | None) -> Json:
    try:
        address = ipaddress.ip_address((host or "").strip("[]"))
    except ValueError:
        return {}
    return {"bmc_address" if address.version == 4 else "bmc_v6address": str(address)}


# -- PCI, DMI -------------------------------------------------------------------------------

def _bus(function: Json) -> str | None:
    numbers = [_number(function.get(key)) for key in
               ("SegmentNumber", "BusNumber", "DeviceNumber", "FunctionNumber")]
    segment, bus, device, number = numbers
    if bus is None or device is None or number is None:
        return None
    return f"{segment or 0:04x}:{bus:02x}:{device:02x}.{number:x}"


def _pci_devices(pcie: list[Json] | None) -> list[Json] | None:
    if pcie is None:
        return None
    return [_present({
        "vendor_id": _hex(function.get("VendorId")),
        "product_id": _hex(function.get("DeviceId")),
        "class": _hex(function.get("ClassCode")),
        "revision": _hex(function.get("RevisionId")),
        "bus": _bus(function),
    }) for entry in pcie for function in entry.get("functions") or []
        if _hex(function.get("VendorId"))]


def _dimm(module: Json) -> Json:
    speed = _number(module.get("OperatingSpeedMhz"))
    return _present({
        "Locator": _text(module.get("DeviceLocator")) or _text(module.get("Name"))
        or _text(module.get("Id")),
        "Size": f"{_number(module.get('CapacityMiB'))} MB",
        "Type": _text(module.get("MemoryDeviceType")),
        "Speed": f"{speed} MT/s" if speed else None,
        "Manufacturer": _text(module.get("Manufacturer")),
        "Serial Number": _text(module.get("SerialNumber")),
        "Part Number": _text(module.get("PartNumber")),
    })


def _dmi(system: Json, memory: list[Json] | None, manager: Json | None) -> Json | None:
    bios = _present({"Version": _text(system.get("BiosVersion")),
                     "Firmware Revision": _text((manager or {}).get("FirmwareVersion"))})
    dimms = [_dimm(m) for m in _dimms(memory)]
    return _present({
        "bios": bios,
        "memory": {"devices": dimms, "Number Of Devices": len(dimms)} if dimms else None,
    }) or None


# -- what has no ramdisk equivalent ---------------------------------------------------------

def _redfish_section(documents: Documents) -> Json:
    system, manager = documents.system, documents.manager or {}
    return _present({
        "system_id": documents.system_path,
        "system": _present({"name": _text(system.get("Name")), "sku": _text(system.get("SKU")),
                            "part_number": _text(system.get("PartNumber")),
                            "bios_version": _text(system.get("BiosVersion"))}),
        "bmc": _present({"firmware_version": _text(manager.get("FirmwareVersion")),
                         "model": _text(manager.get("Model"))}),
        "storage_controllers": [_controller(s, c) for s in documents.storage or []
                                for c in s.get("controllers") or []],
        "drives": [_drive_facts(s, d) for s in documents.storage or []
                   for d in _installed(s.get("drives") or [])],
        "interfaces": [_link_facts(d) for d in documents.ethernet or []],
        "pcie_devices": [_pcie_facts(entry) for entry in documents.pcie or []],
        "unavailable": dict(documents.unavailable),
    })


def _storage_id(storage: Json) -> str | None:
    document = storage.get("storage")
    return _text(document.get("Id")) if isinstance(document, dict) else None


def _controller(storage: Json, controller: Json) -> Json:
    return _present({
        "storage": _storage_id(storage),
        "id": _text(controller.get("MemberId")) or _text(controller.get("Id")),
        "name": _text(controller.get("Name")),
        "manufacturer": _text(controller.get("Manufacturer")),
        "model": _text(controller.get("Model")),
        "serial_number": _text(controller.get("SerialNumber")),
        "firmware_version": _text(controller.get("FirmwareVersion")),
        "speed_gbps": controller.get("SpeedGbps"),
        "device_protocols": controller.get("SupportedDeviceProtocols"),
    })


def _drive_facts(storage: Json, drive: Json) -> Json:
    return _present({
        "storage": _storage_id(storage),
        "id": _text(drive.get("Id")),
        "serial_number": _text(drive.get("SerialNumber")),
        "media_type": _text(drive.get("MediaType")),
        "protocol": _text(drive.get("Protocol")),
        "capacity_bytes": _number(drive.get("CapacityBytes")),
        "rotation_speed_rpm": _number(drive.get("RotationSpeedRPM")),
        "health": _health(drive),
    })


def _health(document: Json) -> str | None:
    status = document.get("Status")
    return _text(status.get("Health")) if isinstance(status, dict) else None


def _link_facts(document: Json) -> Json:
    return _present({
        "id": _text(document.get("Id")),
        "mac_address": _mac(document),
        "link_status": _text(document.get("LinkStatus")),
        "speed_mbps": _number(document.get("SpeedMbps")),
        "state": _state(document),
    })


def _pcie_facts(entry: Json) -> Json:
    device = _object(entry, "device")
    return _present({
        "id": _text(device.get("Id")),
        "name": _text(device.get("Name")),
        "manufacturer": _text(device.get("Manufacturer")),
        "model": _text(device.get("Model")),
        "serial_number": _text(device.get("SerialNumber")),
        "firmware_version": _text(device.get("FirmwareVersion")),
        "device_type": _text(device.get("DeviceType")),
        "functions": len(entry.get("functions") or []),
    })
