"""A normalised view of processed introspection data: components keyed by stable identity.

:func:`build_view` reads the data a ramdisk posted (after the processing hooks) into one
mapping per category, ``{identity: {attribute: value}}``. Only attributes that describe the
hardware are read: addresses, link state, timestamps, logs and errors never are, so they can
never count as changes. A category whose source section is missing is ``None`` ("not
collected"), which the diff does not compare, rather than empty ("nothing there").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metalscope.hardware import devices
from metalscope.hardware.values import dig, integer, mapping, text

#: Components of one category: identity -> attributes (None values mean "unknown").
Components = dict[str, dict[str, Any]]

#: The categories, in the order of the document and the summary.
CATEGORIES = ("system", "firmware", "cpu", "memory", "disks", "nics", "pci", "accelerators",
              "boot")

#: The CPU flags that matter: the keys of ``[capabilities]cpu_flags``'s default.
DEFAULT_CPU_FLAGS = ("vmx", "svm", "aes", "pse", "pdpe1gb", "smx")

GIB = 1 << 30


@dataclass(frozen=True)
class HardwareView:
    """The components of every category (None: not collected) and the total memory."""

    categories: Mapping[str, Components | None]
    total_mb: int | None


def build_view(data: Mapping[str, Any], *,
               cpu_flags: Iterable[str] = DEFAULT_CPU_FLAGS,
               only: Collection[str] | None = None,
               neighbours: bool = True) -> HardwareView:
    """Normalise processed introspection data; never raises, whatever its shape.

    ``only`` names the categories to read (the others are left out of the view, as not
    collected); ``neighbours`` False leaves the NICs' LLDP neighbours out. A reader that needs
    a few facts (the fleet summary) does not pay for the whole view."""
    data = mapping(data)
    inventory = mapping(data.get("inventory"))
    builders: dict[str, Callable[[], Components | None]] = {
        "system": lambda: _system(inventory, data),
        "firmware": lambda: _firmware(inventory, data),
        "cpu": lambda: _cpu(inventory, frozenset(cpu_flags)),
        "memory": lambda: devices.dimms(data),
        "disks": lambda: devices.disks(inventory),
        "nics": lambda: devices.nics(inventory, data, neighbours=neighbours),
        "pci": lambda: devices.pci(data),
        "accelerators": lambda: devices.accelerators(data),
        "boot": lambda: _boot(inventory),
    }
    categories = {name: build() for name, build in builders.items()
                  if only is None or name in only}
    return HardwareView(categories, total_memory_mb(inventory))


def total_memory_mb(inventory: Mapping[str, Any]) -> int | None:
    """Installed memory in MiB: ``physical_mb``, else the usable ``total`` bytes rounded to
    the nearest GiB (usable memory moves by a few MiB with the kernel, which is no change)."""
    memory = mapping(inventory.get("memory"))
    physical = integer(memory.get("physical_mb"))
    if physical and physical > 0:
        return physical
    total = integer(memory.get("total"))
    if not total or total <= 0:
        return None
    return max(1, round(total / GIB)) * 1024


def _only(identity: str, attributes: dict[str, Any]) -> Components | None:
    if all(value is None for value in attributes.values()):
        return None
    return {identity: attributes}


def _system(inventory: Mapping[str, Any], data: Mapping[str, Any]) -> Components | None:
    vendor = mapping(inventory.get("system_vendor"))
    product = dig(data, "extra", "system", "product")
    return _only("system", {
        "vendor": text(vendor.get("manufacturer")) or text(dig(product, "vendor")),
        "product": text(vendor.get("product_name")) or text(dig(product, "name")),
        "serial": text(vendor.get("serial_number")) or text(dig(product, "serial")),
        "uuid": _uuid(vendor.get("system_uuid")) or _uuid(dig(product, "uuid")),
    })


def _uuid(value: Any) -> str | None:
    result = text(value)
    return result.lower() if result else None


def _firmware(inventory: Mapping[str, Any], data: Mapping[str, Any]) -> Components | None:
    # Both entries are always there (values unknown when not collected): a BMC version the
    # dmi section no longer reports is missing data, not removed firmware.
    firmware = mapping(dig(inventory, "system_vendor", "firmware"))
    bios = mapping(dig(data, "dmi", "bios"))
    extra_bios = mapping(dig(data, "extra", "firmware", "bios"))
    components: Components = {
        "bios": {
            "vendor": text(firmware.get("vendor")) or text(bios.get("Vendor"))
            or text(extra_bios.get("vendor")),
            "version": text(firmware.get("version")) or text(bios.get("Version"))
            or text(extra_bios.get("version")),
            "build_date": text(firmware.get("build_date")) or text(bios.get("Release Date"))
            or text(extra_bios.get("date")),
            "revision": text(bios.get("BIOS Revision")),
        },
        "bmc": {"version": text(bios.get("Firmware Revision"))
                or text(dig(data, "extra", "ipmi", "bmc", "version"))},
    }
    known = any(value is not None for entry in components.values() for value in entry.values())
    return components if known else None


def _cpu(inventory: Mapping[str, Any], wanted: frozenset[str]) -> Components | None:
    cpu = inventory.get("cpu")
    if not isinstance(cpu, Mapping):
        return None
    flags = cpu.get("flags")
    if not isinstance(flags, list):
        present = None
    else:  # no flag wanted: nothing to look for among the (often hundred) flags
        present = sorted(wanted.intersection(str(f) for f in flags)) if wanted else []
    return _only("cpu", {
        "model": text(cpu.get("model_name")),
        "count": integer(cpu.get("count")),
        "sockets": integer(cpu.get("socket_count")),
        "architecture": text(cpu.get("architecture")),
        "frequency_mhz": integer(cpu.get("frequency")),
        "flags": present,
    })


def _boot(inventory: Mapping[str, Any]) -> Components | None:
    boot = inventory.get("boot")
    if not isinstance(boot, Mapping):
        return None
    return _only("boot", {
        "current_boot_mode": text(boot.get("current_boot_mode")),
        "pxe_interface": _bootif_mac(boot.get("pxe_interface")),
    })


def _bootif_mac(value: Any) -> str | None:
    # IPA copies the BOOTIF kernel parameter: "01-aa-bb-cc-dd-ee-ff" (or a bare MAC).
    result = text(value)
    if result is None:
        return None
    result = result.lower().replace("-", ":")
    return result[3:] if len(result) == 20 and result.startswith("01:") else result
