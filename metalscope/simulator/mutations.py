"""Hardware changes on a simulated machine, as a technician would make them.

Each function returns a new :class:`SimulatedNode` (the original is frozen and unchanged);
what :func:`ramdisk_data` renders for it then shows the change everywhere IPA would: a
removed DIMM lowers ``inventory.memory`` and empties its slot in ``dmi``, a replaced disk
has a new serial and WWN, a swapped NIC a new MAC. New serial numbers and MACs are
deterministic (derived from the node and what is changed).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from metalscope.simulator.dmi import SimulatedDimm
from metalscope.simulator.inventory import (
    MIB,
    SimulatedNic,
    SimulatedNode,
    SimulatedPciDevice,
)

T = TypeVar("T")


def _rng(node: SimulatedNode, what: str) -> random.Random:
    return random.Random(f"metalscope-sim-change:{node.seed}:{node.index}:{what}")


def _find(items: Sequence[T], wanted: str | None, key: Callable[[T], str], what: str,
          owner: str) -> T:
    if wanted is None:
        return items[-1]
    found = [item for item in items if key(item) == wanted]
    if not found:
        raise ValueError(f"{owner} has no {what} {wanted!r}")
    return found[0]


def remove_dimm(node: SimulatedNode, locator: str | None = None) -> SimulatedNode:
    """Take out the DIMM in slot ``locator`` (by default the last one installed)."""
    if len(node.dimms) < 2:
        raise ValueError(f"{node.name} has no DIMM it can run without")
    dimm = _find(node.dimms, locator, lambda d: d.locator, "DIMM in slot", node.name)
    reserved = node.memory_mb * MIB - node.memory_total  # what firmware and kernel keep
    memory_mb = node.memory_mb - dimm.size_mb
    return dataclasses.replace(
        node, dimms=tuple(d for d in node.dimms if d is not dimm), memory_mb=memory_mb,
        memory_total=max(0, memory_mb * MIB - reserved))


def add_dimm(node: SimulatedNode, dimm: SimulatedDimm) -> SimulatedNode:
    """Install ``dimm``; its slot must be free."""
    if any(d.locator == dimm.locator for d in node.dimms):
        raise ValueError(f"slot {dimm.locator} of {node.name} is not free")
    return dataclasses.replace(node, dimms=(*node.dimms, dimm),
                               memory_mb=node.memory_mb + dimm.size_mb,
                               memory_total=node.memory_total + dimm.size_mb * MIB)


def replace_disk(node: SimulatedNode, name: str | None = None, *,
                 serial: str | None = None) -> SimulatedNode:
    """Swap disk ``name`` (by default the last) for a new one of the same model: a new serial
    (``serial`` or a generated one) and, when the old one had a WWN, a new WWN."""
    disk = _find(node.disks, name, lambda d: d.name, "disk", node.name)
    rng = _rng(node, f"disk:{disk.name}:{disk.serial}")
    new_serial = serial or _new_serial(rng, disk.serial)
    wwn = f"{disk.wwn[:-9]}{rng.getrandbits(36):09x}" if disk.wwn else None
    replacement = dataclasses.replace(disk, serial=new_serial, wwn=wwn)
    return dataclasses.replace(node, disks=tuple(replacement if d is disk else d
                                                 for d in node.disks))


def _new_serial(rng: random.Random, old: str | None) -> str:
    if not old:
        return f"SIM{rng.getrandbits(40):010X}"
    # Same length and character classes as the old serial.
    return "".join(rng.choice("0123456789") if c.isdigit()
                   else rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") if c.isupper()
                   else rng.choice("abcdef") if c.islower() else c for c in old)


def change_firmware(node: SimulatedNode, version: str | None = None, *,
                    build_date: str | None = None,
                    bmc_version: str | None = None) -> SimulatedNode:
    """Flash the BIOS to ``version`` (with ``build_date``) and/or the BMC to ``bmc_version``;
    with no argument at all, the BIOS gets a version that differs from the current one."""
    if version is None and bmc_version is None:
        version = f"{node.firmware_version}.1" if node.firmware_version else "1.0.1"
    return dataclasses.replace(
        node, firmware_version=node.firmware_version if version is None else version,
        firmware_date=build_date or node.firmware_date,
        bmc_firmware=node.bmc_firmware if bmc_version is None else bmc_version)


def swap_nic(node: SimulatedNode, name: str | None = None, *,
             mac: str | None = None) -> SimulatedNode:
    """Replace the card behind interface ``name`` (by default the last NIC that did not
    PXE boot) with one of the same model: a new MAC (``mac`` or a generated one) under the
    same name. The PXE NIC's MAC follows when that one is swapped."""
    others = [nic for nic in node.nics if nic.mac_address != node.pxe_mac] or list(node.nics)
    nic = _find(node.nics if name else others, name, lambda n: n.name, "NIC", node.name)
    new_mac = (mac or _flipped_mac(nic.mac_address)).lower()
    replacement = dataclasses.replace(nic, mac_address=new_mac)
    pxe_mac = new_mac if nic.mac_address == node.pxe_mac else node.pxe_mac
    return dataclasses.replace(node, nics=tuple(replacement if n is nic else n
                                                for n in node.nics), pxe_mac=pxe_mac)


def _flipped_mac(mac: str) -> str:
    # Generated MACs never set the top bit of their fourth byte before masking, so flipping
    # it gives a MAC no generated machine of the seed has.
    octets = mac.split(":")
    octets[3] = f"{int(octets[3], 16) ^ 0x80:02x}"
    return ":".join(octets)


def replace_nic(node: SimulatedNode, nic: SimulatedNic) -> SimulatedNode:
    """Put ``nic`` in place of the interface of the same name."""
    if not any(n.name == nic.name for n in node.nics):
        raise ValueError(f"{node.name} has no NIC {nic.name!r}")
    return dataclasses.replace(node, nics=tuple(nic if n.name == nic.name else n
                                                for n in node.nics))


def add_pci_device(node: SimulatedNode, vendor_id: str = "10de", product_id: str = "1eb8",
                   *, pci_class: str = "030200", revision: str = "a1",
                   bus: str | None = None) -> SimulatedNode:
    """Plug in a PCI device (an NVIDIA T4 by default) at ``bus`` or the first free bus."""
    taken = {device.bus for device in node.pci_devices}
    address = bus or next(f"0000:{number:02x}:00.0" for number in range(0x3b, 0x100)
                          if f"0000:{number:02x}:00.0" not in taken)
    if address in taken:
        raise ValueError(f"PCI address {address} of {node.name} is taken")
    device = SimulatedPciDevice(address, vendor_id, product_id, pci_class, revision,
                                "-1" if node.virtual else "0")
    devices = sorted((*node.pci_devices, device), key=lambda d: d.bus)
    return dataclasses.replace(node, pci_devices=tuple(devices))
