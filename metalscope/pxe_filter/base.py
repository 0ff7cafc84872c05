"""The PXE filter a service runs with: the ``noop`` driver and the choice of driver.

``[pxe_filter]driver`` names an entry point of ``metalscope.pxe_filter_drivers`` (see
:mod:`metalscope.pxe_filter.spec` for the contract). The other built-in drivers are in
``driver.py`` (the shared life cycle), ``policy.py`` (the pure decision and diff),
``dnsmasq.py`` and ``iptables.py`` (applying a diff).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from metalscope.errors import ConfigurationError
from metalscope.plugin_group import PluginGroup
from metalscope.pxe_filter.spec import PXEFilter, PXEFilterError
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient
    from metalscope.storage.repository import Repository

__all__ = ["PXE_FILTER_DRIVERS", "NoopFilter", "PXEFilter", "PXEFilterError",
           "check_filter_settings", "create_filter", "noop_filter"]


def _not_a_driver(name: str, available: Sequence[str]) -> str:
    return (f"[pxe_filter]driver = {name} is not a PXE filter driver; "
            f"use one of {', '.join(available)}")


PXE_FILTER_DRIVERS: PluginGroup[PXEFilter] = PluginGroup(
    "metalscope.pxe_filter_drivers", "PXE filter driver", PXEFilter, _not_a_driver)


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


def noop_filter(settings: Settings, repo: Repository | None,
                ironic: IronicClient | None) -> NoopFilter:
    """The ``noop`` driver: needs neither the repository nor Ironic."""
    return NoopFilter()


def check_filter_settings(settings: Settings) -> None:
    """Refuse PXE filter settings that cannot work (before anything starts)."""
    driver = settings.pxe_filter.driver
    if settings.pxe_filter.deny_unknown_macs and settings.processing.node_not_found_hook:
        raise ConfigurationError(
            "Configuration error: [pxe_filter]deny_unknown_macs isenabled and "
            "[processing]node_not_found_hook is enabled.These options cannot both be "
            "enabled simultaneously.")
    available = PXE_FILTER_DRIVERS.names()
    if driver not in available:
        raise ConfigurationError(_not_a_driver(driver, available))


def create_filter(settings: Settings, repo: Repository | None = None,
                  ironic: IronicClient | None = None) -> PXEFilter:
    """The configured driver; every driver but noop needs the repository and Ironic."""
    check_filter_settings(settings)
    return PXE_FILTER_DRIVERS.create(settings.pxe_filter.driver, settings, repo, ironic)
