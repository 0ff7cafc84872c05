"""compare() on simulated machines: unchanged with itself, and each simulated change seen."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from metalscope.hardware import compare
from metalscope.simulator import (
    add_pci_device,
    change_firmware,
    make_node,
    ramdisk_data,
    remove_dimm,
    replace_disk,
    swap_nic,
)


def _shuffled(data: dict[str, Any], seed: int) -> dict[str, Any]:
    shuffled = copy.deepcopy(data)
    rng = random.Random(seed)
    inventory = shuffled["inventory"]
    for key in ("disks", "interfaces"):
        rng.shuffle(inventory[key])
    rng.shuffle(inventory["cpu"]["flags"])
    rng.shuffle(shuffled["pci_devices"])
    if "dmi" in shuffled:
        rng.shuffle(shuffled["dmi"]["memory"]["devices"])
    return shuffled


@pytest.mark.parametrize("seed", range(40))
def test_a_machine_compared_with_itself_is_unchanged(seed: int) -> None:
    for index in range(3):
        data = ramdisk_data(make_node(seed, index))
        diff = compare(data, _shuffled(data, seed))
        assert (diff.changed, diff.summary) == (False, "no hardware change")
        assert diff.document()["counts"] == {"added": 0, "removed": 0, "changed": 0}


@pytest.mark.parametrize("seed", range(10))
def test_a_second_boot_with_other_addresses_is_unchanged(seed: int) -> None:
    node = make_node(seed, 1)
    changed = make_node(seed, 1, bmc_address="203.0.113.200",
                        hostname="host-192-0-2-99")
    assert compare(ramdisk_data(node), ramdisk_data(changed, with_logs=False)).changed is False


def _physical(seed: int) -> Any:
    return make_node(seed, 0, virtual=False, nic_count=4)


@pytest.mark.parametrize("seed", range(5))
def test_removed_dimm_is_seen(seed: int) -> None:
    node = _physical(seed)
    after = remove_dimm(node)
    document = compare(ramdisk_data(node), ramdisk_data(after)).document()
    removed = document["components"]["memory"]["removed"]
    assert [entry["attributes"]["locator"] for entry in removed] == [node.dimms[-1].locator]
    assert document["memory"]["total_mb"]["delta"] == -node.dimms[-1].size_mb
    assert document["summary"].startswith("memory ")
    locator = node.dimms[-1].locator
    slot = locator if locator.startswith("DIMM") else f"DIMM {locator}"
    assert f"({slot} {node.dimms[-1].size_mb // 1024} GiB removed)" in document["summary"]


@pytest.mark.parametrize("seed", range(5))
def test_replaced_disk_is_seen(seed: int) -> None:
    node = _physical(seed)
    after = replace_disk(node, node.disks[0].name)
    document = compare(ramdisk_data(node), ramdisk_data(after)).document()
    disks = document["components"]["disks"]
    assert len(disks["removed"]) == len(disks["added"]) == 1
    name = node.disks[0].name.removeprefix("/dev/")
    assert document["summary"].startswith(f"disk {name} replaced (serial ")


@pytest.mark.parametrize("seed", range(5))
def test_firmware_swapped_nic_and_new_pci_device_are_seen(seed: int) -> None:
    node = _physical(seed)
    after = add_pci_device(swap_nic(change_firmware(node, "9.9", bmc_version="9.99")))
    document = compare(ramdisk_data(node), ramdisk_data(after)).document()
    components = document["components"]
    bios, bmc = components["firmware"]["changed"]
    assert bios["id"] == "bios"
    assert bios["changes"]["version"] == {"old": node.firmware_version, "new": "9.9"}
    assert bmc == {"id": "bmc", "changes": {"version": {"old": node.bmc_firmware,
                                                         "new": "9.99"}}}
    assert document["summary"].startswith(
        f"BIOS {node.firmware_version} → 9.9; BMC firmware {node.bmc_firmware} → 9.99; ")
    assert len(components["nics"]["removed"]) == len(components["nics"]["added"]) == 1
    assert [e["attributes"]["vendor_id"] for e in components["pci"]["added"]] == ["10de"]
    assert "NIC " in document["summary"] and "accelerator 10de:1eb8" in document["summary"]


def test_virtual_machines_have_one_anonymous_dimm_keyed_by_locator() -> None:
    node = make_node(1, 0, virtual=True)
    data = ramdisk_data(node)
    devices = data["dmi"]["memory"]["devices"]
    assert [d["Locator"] for d in devices] == ["DIMM 0"]
    bigger = copy.deepcopy(data)
    bigger["dmi"]["memory"]["devices"][0]["Size"] = "64 GB"
    changed = compare(data, bigger).document()["components"]["memory"]["changed"]
    assert [entry["id"] for entry in changed] == ["locator:DIMM 0"]


_JUNK: list[Any] = [None, 0, -1, 3.5, "", "x", "Not Specified", [], {}, [None], {"a": None},
                    True, "0x", "12 XB"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found += _paths(item, (*prefix, position))
    return found


def _spoiled(data: dict[str, Any], rng: random.Random, count: int) -> dict[str, Any]:
    spoiled = copy.deepcopy(data)
    for _ in range(count):
        paths = _paths(spoiled)
        if not paths:
            break
        *parents, last = rng.choice(paths)
        holder: Any = spoiled
        for key in parents:
            holder = holder[key]
        holder[last] = copy.deepcopy(rng.choice(_JUNK))
    return spoiled


@pytest.mark.parametrize("seed", range(30))
def test_malformed_data_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    data = ramdisk_data(make_node(seed, 2))
    for _ in range(10):
        spoiled = _spoiled(data, rng, rng.randint(1, 25))
        for old, new in ((data, spoiled), (spoiled, data), (spoiled, spoiled)):
            diff = compare(old, new)
            document = diff.document()
            assert json.loads(json.dumps(document)) == document
            assert "\n" not in diff.summary
        assert compare(spoiled, copy.deepcopy(spoiled)).changed is False
