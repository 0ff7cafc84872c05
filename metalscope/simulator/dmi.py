"""Simulated DIMMs and the ``dmi`` section IPA's ``dmi-decode`` collector posts.

IPA runs ``dmidecode -t bios -t processor -t memory`` and posts what
``ironic_python_agent.dmi_inspector.parse_dmi`` makes of it: ``{"bios": {...}, "cpu":
[{...}, ...], "memory": {<the memory array>, "Number Of Devices": n, "devices": [...]}}``,
every value a dmidecode string (or a list of strings for multi-line fields), keyed by
dmidecode's own labels. Empty DIMM slots are listed with ``"Size": "No Module Installed"``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metalscope.simulator.inventory import SimulatedNode

SLOTS_PER_SOCKET = 16


@dataclass(frozen=True)
class SimulatedDimm:
    """One installed memory module (a dmidecode type 17 record)."""

    locator: str
    bank_locator: str | None
    size_mb: int
    memory_type: str
    speed: int | None  # MT/s; None: unknown (virtual machines)
    manufacturer: str
    serial: str | None
    part_number: str | None
    rank: int | None = 2


@dataclass(frozen=True)
class _DimmPart:
    manufacturer: str
    size_mb: int
    part_number: str
    serial: str  # pattern: "%" hex digit


_PARTS = (
    _DimmPart("Samsung", 16384, "M393A2K43DB3-CWE", "%%%%%%%%"),
    _DimmPart("Samsung", 32768, "M393A4K40DB3-CWE", "%%%%%%%%"),
    _DimmPart("Samsung", 65536, "M393A8G40BB4-CWE", "%%%%%%%%"),
    _DimmPart("SK Hynix", 16384, "HMA82GR7CJR8N-XN", "%%%%%%%%"),
    _DimmPart("SK Hynix", 32768, "HMA84GR7CJR4N-XN", "%%%%%%%%"),
    _DimmPart("SK Hynix", 65536, "HMAA8GR7CJR4N-XN", "%%%%%%%%"),
    _DimmPart("Micron", 16384, "18ASF2G72PDZ-3G2E1", "%%%%%%%%"),
    _DimmPart("Micron", 32768, "36ASF4G72PZ-3G2J3", "%%%%%%%%"),
    _DimmPart("Micron", 65536, "36ASF8G72PZ-3G2E1", "%%%%%%%%"),
)
_SIZES = (16384, 32768, 65536)


def build_dimms(rng: random.Random, *, vendor: str, sockets: int, memory_mb: int,
                virtual: bool, speed: int) -> tuple[SimulatedDimm, ...]:
    """The modules adding up to ``memory_mb``: one part number per machine, spread evenly
    over the sockets' first slots; a virtual machine has QEMU's single anonymous DIMM."""
    if virtual:
        return (SimulatedDimm("DIMM 0", None, memory_mb, "RAM", None, "QEMU", None, None,
                              None),)
    options = [size for size in _SIZES if memory_mb % (size * sockets) == 0
               and memory_mb // size <= SLOTS_PER_SOCKET * sockets]
    populated = [size for size in options if memory_mb // size // sockets >= 4]
    size = rng.choice(populated or options) if options else _SIZES[0]
    part = rng.choice([p for p in _PARTS if p.size_mb == size])
    per_socket = max(1, memory_mb // size // sockets)
    return tuple(
        SimulatedDimm(slot_locator(vendor, socket, slot), bank_locator(vendor, socket, slot),
                      size, "DDR4", speed, part.manufacturer, _hex(rng, part.serial),
                      part.part_number)
        for socket in range(sockets) for slot in range(per_socket))


def _hex(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice("0123456789ABCDEF") if c == "%" else c for c in pattern)


def slot_locator(vendor: str, socket: int, slot: int) -> str:
    """The silkscreen name of a slot, in the vendor's style."""
    if vendor.startswith("Dell"):
        return f"{'AB'[socket % 2]}{slot + 1}"
    if vendor == "HPE":
        return f"PROC {socket + 1} DIMM {slot + 1}"
    if vendor == "Supermicro":
        return f"P{socket + 1}-DIMM{'ABCDEFGH'[slot // 2]}{slot % 2 + 1}"
    return f"DIMM {socket * SLOTS_PER_SOCKET + slot + 1}"


def bank_locator(vendor: str, socket: int, slot: int) -> str | None:
    if vendor == "Supermicro":
        return f"P{socket}_Node{socket}_Channel{slot // 2}_Dimm{slot % 2}"
    return None


def dmi_section(node: SimulatedNode) -> dict[str, Any]:
    """What ``parse_dmi`` returns for ``node``'s dmidecode output."""
    return {"bios": _bios(node), "cpu": _processors(node), "memory": _memory(node)}


def _handle(number: int, dmi_type: int, size: int) -> str:
    return f"Handle 0x{number:04X}, DMI type {dmi_type}, {size} bytes"


def bios_revision(version: str) -> str | None:
    """SMBIOS's "BIOS Revision" (major.minor) when the version string starts with one."""
    parts = version.split(".")
    if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return f"{int(parts[0])}.{int(parts[1])}"
    return None


def _bios(node: SimulatedNode) -> dict[str, Any]:
    bios: dict[str, Any] = {
        "Handle": _handle(0, 0, 26), "Vendor": node.firmware_vendor,
        "Version": node.firmware_version, "Release Date": node.firmware_date,
        "Address": "0xF0000", "Runtime Size": "64 kB",
        "ROM Size": "64 kB" if node.virtual else "32 MB",
        "Characteristics": ["PCI is supported", "BIOS is upgradeable",
                            "BIOS shadowing is allowed", "Boot from CD is supported",
                            "Selectable boot is supported", "ACPI is supported",
                            "Targeted content distribution is supported",
                            "UEFI is supported" if node.boot_mode == "uefi"
                            else "BIOS boot specification is supported"],
    }
    revision = bios_revision(node.firmware_version)
    if revision is not None:
        bios["BIOS Revision"] = revision
    if node.bmc_firmware is not None:
        bios["Firmware Revision"] = node.bmc_firmware
    return bios


def _processors(node: SimulatedNode) -> list[dict[str, Any]]:
    sockets = max(1, min(node.cpu.socket_count, 8))
    threads = max(1, node.cpu.count // sockets)
    manufacturer = ("QEMU" if node.virtual else "AMD" if "AMD" in node.cpu.model_name
                    else "Ampere(R)" if node.architecture == "aarch64" else "Intel(R) Corporation")
    return [{
        "Handle": _handle(0x0400 + number, 4, 48),
        "Socket Designation": f"CPU {number}" if node.virtual else f"CPU{number + 1}",
        "Type": "Central Processor", "Manufacturer": manufacturer,
        "Version": node.cpu.model_name, "Status": "Populated, Enabled",
        "Core Count": str(threads if node.virtual else max(1, threads // 2)),
        "Thread Count": str(threads),
        "Max Speed": f"{int(float(node.cpu.frequency or 2000))} MHz",
    } for number in range(sockets)]


def _memory(node: SimulatedNode) -> dict[str, Any]:
    slots = _slots(node)
    return {
        "Location": "Other" if node.virtual else "System Board Or Motherboard",
        "Use": "System Memory",
        "Error Correction Type": "Multi-bit ECC",
        "Maximum Capacity": f"{max(node.memory_mb, 1024) // 1024} GB" if node.virtual
        else "4 TB",
        "Error Information Handle": "Not Provided",
        "Number Of Devices": len(slots),
        "devices": [_device(number, locator, dimm) for number, (locator, dimm)
                    in enumerate(slots)],
    }


def _slots(node: SimulatedNode) -> list[tuple[str, SimulatedDimm | None]]:
    if node.virtual:
        return [(dimm.locator, dimm) for dimm in node.dimms]
    by_locator = {dimm.locator: dimm for dimm in node.dimms}
    sockets = max(1, node.cpu.socket_count)
    names = [slot_locator(node.vendor, socket, slot) for socket in range(sockets)
             for slot in range(SLOTS_PER_SOCKET)]
    names += [name for name in by_locator if name not in names]
    return [(name, by_locator.get(name)) for name in names]


def _device(number: int, locator: str, dimm: SimulatedDimm | None) -> dict[str, Any]:
    device: dict[str, Any] = {
        "Handle": _handle(0x1100 + number, 17, 84), "Array Handle": "0x1000",
        "Error Information Handle": "Not Provided", "Total Width": "72 bits",
        "Data Width": "64 bits", "Size": "No Module Installed", "Form Factor": "DIMM",
        "Locator": locator, "Bank Locator": "Not Specified", "Type": "Unknown",
    }
    if dimm is None:
        return device
    device.update({
        "Size": dmi_size(dimm.size_mb), "Bank Locator": dimm.bank_locator or "Not Specified",
        "Type": dimm.memory_type,
        "Type Detail": "Other" if dimm.speed is None else "Synchronous Registered (Buffered)",
        "Speed": f"{dimm.speed} MT/s" if dimm.speed else "Unknown",
        "Manufacturer": dimm.manufacturer, "Serial Number": dimm.serial or "Not Specified",
        "Asset Tag": "Not Specified", "Part Number": dimm.part_number or "Not Specified",
        "Rank": str(dimm.rank) if dimm.rank else "Unknown",
        "Configured Memory Speed": f"{dimm.speed} MT/s" if dimm.speed else "Unknown",
    })
    return device


def dmi_size(size_mb: int) -> str:
    """dmidecode's way of writing a module size."""
    return f"{size_mb // 1024} GB" if size_mb % 1024 == 0 else f"{size_mb} MB"


def total_mb(dimms: Sequence[SimulatedDimm]) -> int:
    return sum(dimm.size_mb for dimm in dimms)


def dmidecode_text(node: SimulatedNode) -> str:
    """The ``dmidecode -t bios -t processor -t memory`` output :func:`dmi_section` stands for
    (IPA's ``parse_dmi`` turns it back into that section)."""
    section = dmi_section(node)
    memory = {key: value for key, value in section["memory"].items() if key != "devices"}
    blocks = [_block(section["bios"], "BIOS Information")]
    blocks += [_block(cpu, "Processor Information") for cpu in section["cpu"]]
    blocks.append(_block({"Handle": _handle(0x1000, 16, 23), **memory},
                         "Physical Memory Array"))
    blocks += [_block(device, "Memory Device") for device in section["memory"]["devices"]]
    return "# dmidecode 3.4\nGetting SMBIOS data from sysfs.\nSMBIOS 3.3.0 present.\n\n" \
        + "\n\n".join(blocks) + "\n\n"


def _block(rows: dict[str, Any], title: str) -> str:
    lines = [str(rows["Handle"]), title]
    for key, value in rows.items():
        if key == "Handle":
            continue
        if isinstance(value, list):
            lines.append(f"\t{key}:")
            lines += [f"\t\t{item}" for item in value]
        else:
            lines.append(f"\t{key}: {value}")
    return "\n".join(lines)
