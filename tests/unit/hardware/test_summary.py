"""The one-line summary and its units."""

from __future__ import annotations

import pytest

from metalscope.hardware import compare, units
from tests.unit.hardware.samples import base_data, dimm


@pytest.mark.parametrize(("mib", "text"), [
    (65536, "64 GiB"), (57344, "56 GiB"), (1536, "1.5 GiB"), (512, "512 MiB"),
    (1048576, "1 TiB"), (1015808, "992 GiB"), (64614, "63.1 GiB"),
])
def test_memory_sizes_are_binary(mib: int, text: str) -> None:
    assert units.memory_size(mib) == text


@pytest.mark.parametrize(("size", "text"), [
    (1800 * 10**9, "1.8 TB"), (960197124096, "960 GB"), (8001563222016, "8 TB"),
    (479559942144, "480 GB"), (21474836480, "21.5 GB"), (500 * 10**6, "500 MB"), (512, "512 B"),
])
def test_disk_sizes_are_decimal_like_the_label(size: int, text: str) -> None:
    assert units.disk_size(size) == text


@pytest.mark.parametrize(("mbps", "text"), [(100, "100 Mb/s"), (1000, "1 Gb/s"),
                                             (25000, "25 Gb/s"), (2500, "2.5 Gb/s")])
def test_speeds(mbps: int, text: str) -> None:
    assert units.speed(mbps) == text


def test_the_issue_example_in_one_line() -> None:
    new = base_data()
    new["inventory"]["memory"]["physical_mb"] = 49152
    del new["dmi"]["memory"]["devices"][2]
    new["inventory"]["disks"][1]["serial"] = "S9"
    new["inventory"]["system_vendor"]["firmware"]["version"] = "2.3"
    summary = compare(base_data(), new).summary
    assert summary == ("BIOS 2.1 → 2.3; memory 64 GiB → 48 GiB (DIMM A3 16 GiB removed); "
                       "disk sdb replaced (serial S2 → S9, 1.8 TB)")
    assert "\n" not in summary


def test_dimm_changes_without_a_total_change() -> None:
    new = base_data()
    new["dmi"]["memory"]["devices"][0] = dimm("A1", "BB01")
    assert compare(base_data(), new).summary == "DIMM A1 replaced (serial AA01 → BB01)"


def test_many_changes_of_one_kind_are_counted() -> None:
    new = base_data()
    new["dmi"]["memory"]["devices"] = []
    new["inventory"]["memory"]["physical_mb"] = 1024
    new["inventory"]["disks"] = []
    summary = compare(base_data(), new).summary
    assert summary == "memory 64 GiB → 1 GiB (4 DIMMs removed); disk sda removed (serial S1, " \
                      "480 GB); disk sdb removed (serial S2, 1.8 TB)"


def test_system_change_phrase() -> None:
    new = base_data()
    new["inventory"]["system_vendor"]["product_name"] = "PowerEdge R660"
    assert compare(base_data(), new).summary == "system product PowerEdge R650 → PowerEdge R660"


def test_slots_already_named_dimm_are_not_prefixed_twice() -> None:
    old, new = base_data(), base_data()
    for data in (old, new):
        data["dmi"]["memory"]["devices"][1]["Locator"] = "DIMM 2"
    new["dmi"]["memory"]["devices"][1]["Part Number"] = "HMA82GR7CJR8N-XN"
    del new["dmi"]["memory"]["devices"][0]
    assert compare(old, new).summary == ("DIMM A1 16 GiB removed; "
                                         "DIMM 2 part number M393A2K43DB3-CWE → HMA82GR7CJR8N-XN")
