"""The ``accelerators`` hook: recognise accelerator cards among the PCI devices (spec 5.4).

Known devices are read once, at start-up, from the YAML file named by
``[accelerators]known_devices`` (default: ``metalscope/data/known_accelerators.yaml``).
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import yaml

from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)

DEFAULT_KNOWN_DEVICES = "known_accelerators.yaml"

KnownDevices = list[dict[str, Any]]


class AcceleratorsHook(BaseHook):
    """Sets ``properties/accelerators`` to the known accelerators found on the node.

    Not gated by ``[processing]overwrite_existing``. The constructor refuses an unreadable
    or invalid devices file, which stops the service.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.known_devices = validate_known_devices(
            yaml.safe_load(read_known_devices(settings.accelerators.known_devices)))

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Match ``data.pci_devices`` against the known devices and record the matches."""
        pci_devices = data.get("pci_devices")
        if not pci_devices or not isinstance(pci_devices, list):
            LOG.warning("No PCI device information was received from the ramdisk for node %s,"
                        " accelerators cannot be detected", node.uuid)
            return
        found = find_accelerators(pci_devices, self.known_devices)
        if not found:
            LOG.info("No known accelerator devices found on node %s", node.uuid)
            return
        LOG.info("Found accelerator devices on node %s: %s", node.uuid, found)
        node.update_properties(accelerators=found)


def read_known_devices(path: str | None) -> str:
    """The text of the known-devices file; the shipped one when no path is configured."""
    if path:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    return resources.files("metalscope").joinpath("data", DEFAULT_KNOWN_DEVICES) \
        .read_text(encoding="utf-8")


def validate_known_devices(loaded: Any) -> KnownDevices:
    """The ``pci_devices`` list of the loaded YAML; raises ValueError with upstream's texts."""
    if not isinstance(loaded, dict) or "pci_devices" not in loaded:
        raise ValueError("Could not find pci_devices in the configuration data")
    devices = loaded["pci_devices"]
    if not isinstance(devices, list):
        raise ValueError("pci_devices should contain a list of devices")
    for device in devices:
        if not isinstance(device, dict) or not device.get("vendor_id") \
                or not device.get("device_id"):
            raise ValueError("one of devices is missing vendor_id or device_id")
    return devices


def find_accelerators(pci_devices: list[Any], known: KnownDevices) -> list[dict[str, Any]]:
    """A copy of the known entry plus ``pci_address`` for every matching PCI device."""
    found = []
    for device in pci_devices:
        match = known_device(device, known) if isinstance(device, dict) else None
        if match is not None:
            found.append({**match, "pci_address": device.get("bus")})
    return found


def known_device(device: dict[str, Any], known: KnownDevices) -> dict[str, Any] | None:
    """The first known entry with the device's vendor and product IDs, or None.

    IDs are compared as text, so an unquoted ``8086`` in the YAML file still matches.
    """
    ids = (str(device.get("vendor_id")), str(device.get("product_id")))
    return next((entry for entry in known
                 if (str(entry["vendor_id"]), str(entry["device_id"])) == ids), None)
