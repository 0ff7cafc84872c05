"""Ironic's inventory answer and node fields as MetalScope's data (follower/convert.py)."""

from __future__ import annotations

import datetime

from metalscope.follower import convert
from metalscope.hardware.view import build_view
from tests.unit.follower.inspecting_ironic import inventory_answer


def test_the_plugin_data_is_the_top_level_and_the_inventory_under_its_key() -> None:
    answer = inventory_answer(2048)
    answer["plugin_data"]["logs"] = "base64 logs"
    data = convert.processed_data(answer)
    assert data["inventory"] == answer["inventory"]
    assert data["root_disk"] == {"name": "/dev/sda"}
    assert "logs" not in data
    view = build_view(data)  # what the diff and the fleet read
    assert view.total_mb == 2048 and view.categories["disks"]


def test_an_answer_without_plugin_data_still_has_an_inventory() -> None:
    assert convert.processed_data({"inventory": None, "plugin_data": None}) == {
        "inventory": {}}


def test_the_source_follows_the_inspect_interface_then_the_data() -> None:
    answer = inventory_answer(1024)
    assert convert.source_of("agent", answer) == convert.IRONIC_AGENT
    assert convert.source_of("redfish", answer) == convert.IRONIC_REDFISH
    assert convert.source_of(None, answer) == convert.IRONIC_AGENT
    bmc_only = {"inventory": {"cpu": {"count": 2}, "interfaces": []}, "plugin_data": {}}
    assert convert.source_of(None, bmc_only) == convert.IRONIC_REDFISH


def test_times_are_naive_utc() -> None:
    expected = datetime.datetime(2026, 12, 6, 10, 0, 0, 123000)
    assert convert.parse_time("2026-12-06T11:00:00.123+01:00") == expected
    assert convert.parse_time("2026-12-06T10:00:00.123000Z") == expected
    assert convert.parse_time("2026-12-06T10:00:00.123") == expected
    assert convert.parse_time(None) is None
    assert convert.parse_time("yesterday") is None


def test_a_listed_node_is_its_newest_inspection_unless_never_inspected_or_our_own() -> None:
    node = {"uuid": "u1", "name": "n1", "inspection_started_at": "2026-12-06T10:00:00+00:00",
            "inspection_finished_at": "2026-12-06T10:05:00+00:00", "inspect_interface": "agent"}
    seen = convert.seen_inspection(node)
    assert seen is not None and seen.finished_at == datetime.datetime(2026, 12, 6, 10, 5)
    assert seen.started_at == datetime.datetime(2026, 12, 6, 10, 0) and seen.name == "n1"
    assert convert.seen_inspection(dict(node, inspection_finished_at=None)) is None
    assert convert.seen_inspection(dict(node, inspect_interface="inspector")) is None
