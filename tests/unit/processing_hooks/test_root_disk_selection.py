"""The root_disk_selection hook (spec 5.4)."""

import logging
from typing import Any

import pytest

from metalscope.errors import HookError
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.root_disk_selection import RootDiskSelectionHook
from tests.factories import disk, functional_ramdisk_data, node_changes, ramdisk_data, settings

FUNCTIONAL_NODE = {"cpu_arch": "i386", "local_gb": 40}


def run(data: dict[str, Any], **node_properties: Any) -> tuple[dict[str, Any], NodeChanges]:
    node = node_changes(properties=node_properties)
    RootDiskSelectionHook(settings()).before_update(data, node)
    return data, node


class TestLocalGb:
    def test_spec_example(self) -> None:
        """The spec 6.3 root disk gives 892 GiB (893 minus partitioning spacing)."""
        data, node = run(ramdisk_data())
        assert data["local_gb"] == 892
        assert node.pending.node_patch == [
            {"op": "add", "path": "/properties/local_gb", "value": "892"}]

    def test_functional_standard(self) -> None:
        """The functional-test 1000 GiB root disk gives "999" (spec 13.1)."""
        _data, node = run(functional_ramdisk_data(), **FUNCTIONAL_NODE)
        assert node.properties["local_gb"] == "999"

    def test_functional_no_root_disk(self) -> None:
        """No root disk and no disks gives "0" (spec 13.1, test_without_root_disk)."""
        data = functional_ramdisk_data()
        del data["root_disk"]
        data["inventory"]["disks"] = []
        data, node = run(data, **FUNCTIONAL_NODE)
        assert data["local_gb"] == 0
        assert node.properties["local_gb"] == "0"

    def test_no_spacing(self) -> None:
        """With disk_partitioning_spacing off the full size is used."""
        data, node = ramdisk_data(), node_changes()
        hook = RootDiskSelectionHook(settings(processing={"disk_partitioning_spacing": False}))
        hook.before_update(data, node)
        assert data["local_gb"] == 893

    def test_tiny_disk(self, caplog: pytest.LogCaptureFixture) -> None:
        """A root disk under 1 GiB gives 0 with a warning, nothing subtracted."""
        with caplog.at_level(logging.WARNING):
            data, _ = run(ramdisk_data(root_disk=disk(size_gib=0.5)))
        assert data["local_gb"] == 0
        assert caplog.records

    def test_overwrite_existing_false_keeps_value(self) -> None:
        """Without overwrite_existing an existing local_gb is left alone."""
        data, node = ramdisk_data(), node_changes(properties={"local_gb": "100"})
        RootDiskSelectionHook(settings(processing={"overwrite_existing": False})).before_update(
            data, node)
        assert data["local_gb"] == 892
        assert node.pending.is_empty()

    def test_overwrite_existing_false_sets_missing(self) -> None:
        """Without overwrite_existing a missing (or zero) local_gb is still set."""
        data, node = ramdisk_data(), node_changes(properties={"local_gb": 0})
        RootDiskSelectionHook(settings(processing={"overwrite_existing": False})).before_update(
            data, node)
        assert node.properties["local_gb"] == "892"

    def test_missing_inventory(self) -> None:
        """The common inventory check applies."""
        with pytest.raises(HookError, match=r"^Hardware inventory is empty or missing$"):
            run({"root_disk": disk()})


class TestRootDeviceHints:
    def test_functional_size_hint(self) -> None:
        """root_device {"size": 20} picks the 20 GiB disk and gives "19" (spec 13.1)."""
        data, node = run(functional_ramdisk_data(), root_device={"size": 20}, **FUNCTIONAL_NODE)
        assert data["root_disk"]["name"] == "/dev/sdb"
        assert node.properties["local_gb"] == "19"

    def test_first_match_in_inventory_order(self) -> None:
        """Among several matching disks the first in the inventory wins."""
        data, _ = run(ramdisk_data(), root_device={"rotational": False})
        assert data["root_disk"]["name"] == "/dev/sda"

    def test_hint_replaces_ramdisk_choice(self) -> None:
        """The hinted disk replaces the ramdisk's root_disk."""
        data, _ = run(ramdisk_data(), root_device={"serial": "phab123401a31p6agn"})
        assert data["root_disk"]["name"] == "/dev/nvme0n1"
        assert data["local_gb"] == 1489

    def test_no_disk_satisfies(self) -> None:
        """No matching disk fails with the upstream message."""
        with pytest.raises(HookError) as exc:
            run(ramdisk_data(), root_device={"size": 5})
        assert str(exc.value) == "No disks satisfied root device hints"

    def test_invalid_hints(self) -> None:
        """Invalid hints fail with the upstream message naming the hints."""
        with pytest.raises(HookError) as exc:
            run(ramdisk_data(), root_device={"size": "big"})
        assert str(exc.value).startswith(
            "No disks could be found using the root device hints {'size': 'big'} "
            "because they failed to validate. Error: ")

    def test_skip_block_devices(self) -> None:
        """Disks matching skip_block_devices are dropped from the data before selection."""
        data, _ = run(ramdisk_data(), root_device={"rotational": False},
                      skip_block_devices=[{"name": "/dev/sda"}])
        assert [d["name"] for d in data["inventory"]["disks"]] == ["/dev/nvme0n1"]
        assert data["root_disk"]["name"] == "/dev/nvme0n1"

    def test_skip_block_devices_ignored_without_hints(self) -> None:
        """Without root_device the skip list is not applied and the ramdisk choice stays."""
        data, _ = run(ramdisk_data(), skip_block_devices=[{"name": "/dev/sda"}])
        assert len(data["inventory"]["disks"]) == 2
        assert data["root_disk"]["name"] == "/dev/sda"

    def test_all_disks_skipped(self) -> None:
        """Skipping every disk leaves nothing to satisfy the hints."""
        with pytest.raises(HookError, match=r"^No disks satisfied root device hints$"):
            run(ramdisk_data(), root_device={"size": ">= 1"},
                skip_block_devices=[{"rotational": False}])
