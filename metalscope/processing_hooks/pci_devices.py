"""The ``pci_devices`` hook: count PCI devices matching ``[pci_devices]alias`` (spec 5.4)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from metalscope.node_changes import NodeChanges, capability_problem
from metalscope.processing_hooks.spec import BaseHook
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)

ALIAS_KEYS = frozenset({"vendor_id", "product_id", "name"})

#: ``(vendor_id, product_id)`` -> alias name.
Aliases = dict[tuple[str, str], str]


class PciDevicesHook(BaseHook):
    """Sets a ``<alias name>:<count>`` capability for each aliased device found."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.aliases = parse_aliases(settings.pci_devices.alias)

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Count ``data.pci_devices`` per alias and merge the counts into capabilities."""
        if "pci_devices" not in data:
            if self.aliases:
                LOG.warning("No PCI device information was received from the ramdisk "
                            "for node %s", node.uuid)
            return
        counts = count_aliased(data["pci_devices"] or [], self.aliases)
        if counts:
            node.update_capabilities(**{name: str(count) for name, count in counts.items()})


def parse_aliases(entries: list[str]) -> Aliases:
    """Parse each JSON alias; invalid entries are logged and left out."""
    aliases: Aliases = {}
    for entry in entries:
        alias = _parse_alias(entry)
        if alias is not None:
            aliases[(alias["vendor_id"], alias["product_id"])] = str(alias["name"])
    return aliases


def count_aliased(devices: list[dict[str, Any]], aliases: Aliases) -> Counter[str]:
    """How many ``devices`` match each alias name."""
    pairs = ((device.get("vendor_id"), device.get("product_id")) for device in devices)
    return Counter(aliases[pair] for pair in pairs if pair in aliases)


def _parse_alias(entry: str) -> dict[str, Any] | None:
    try:
        alias = json.loads(entry)
    except ValueError as exc:
        LOG.error("Ignoring [pci_devices]alias entry %r, it is not valid JSON: %s", entry, exc)
        return None
    if not isinstance(alias, dict) or set(alias) != ALIAS_KEYS:
        LOG.error("Ignoring [pci_devices]alias entry %r, it must be an object with exactly "
                  "the keys vendor_id, product_id and name", entry)
        return None
    problem = capability_problem(str(alias["name"]), 0)
    if problem is not None:  # the name becomes a capability name
        LOG.error("Ignoring [pci_devices]alias entry %r, its name cannot be a capability "
                  "name: %s", entry, problem)
        return None
    return alias
