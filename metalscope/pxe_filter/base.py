"""The PXE filter contract and the ``noop`` driver (spec section 8).

A driver keeps the inspection DHCP server open for MACs of nodes under introspection and
closed for other MACs Ironic knows. The service tells it about changes as they happen
(``allow``/``deny`` when an introspection starts or ends) and calls ``reconcile`` for a full
check now and then. Every method is idempotent.
"""

from __future__ import annotations

from typing import Protocol

from metalscope.errors import ConfigurationError
from metalscope.settings import Settings


class PXEFilter(Protocol):
    async def start(self) -> None:
        """Prepare the filter (called once at start-up)."""

    async def allow(self, macs: set[str]) -> None:
        """Let these MACs (of a node whose introspection started) get DHCP answers."""

    async def deny(self, macs: set[str]) -> None:
        """Stop answering these MACs (their introspection ended)."""

    async def reconcile(self) -> None:
        """Bring the filter in line with the database and Ironic (periodic safety net)."""

    async def stop(self) -> None:
        """Tear the filter down (service shutdown)."""


class NoopFilter:
    """Does nothing: DHCP is managed elsewhere."""

    async def start(self) -> None:
        return None

    async def allow(self, macs: set[str]) -> None:
        return None

    async def deny(self, macs: set[str]) -> None:
        return None

    async def reconcile(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def create_filter(settings: Settings) -> PXEFilter:
    driver = settings.pxe_filter.driver
    if settings.pxe_filter.deny_unknown_macs and settings.processing.node_not_found_hook:
        raise ConfigurationError(
            "Configuration error: [pxe_filter]deny_unknown_macs isenabled and "
            "[processing]node_not_found_hook is enabled.These options cannot both be "
            "enabled simultaneously.")
    if driver == "noop":
        return NoopFilter()
    raise ConfigurationError(
        f"[pxe_filter]driver = {driver} is not available in this version of MetalScope; "
        f"use noop (and let the DHCP server answer every MAC) or upgrade")
