"""The accelerators hook (spec 5.4) and its shipped known-devices file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from metalscope.extensions import HOOKS_GROUP, load_group
from metalscope.processing_hooks.accelerators import AcceleratorsHook, validate_known_devices
from tests.factories import node_changes, ramdisk_data, settings

T4 = {"vendor_id": "10de", "device_id": "1eb8", "type": "GPU",
      "device_info": "NVIDIA Corporation Tesla T4", "pci_address": "0000:3b:00.0"}


def hook_with(tmp_path: Path, text: str) -> AcceleratorsHook:
    path = tmp_path / "devices.yaml"
    path.write_text(text)
    return AcceleratorsHook(settings(accelerators={"known_devices": str(path)}))


class TestKnownDevices:
    def test_shipped_file(self) -> None:
        """The default file holds the two NVIDIA GPUs the spec names."""
        devices = AcceleratorsHook(settings()).known_devices
        assert [(d["vendor_id"], d["device_id"], d["type"]) for d in devices] == [
            ("10de", "1eb8", "GPU"), ("10de", "1df6", "GPU")]

    @pytest.mark.parametrize(("loaded", "message"), [
        (None, "Could not find pci_devices in the configuration data"),
        ({"devices": []}, "Could not find pci_devices in the configuration data"),
        ({"pci_devices": {"vendor_id": "1"}}, "pci_devices should contain a list of devices"),
        ({"pci_devices": [{"vendor_id": "10de"}]},
         "one of devices is missing vendor_id or device_id"),
        ({"pci_devices": ["10de:1eb8"]}, "one of devices is missing vendor_id or device_id"),
    ])
    def test_validation_messages(self, loaded: Any, message: str) -> None:
        """Invalid files are refused with upstream's messages."""
        with pytest.raises(ValueError) as info:
            validate_known_devices(loaded)
        assert str(info.value) == message

    def test_invalid_file_refuses_construction(self, tmp_path: Path) -> None:
        """The constructor fails on an invalid file, which stops start-up."""
        with pytest.raises(ValueError, match="pci_devices should contain a list"):
            hook_with(tmp_path, "pci_devices: 3\n")

    def test_missing_file_refuses_construction(self, tmp_path: Path) -> None:
        """A configured file that does not exist fails construction."""
        with pytest.raises(OSError):
            AcceleratorsHook(settings(accelerators={"known_devices": str(tmp_path / "no")}))

    def test_entry_point(self) -> None:
        """The hook is registered under its upstream name."""
        assert load_group(HOOKS_GROUP)["accelerators"].load() is AcceleratorsHook


class TestBeforeUpdate:
    def test_spec_example(self) -> None:
        """The T4 of the spec 6.3 data is recorded with its PCI address."""
        node = node_changes()
        AcceleratorsHook(settings()).before_update(ramdisk_data(), node)
        assert node.pending.node_patch == [
            {"op": "add", "path": "/properties/accelerators", "value": [T4]}]

    def test_every_match_listed(self) -> None:
        """Two matching cards give two accelerators in PCI order."""
        data = ramdisk_data()
        data["pci_devices"].append({"vendor_id": "10de", "product_id": "1df6",
                                    "bus": "0000:af:00.0"})
        node = node_changes()
        AcceleratorsHook(settings()).before_update(data, node)
        assert [a["pci_address"] for a in node.properties["accelerators"]] == [
            "0000:3b:00.0", "0000:af:00.0"]
        assert node.properties["accelerators"][1]["device_info"] == "NVIDIA Corporation GV100GL"

    def test_custom_file_unquoted_ids(self, tmp_path: Path) -> None:
        """IDs are compared as text and extra keys are copied as they are."""
        hook = hook_with(tmp_path, "pci_devices:\n  - {vendor_id: 8086, device_id: 1572, "
                                   "type: NIC, vendor: Intel}\n")
        node = node_changes()
        hook.before_update(ramdisk_data(), node)
        assert node.properties["accelerators"] == [
            {"vendor_id": 8086, "device_id": 1572, "type": "NIC", "vendor": "Intel",
             "pci_address": "0000:18:00.0"}]

    def test_not_gated_by_overwrite_existing(self) -> None:
        """Existing accelerators are replaced even with overwrite_existing off."""
        node = node_changes(properties={"accelerators": []})
        AcceleratorsHook(settings(processing={"overwrite_existing": False})).before_update(
            ramdisk_data(), node)
        assert node.properties["accelerators"] == [T4]

    def test_no_match(self) -> None:
        """Without a known device nothing changes."""
        data = ramdisk_data(pci_devices=[{"vendor_id": "8086", "product_id": "1572"}, "junk"])
        node = node_changes()
        AcceleratorsHook(settings()).before_update(data, node)
        assert node.pending.is_empty()

    @pytest.mark.parametrize("pci_devices", [None, []])
    def test_no_pci_data(self, pci_devices: Any, caplog: pytest.LogCaptureFixture) -> None:
        """Missing PCI data only warns."""
        node = node_changes()
        with caplog.at_level(logging.WARNING):
            AcceleratorsHook(settings()).before_update(ramdisk_data(pci_devices=pci_devices), node)
        assert node.pending.is_empty()
        assert caplog.records
