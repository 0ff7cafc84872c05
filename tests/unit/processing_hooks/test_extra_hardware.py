"""The extra_hardware hook (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from metalscope.processing_hooks.extra_hardware import ExtraHardwareHook, as_int
from tests.factories import node_changes, ramdisk_data, settings

SPEC_DATA = [["cpu", "logical", "number", "16"], ["disk", "sda", "size", "480"]]
SPEC_EXTRA = {"cpu": {"logical": {"number": 16}}, "disk": {"sda": {"size": 480}}}


def run(data: dict[str, Any], strict: bool = False) -> dict[str, Any]:
    ExtraHardwareHook(settings(extra_hardware={"strict": strict})).before_update(
        data, node_changes())
    return data


class TestBeforeUpdate:
    def test_spec_example(self) -> None:
        """The spec example becomes the nested extra dict and data is removed."""
        data = run(ramdisk_data(data=SPEC_DATA))
        assert data["extra"] == SPEC_EXTRA
        assert "data" not in data

    def test_values_kept_when_not_integers(self) -> None:
        """Values that do not convert to int stay as they are."""
        data = run(ramdisk_data(data=[["system", "product", "name", "R640"],
                                      ["cpu", "physical_0", "frequency", "2.2"]]))
        assert data["extra"] == {"system": {"product": {"name": "R640"}},
                                 "cpu": {"physical_0": {"frequency": "2.2"}}}

    def test_items_merge(self) -> None:
        """Items of one category and item share their nested dicts."""
        data = run(ramdisk_data(data=[["disk", "sda", "size", "480"],
                                      ["disk", "sda", "rotational", "0"],
                                      ["disk", "sdb", "size", "20"]]))
        assert data["extra"] == {"disk": {"sda": {"size": 480, "rotational": 0},
                                          "sdb": {"size": 20}}}

    def test_absent_data_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without data nothing changes except a warning."""
        with caplog.at_level(logging.WARNING):
            data = run(ramdisk_data())
        assert "extra" not in data
        assert caplog.records

    @pytest.mark.parametrize("raw", [{"cpu": 1}, "text", [["cpu", "a", "b", 1], "x"]])
    def test_unrecognised_kept_by_default(self, raw: Any) -> None:
        """Data that is not a list of lists is left in place when not strict."""
        data = run(ramdisk_data(data=raw))
        assert data["data"] == raw and "extra" not in data

    @pytest.mark.parametrize("raw", [{"cpu": 1}, [["cpu", "logical", "number"]]])
    def test_unrecognised_deleted_when_strict(self, raw: Any) -> None:
        """With strict, unusable data (including a 3-item list) is deleted."""
        data = run(ramdisk_data(data=raw), strict=True)
        assert "data" not in data and "extra" not in data

    def test_malformed_items_skipped(self, caplog: pytest.LogCaptureFixture) -> None:
        """Not strict: empty items are skipped and wrong-sized ones logged and skipped."""
        raw = [[], ["cpu", "logical"], ["a", ["b"], "c", "d"], *SPEC_DATA, ["x", "y", "z", 1, 2]]
        with caplog.at_level(logging.WARNING):
            data = run(ramdisk_data(data=raw))
        assert data["extra"] == SPEC_EXTRA
        assert len(caplog.records) == 3

    def test_empty_list(self) -> None:
        """An empty list converts to an empty extra dict."""
        assert run(ramdisk_data(data=[]))["extra"] == {}

    def test_no_ironic_changes(self) -> None:
        """Nothing is written to the node."""
        node = node_changes()
        ExtraHardwareHook(settings()).before_update(ramdisk_data(data=SPEC_DATA), node)
        assert node.pending.is_empty()


@pytest.mark.parametrize(("value", "expected"), [("16", 16), (7, 7), ("0x10", "0x10"),
                                                 (None, None), ("", "")])
def test_as_int(value: Any, expected: Any) -> None:
    """Integers and integer strings convert; anything else is kept."""
    assert as_int(value) == expected
