"""The pci_devices hook (spec 5.4)."""

import json
import logging

import pytest

from metalscope.processing_hooks.pci_devices import PciDevicesHook, parse_aliases
from tests.factories import node_changes, ramdisk_data, settings

GPU = json.dumps({"vendor_id": "10de", "product_id": "1eb8", "name": "t4_gpu"})
NIC = json.dumps({"vendor_id": "8086", "product_id": "1572", "name": "x710"})


def hook(*aliases: str) -> PciDevicesHook:
    return PciDevicesHook(settings(pci_devices={"alias": list(aliases)}))


class TestParseAliases:
    def test_valid(self) -> None:
        """Each JSON alias maps its (vendor, product) pair to its name."""
        assert parse_aliases([GPU, NIC]) == {("10de", "1eb8"): "t4_gpu", ("8086", "1572"): "x710"}

    @pytest.mark.parametrize("entry", [
        "not json", "[1, 2]", json.dumps({"vendor_id": "1", "product_id": "2"}),
        json.dumps({"vendor_id": "1", "product_id": "2", "name": "n", "extra": 1}),
    ])
    def test_invalid_entries_skipped(self, entry: str, caplog: pytest.LogCaptureFixture) -> None:
        """Malformed entries are logged as errors and ignored."""
        with caplog.at_level(logging.ERROR):
            assert parse_aliases([entry, GPU]) == {("10de", "1eb8"): "t4_gpu"}
        assert caplog.records


class TestBeforeUpdate:
    def test_counts_as_capabilities(self) -> None:
        """Matching devices are counted per alias and stored as capabilities."""
        data = ramdisk_data()
        data["pci_devices"].append(dict(data["pci_devices"][1], bus="0000:af:00.0"))
        node = node_changes(properties={"capabilities": "boot_mode:uefi"})
        hook(GPU, NIC).before_update(data, node)
        assert node.properties["capabilities"] == "boot_mode:uefi,x710:1,t4_gpu:2"

    def test_no_match_no_patch(self) -> None:
        """Without matching devices nothing is sent to Ironic."""
        node = node_changes()
        hook(json.dumps({"vendor_id": "1af4", "product_id": "1000", "name": "virtio"})) \
            .before_update(ramdisk_data(), node)
        assert node.pending.is_empty()

    def test_missing_pci_devices_warns(self, caplog: pytest.LogCaptureFixture) -> None:
        """Absent pci_devices data with aliases configured only logs a warning."""
        data = ramdisk_data()
        del data["pci_devices"]
        node = node_changes()
        with caplog.at_level(logging.WARNING):
            hook(GPU).before_update(data, node)
        assert node.pending.is_empty()
        assert caplog.records

    def test_no_aliases_no_change(self) -> None:
        """With no aliases configured the hook does nothing."""
        node = node_changes()
        hook().before_update(ramdisk_data(), node)
        assert node.pending.is_empty()
