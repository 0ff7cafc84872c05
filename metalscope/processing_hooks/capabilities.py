"""The ``capabilities`` hook: boot mode and CPU-flag capabilities (spec 5.4).

A boot mode that Ironic's capabilities string cannot carry (a ``,`` or ``:`` in it: IPA
reports ``bios`` or ``uefi``) fails the node with the capability named
(:class:`~metalscope.node_changes.CapabilityError`) rather than adding other capabilities;
a ``[capabilities]cpu_flags`` capability name with one of them stops start-up.
"""

from __future__ import annotations

from typing import Any

from metalscope.errors import ConfigurationError
from metalscope.inventory import get_inventory, section
from metalscope.node_changes import NodeChanges, capability_problem
from metalscope.processing_hooks.spec import BaseHook
from metalscope.settings import Settings


class CapabilitiesHook(BaseHook):
    """Merges ``boot_mode:<mode>`` and ``<capability>:true`` per CPU flag into capabilities.

    Not gated by ``[processing]overwrite_existing``: capabilities are always merged.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        check_cpu_flags(settings.capabilities.cpu_flags)

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Update the node's capabilities when anything was detected."""
        inventory = get_inventory(data)
        found = {**self.boot_mode(inventory), **self.cpu_capabilities(inventory)}
        if found:
            node.update_capabilities(**found)

    def boot_mode(self, inventory: dict[str, Any]) -> dict[str, str]:
        """``{"boot_mode": <mode>}`` when enabled and reported, else empty."""
        mode = section(inventory, "boot").get("current_boot_mode")
        if not self.settings.capabilities.boot_mode or not mode:
            return {}
        return {"boot_mode": str(mode)}

    def cpu_capabilities(self, inventory: dict[str, Any]) -> dict[str, str]:
        """One ``<capability>: "true"`` per configured flag the CPU has, in configured order."""
        # Upstream fails with an unexpected error (500) without ``inventory.cpu`` (spec 5.4);
        # here a CPU that is not reported simply has no flags.
        flags = set(section(inventory, "cpu").get("flags") or [])
        return {capability: "true"
                for flag, capability in self.settings.capabilities.cpu_flags.items()
                if flag in flags}


def check_cpu_flags(cpu_flags: dict[str, str]) -> None:
    """Refuse capability names Ironic's capabilities string cannot carry."""
    for flag, capability in cpu_flags.items():
        problem = capability_problem(capability, "true")
        if problem is not None:
            raise ConfigurationError(f"[capabilities]cpu_flags: the capability {capability!r} "
                                     f"of CPU flag {flag!r} cannot be used: {problem}")
