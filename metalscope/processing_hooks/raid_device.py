"""The ``raid_device`` hook: learn the root device from the disk that appeared after RAID setup.

Run introspection once before and once after creating the root RAID volume: the first run
saves the disk serials in ``extra.block_devices``; the second finds the one new serial and
makes it the root device hint (spec 5.4).
"""

from __future__ import annotations

import logging
from typing import Any

from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)


class RaidDeviceHook(BaseHook):
    """Saves disk serials on the first run and sets ``properties.root_device`` on the second."""

    def before_processing(self, data: dict[str, Any]) -> None:
        """Fake ``local_gb = 1`` until the RAID volume exists, so later steps do not fail."""
        if not data.get("local_gb"):
            LOG.info("No volume found on the node, setting a fake local_gb of 1")
            data["local_gb"] = 1

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Record the serials, or derive the root device from the new one."""
        current = disk_serials(data)
        if not current:
            LOG.warning("No block device was received from the ramdisk for node %s", node.uuid)
            return
        if "root_device" in node.properties:
            LOG.info("The root device of node %s is already known", node.uuid)
            return
        saved = node.node["extra"].get("block_devices")
        if saved is None:
            node.patch([{"op": "add", "path": "/extra/block_devices",
                         "value": {"serials": current}}])
            return
        self.set_root_device(node, new_serials(current, saved))

    def set_root_device(self, node: NodeChanges, new: list[str]) -> None:
        """Make the single new serial the root device hint; warn when there is not one."""
        if len(new) != 1:
            LOG.warning("Cannot identify the root device of node %s: %s new devices found "
                        "(%s)", node.uuid, len(new), new)
            return
        node.patch([{"op": "remove", "path": "/extra/block_devices"},
                    {"op": "add", "path": "/properties/root_device",
                     "value": {"serial": new[0]}}])


def disk_serials(data: dict[str, Any]) -> list[str]:
    """Serials of the inventory disks that have one (legacy: ``block_devices.serials``)."""
    inventory = data.get("inventory")
    if isinstance(inventory, dict):
        disks = inventory.get("disks") or []
        return [d["serial"] for d in disks if isinstance(d, dict) and d.get("serial")]
    legacy = data.get("block_devices")
    return list((legacy.get("serials") if isinstance(legacy, dict) else None) or [])


def new_serials(current: list[str], saved: Any) -> list[str]:
    """Serials in ``current`` that the saved ``extra.block_devices`` does not list."""
    previous = saved.get("serials") if isinstance(saved, dict) else None
    known = previous if isinstance(previous, list) else []
    return list(dict.fromkeys(s for s in current if s not in known))
