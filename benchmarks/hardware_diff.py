"""Hardware diff latency: ``metalscope.hardware.compare`` on two realistic inventories.

Inventories (simulated, deterministic, in the processed form stored after the hooks: the
ramdisk's data plus ``all_interfaces.<name>.lldp_processed`` as the ``lldp_basic`` hook
writes it):

* small: a 1U server (Dell PowerEdge R650), 2 NICs, its own disks, DIMMs and PCI devices;
* large: the same platform grown to 24 disks, 8 NICs all cabled to switches that speak LLDP,
  32 DIMMs of 32 GiB and every NIC, NVMe and accelerator PCI device that implies.

For each, two comparisons: with itself (nothing changed: the common case after every
introspection) and with a copy in which a DIMM was removed, a disk replaced, the BIOS
flashed, a NIC swapped and a GPU added. Measured: median and p95 of ``compare()`` over
``--repeat`` calls (after a warm-up), the size of the input (JSON) and of the document
``HardwareDiff.document()`` gives (JSON, as the API sends it).

Usage: ``.venv/bin/python benchmarks/hardware_diff.py [--repeat 2000]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from metalscope import lldp
from metalscope.hardware import compare
from metalscope.simulator import (
    SimulatedDisk,
    SimulatedNode,
    add_pci_device,
    change_firmware,
    make_node,
    ramdisk_data,
    remove_dimm,
    replace_disk,
    swap_nic,
)
from metalscope.simulator.dmi import SimulatedDimm, slot_locator

SEED = 14
GIB = 1 << 30


def small_server() -> SimulatedNode:
    return make_node(SEED, 0, model="PowerEdge R650", nic_count=2)


def large_server() -> SimulatedNode:
    base = make_node(SEED, 1, model="PowerEdge R650", nic_count=8)
    cabled = next(nic.switch for nic in base.nics if nic.switch is not None)
    nics = tuple(dataclasses.replace(nic, switch=nic.switch or dataclasses.replace(
        cabled, port_id=f"Ethernet1/{number + 1}")) for number, nic in enumerate(base.nics))
    template = base.disks[-1]
    disks = (*base.disks[:1], *(_data_disk(template, number) for number in range(23)))
    dimms = tuple(SimulatedDimm(slot_locator("Dell Inc.", socket, slot), None, 32768, "DDR4",
                                3200, "Samsung", f"{socket:02X}{slot:02X}5A1B", "M393A4K40DB3-CWE")
                  for socket in range(2) for slot in range(16))
    node = dataclasses.replace(base, nics=nics, disks=disks, dimms=dimms,
                               memory_mb=32 * 32768, memory_total=32 * 32 * GIB - 6 * GIB)
    for number in range(16):  # NVMe drives and accelerators on their own buses
        node = add_pci_device(node, "144d", "a824", pci_class="010802", revision="00",
                              bus=f"0000:{0xd0 + number:02x}:00.0")
    return node


def _data_disk(template: SimulatedDisk, number: int) -> SimulatedDisk:
    return dataclasses.replace(
        template, name=f"/dev/sd{chr(ord('b') + number)}", serial=f"S6KM{number:04d}0R48213",
        wwn=f"0x5002538{number:09x}", size=1_920_383_410_176,
        by_path=f"/dev/disk/by-path/pci-0000:65:00.0-scsi-0:0:{number}:0")


def changed(node: SimulatedNode) -> SimulatedNode:
    return add_pci_device(swap_nic(change_firmware(replace_disk(remove_dimm(node)), "9.9")))


def processed(node: SimulatedNode) -> dict[str, Any]:
    """The ramdisk's data as stored after the hooks (the part the diff reads)."""
    data = ramdisk_data(node)
    data.pop("logs", None)
    data["all_interfaces"] = {
        nic.name: {"ip": nic.ipv4_address, "mac": nic.mac_address,
                   "lldp_processed": lldp.parse_tlvs(data["lldp_raw"][nic.name])}
        for nic in node.nics}
    return data


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    for _ in range(max(10, repeat // 20)):
        call()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(name: str, node: SimulatedNode, repeat: int) -> list[dict[str, Any]]:
    old, new = processed(node), processed(changed(node))
    rows = []
    for case, other in (("unchanged", old), ("changed", new)):
        median, p95 = timed(lambda other=other: compare(old, other), repeat)
        diff = compare(old, other)
        rows.append({
            "inventory": name, "case": case, "median_ms": median * 1000, "p95_ms": p95 * 1000,
            "input_bytes": len(json.dumps(old).encode()),
            "document_bytes": len(json.dumps(diff.document()).encode()),
            "summary": diff.summary,
            "disks": len(node.disks), "nics": len(node.nics), "dimms": len(node.dimms),
            "pci_devices": len(node.pci_devices),
        })
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (f"{'inventory':<10} {'case':<10} {'median ms':>9} {'p95 ms':>7} "
              f"{'input KB':>8} {'document KB':>11}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['inventory']:<10} {row['case']:<10} {row['median_ms']:>9.3f} "
              f"{row['p95_ms']:>7.3f} {row['input_bytes'] / 1000:>8.1f} "
              f"{row['document_bytes'] / 1000:>11.2f}")
    print()
    for row in rows:
        print(f"{row['inventory']} ({row['disks']} disks, {row['nics']} NICs, {row['dimms']} "
              f"DIMMs, {row['pci_devices']} PCI devices), {row['case']}: {row['summary']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2000, help="timed calls per case")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON there")
    args = parser.parse_args(argv)
    rows = (measure("small", small_server(), args.repeat)
            + measure("large", large_server(), args.repeat))
    print_table(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
