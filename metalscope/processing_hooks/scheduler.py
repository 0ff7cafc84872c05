"""The ``scheduler`` hook: CPU count, CPU architecture and RAM for Nova (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

from metalscope.inventory import get_inventory
from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)

SCHEDULER_PROPERTIES = ("cpus", "cpu_arch", "memory_mb")


class SchedulerHook(BaseHook):
    """Copies ``cpus``, ``cpu_arch`` and ``memory_mb`` into the data and the node properties."""

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Set the data keys from the inventory, then the properties (as strings)."""
        inventory = get_inventory(data)
        data.update(cpu_facts(inventory))
        data.update(memory_facts(inventory))
        updates = {name: str(data[name]) for name in SCHEDULER_PROPERTIES
                   if data.get(name) and self._may_set(node, name)}
        if updates:
            node.update_properties(**updates)

    def _may_set(self, node: NodeChanges, name: str) -> bool:
        return self.settings.processing.overwrite_existing or not node.properties.get(name)


def cpu_facts(inventory: dict[str, Any]) -> dict[str, Any]:
    """``cpus`` and ``cpu_arch`` from ``inventory.cpu``; neither if either is unusable."""
    cpu: Any = inventory.get("cpu")
    try:
        return {"cpus": int(cpu["count"]), "cpu_arch": str(cpu["architecture"])}
    except (KeyError, TypeError, ValueError):
        LOG.warning("Malformed or missing CPU information in the inventory: %s", cpu)
        return {}


def memory_facts(inventory: dict[str, Any]) -> dict[str, Any]:
    """``memory_mb`` from ``inventory.memory.physical_mb`` (``memory.total`` is not used)."""
    memory: Any = inventory.get("memory")
    try:
        return {"memory_mb": int(memory["physical_mb"])}
    except (KeyError, TypeError, ValueError):
        LOG.warning("Malformed or missing memory information in the inventory: %s", memory)
        return {}
