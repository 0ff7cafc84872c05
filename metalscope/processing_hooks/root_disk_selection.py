"""The ``root_disk_selection`` hook: choose the root disk and set ``local_gb`` (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

from metalscope import root_device_hints
from metalscope.errors import HookError
from metalscope.inventory import get_inventory
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)


class RootDiskSelectionHook(BaseHook):
    """Applies the node's root device hints and records the root disk size in GiB."""

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Pick ``data.root_disk`` from the hints (if any), then set ``local_gb``."""
        inventory = get_inventory(data)
        hints = node.properties.get("root_device")
        if hints:
            inventory["disks"] = without_skipped_disks(
                inventory["disks"], node.properties.get("skip_block_devices"))
            data["root_disk"] = select_root_disk(inventory["disks"], hints)
        local_gb = self.local_gb(data.get("root_disk"), node.uuid)
        data["local_gb"] = local_gb
        if self.settings.processing.overwrite_existing or not node.properties.get("local_gb"):
            node.update_properties(local_gb=str(local_gb))

    def local_gb(self, root_disk: Any, node_uuid: str) -> int:
        """Root disk size in whole GiB, minus 1 GiB for partitioning when configured."""
        if not root_disk:
            LOG.info("No root disk found for node %s, assuming a diskless node", node_uuid)
            return 0
        size_gib = int(root_disk.get("size") or 0) // root_device_hints.GIB
        if size_gib == 0:
            LOG.warning("Root disk %s of node %s is smaller than 1 GiB, setting local_gb to 0",
                        root_disk.get("name"), node_uuid)
            return 0
        return size_gib - 1 if self.settings.processing.disk_partitioning_spacing else size_gib


def select_root_disk(disks: list[dict[str, Any]], hints: Any) -> dict[str, Any]:
    """The first disk satisfying ``hints``; raises the upstream messages otherwise."""
    matching = root_device_hints.find_disks(disks, _parsed(hints))
    if not matching:
        raise HookError("No disks satisfied root device hints")
    return matching[0]


def without_skipped_disks(disks: list[dict[str, Any]], skip_hints: Any) -> list[dict[str, Any]]:
    """``disks`` minus every disk matching any hint set of ``properties.skip_block_devices``."""
    parsed = [_parsed(hints) for hints in (skip_hints or [])]
    return [disk for disk in disks
            if not any(root_device_hints.disk_matches(disk, hints) for hints in parsed)]


def _parsed(hints: Any) -> list[root_device_hints.Hint]:
    try:
        return root_device_hints.parse_hints(hints)
    except root_device_hints.InvalidRootDeviceHints as exc:
        raise HookError(f"No disks could be found using the root device hints {hints} "
                        f"because they failed to validate. Error: {exc}") from exc
