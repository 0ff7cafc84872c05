"""summarise(): the fleet's facts of processed data, from literal and simulated inventories."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.fleet.summary import HardwareSummary, MatchedRule, summarise
from metalscope.rules.model import Action, Rule
from metalscope.simulator import make_node, ramdisk_data
from tests import factories
from tests.factories import PXE_MAC


def rule(uuid: str, description: str | None) -> Rule:
    return Rule(uuid=uuid, description=description, actions=[Action("fail", {"message": "x"})])


def test_the_spec_example_machine() -> None:
    summary = summarise(factories.ramdisk_data(), rules=[rule("r-1", "Dell servers"),
                                                          rule("r-2", None)])
    assert summary == HardwareSummary(
        vendor="Dell Inc.", model="PowerEdge R640", serial="7QX9K42",
        cpu_model="Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", cpu_count=48,
        cpu_arch="x86_64", memory_mib=196608, disk_count=2,
        disk_bytes=959656755200 + 1600321314816, nic_count=3,
        macs=(PXE_MAC, "3c:fd:fe:aa:00:02", "7c:fe:90:29:2a:61"), boot_mode="uefi",
        rules=(MatchedRule("r-1", "Dell servers"), MatchedRule("r-2", None)))


def test_the_upstream_functional_data_lacks_vendor_and_boot() -> None:
    summary = summarise(factories.functional_ramdisk_data())
    assert (summary.vendor, summary.model, summary.serial, summary.boot_mode) == (
        None, None, None, None)
    assert (summary.cpu_count, summary.cpu_arch, summary.cpu_model) == (4, "x86_64", None)
    assert (summary.memory_mib, summary.disk_count, summary.disk_bytes) == (
        12288, 2, 1020 * factories.GIB)
    assert summary.nic_count == 4 and summary.rules == ()


@pytest.mark.parametrize("processed", [{}, {"inventory": None}, {"inventory": []},
                                       {"inventory": {"cpu": "x", "disks": "y"}}])
def test_missing_data_is_none_never_invented(processed: dict[str, Any]) -> None:
    summary = summarise(processed)
    assert summary == HardwareSummary(None, None, None, None, None, None, None, None, None,
                                      None, (), None, ())


def test_placeholders_are_unknown_and_usable_memory_rounds_to_gib() -> None:
    inventory = factories.inventory(
        system_vendor={"manufacturer": "To Be Filled By O.E.M.", "product_name": "X11DPi",
                       "serial_number": "0123456789"},
        memory={"total": 64 * factories.GIB - 300 * (1 << 20)})
    summary = summarise({"inventory": inventory})
    assert (summary.vendor, summary.model, summary.serial) == (None, "X11DPi", None)
    assert summary.memory_mib == 65536


def test_no_disks_and_disks_of_unknown_size() -> None:
    assert summarise({"inventory": {"disks": []}}).disk_count == 0
    assert summarise({"inventory": {"disks": []}}).disk_bytes == 0
    unknown = summarise({"inventory": {"disks": [{"name": "/dev/sda"}]}})
    assert (unknown.disk_count, unknown.disk_bytes) == (1, None)


def test_a_duplicated_mac_is_listed_once_and_counted_twice() -> None:
    interfaces = [{"name": "eth0", "mac_address": "52:54:00:00:00:01"},
                  {"name": "eth0.10", "mac_address": "52:54:00:00:00:01"},
                  {"name": "eth1", "mac_address": "52:54:00:00:00:02"}]
    summary = summarise({"inventory": {"interfaces": interfaces}})
    assert summary.macs == ("52:54:00:00:00:01", "52:54:00:00:00:02")
    assert summary.nic_count == 3


@pytest.mark.parametrize("seed", range(12))
def test_simulated_machines_summarise_as_built(seed: int) -> None:
    node = make_node(seed, seed * 7)
    summary = summarise(ramdisk_data(node))
    assert (summary.vendor, summary.model, summary.serial) == (
        node.vendor, node.model, node.serial_number or None)
    assert summary.cpu_count == node.cpu.count
    assert summary.cpu_arch == node.architecture
    assert summary.memory_mib == node.memory_mb
    assert summary.disk_count == len(node.disks)
    assert summary.nic_count == len(node.nics) and summary.macs == node.macs
    assert summary.boot_mode == node.boot_mode


def test_the_summary_reads_the_same_facts_as_the_whole_view() -> None:
    """summarise() builds only the categories it reads (no CPU flags, no LLDP neighbours):
    the same facts as from the whole view, for the spec example and a simulated fleet."""
    from metalscope.fleet.summary import from_view
    from metalscope.hardware.view import build_view
    from metalscope.simulator import make_fleet

    documents = [factories.ramdisk_data(), {}, {"inventory": "not a mapping"}]
    documents += [ramdisk_data(machine) for machine in make_fleet(7, 25)]
    for data in documents:
        matched = [rule("r-1", "x")]
        assert summarise(data, rules=matched) == from_view(build_view(data), matched)
