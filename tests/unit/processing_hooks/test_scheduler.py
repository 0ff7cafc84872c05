"""The scheduler hook (spec 5.4)."""

from typing import Any

import pytest

from metalscope.errors import HookError
from metalscope.processing_hooks.scheduler import SchedulerHook
from tests.factories import functional_ramdisk_data, node_changes, ramdisk_data, settings


def patched(ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {op["path"]: op["value"] for op in ops}


class TestBeforeUpdate:
    def test_spec_example(self) -> None:
        """The spec 6.3 data sets the three keys and string properties in one patch."""
        data, node = ramdisk_data(), node_changes()
        SchedulerHook(settings()).before_update(data, node)
        assert (data["cpus"], data["cpu_arch"], data["memory_mb"]) == (48, "x86_64", 196608)
        assert node.pending.node_patch == [
            {"op": "add", "path": "/properties/cpus", "value": "48"},
            {"op": "add", "path": "/properties/cpu_arch", "value": "x86_64"},
            {"op": "add", "path": "/properties/memory_mb", "value": "196608"},
        ]

    def test_functional_data(self) -> None:
        """The functional-test data gives the standard patch values (spec 13.1)."""
        node = node_changes(properties={"cpu_arch": "i386", "local_gb": 40})
        SchedulerHook(settings()).before_update(functional_ramdisk_data(), node)
        assert patched(node.pending.node_patch) == {
            "/properties/cpus": "4", "/properties/cpu_arch": "x86_64",
            "/properties/memory_mb": "12288"}

    def test_overwrite_existing_false(self) -> None:
        """Without overwrite_existing only properties the node lacks are set."""
        node = node_changes(properties={"cpu_arch": "i386", "memory_mb": 0})
        SchedulerHook(settings(processing={"overwrite_existing": False})).before_update(
            ramdisk_data(), node)
        assert patched(node.pending.node_patch) == {
            "/properties/cpus": "48", "/properties/memory_mb": "196608"}
        assert node.properties["cpu_arch"] == "i386"

    def test_memory_total_not_used(self) -> None:
        """Without physical_mb no memory is recorded, even if total is known."""
        data = ramdisk_data()
        del data["inventory"]["memory"]["physical_mb"]
        node = node_changes()
        SchedulerHook(settings()).before_update(data, node)
        assert "memory_mb" not in data
        assert "/properties/memory_mb" not in patched(node.pending.node_patch)

    @pytest.mark.parametrize("cpu", [{"count": 4}, {"count": "many", "architecture": "x86_64"},
                                     None])
    def test_malformed_cpu_skipped(self, cpu: object) -> None:
        """Malformed or missing CPU data skips both cpus and cpu_arch."""
        data = ramdisk_data()
        data["inventory"]["cpu"] = cpu
        node = node_changes()
        SchedulerHook(settings()).before_update(data, node)
        assert "cpus" not in data and "cpu_arch" not in data
        assert patched(node.pending.node_patch) == {"/properties/memory_mb": "196608"}

    def test_missing_inventory(self) -> None:
        """The common inventory check applies."""
        with pytest.raises(HookError, match=r"^Hardware inventory is empty or missing$"):
            SchedulerHook(settings()).before_update({"inventory": {}}, node_changes())
