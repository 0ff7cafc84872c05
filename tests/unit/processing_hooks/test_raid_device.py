"""The raid_device hook (spec 5.4)."""

from __future__ import annotations

import logging

import pytest

from metalscope.processing_hooks.raid_device import RaidDeviceHook, disk_serials
from tests.factories import disk, inventory, node_changes, ramdisk_data, settings

SERIALS = ["6d0946600a2b3c00", "PHAB123401A31P6AGN"]


def hook() -> RaidDeviceHook:
    return RaidDeviceHook(settings())


class TestBeforeProcessing:
    @pytest.mark.parametrize("local_gb", [None, 0])
    def test_fake_local_gb(self, local_gb: int | None) -> None:
        """A missing or zero local_gb becomes 1."""
        data = ramdisk_data(local_gb=local_gb)
        hook().before_processing(data)
        assert data["local_gb"] == 1

    def test_existing_local_gb_kept(self) -> None:
        """A real local_gb is not touched."""
        data = ramdisk_data(local_gb=893)
        hook().before_processing(data)
        assert data["local_gb"] == 893


class TestBeforeUpdate:
    def test_first_run_saves_serials(self) -> None:
        """Without saved serials, the current ones go to extra/block_devices."""
        node = node_changes()
        hook().before_update(ramdisk_data(), node)
        assert node.pending.node_patch == [
            {"op": "add", "path": "/extra/block_devices", "value": {"serials": SERIALS}}]

    def test_second_run_sets_root_device(self) -> None:
        """Exactly one new serial becomes the root device and the saved list is removed."""
        node = node_changes(extra={"block_devices": {"serials": SERIALS}})
        data = ramdisk_data(inventory=inventory(disks=[
            *ramdisk_data()["inventory"]["disks"], disk("/dev/sdc", serial="RAID-1")]))
        hook().before_update(data, node)
        assert node.pending.node_patch == [
            {"op": "remove", "path": "/extra/block_devices"},
            {"op": "add", "path": "/properties/root_device", "value": {"serial": "RAID-1"}}]
        assert "block_devices" not in node.node["extra"]

    @pytest.mark.parametrize("disks", [
        [disk("/dev/sda", serial="6d0946600a2b3c00")],
        [disk("/dev/sda", serial="NEW-1"), disk("/dev/sdb", serial="NEW-2")],
    ])
    def test_zero_or_several_new(self, disks: list[dict[str, object]],
                                 caplog: pytest.LogCaptureFixture) -> None:
        """No new serial, or more than one, only warns."""
        node = node_changes(extra={"block_devices": {"serials": SERIALS}})
        with caplog.at_level(logging.WARNING):
            hook().before_update(ramdisk_data(inventory=inventory(disks=disks)), node)
        assert node.pending.is_empty()
        assert caplog.records

    def test_root_device_known(self) -> None:
        """A node with root device hints is left alone."""
        node = node_changes(properties={"root_device": {"name": "/dev/sda"}})
        hook().before_update(ramdisk_data(), node)
        assert node.pending.is_empty()

    def test_no_serials(self, caplog: pytest.LogCaptureFixture) -> None:
        """Disks without serials give a warning and no change."""
        node = node_changes()
        with caplog.at_level(logging.WARNING):
            hook().before_update(ramdisk_data(inventory=inventory(disks=[disk()])), node)
        assert node.pending.is_empty()
        assert caplog.records


class TestDiskSerials:
    def test_inventory(self) -> None:
        """Serials come from inventory disks that have one."""
        assert disk_serials({"inventory": {"disks": [disk(serial="A"), disk(), "junk"]}}) == ["A"]

    def test_legacy_block_devices(self) -> None:
        """Without an inventory, the legacy block_devices.serials list is used."""
        assert disk_serials({"block_devices": {"serials": ["A", "B"]}}) == ["A", "B"]

    def test_nothing(self) -> None:
        """No source at all gives no serials."""
        assert disk_serials({}) == []
