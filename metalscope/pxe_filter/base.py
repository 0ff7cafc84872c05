"""The PXE filter contract and the ``noop`` driver (spec section 8).

A driver keeps the inspection DHCP server open for MACs of nodes under introspection and
closed for other MACs Ironic knows. The service tells it about changes as they happen
(``allow``/``deny`` when an introspection starts or ends) and calls ``reconcile`` for a full
check now and then. Every method is idempotent.

The drivers themselves are in ``driver.py`` (the shared life cycle), ``policy.py`` (the pure
decision and diff), ``dnsmasq.py`` and ``iptables.py`` (applying a diff).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from metalscope.errors import ConfigurationError, MetalScopeError
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient
    from metalscope.storage.repository import Repository

DRIVERS = ("noop", "dnsmasq", "iptables")


class PXEFilterError(MetalScopeError):
    """The filter could not be updated; it re-initialises itself at the next call."""


class PXEFilter(Protocol):
    async def start(self) -> None:
        """Prepare the filter (called once at start-up); raises when it cannot work at all."""

    async def allow(self, macs: set[str]) -> None:
        """Let these MACs (of a node whose introspection started) get DHCP answers.

        Raises :class:`PXEFilterError` when the filter could not be opened.
        """

    async def deny(self, macs: set[str]) -> None:
        """Stop answering these MACs (their introspection ended).

        Never raises: a failure is logged and repaired by the next ``reconcile``.
        """

    async def reconcile(self) -> None:
        """Bring the filter in line with the database and Ironic (periodic safety net).

        Ironic being unreachable makes it a logged no-op; a failure to apply raises
        :class:`PXEFilterError` and the next call starts by re-initialising the driver.
        """

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


def check_filter_settings(settings: Settings) -> None:
    """Refuse PXE filter settings that cannot work (before anything starts)."""
    driver = settings.pxe_filter.driver
    if settings.pxe_filter.deny_unknown_macs and settings.processing.node_not_found_hook:
        raise ConfigurationError(
            "Configuration error: [pxe_filter]deny_unknown_macs isenabled and "
            "[processing]node_not_found_hook is enabled.These options cannot both be "
            "enabled simultaneously.")
    if driver not in DRIVERS:
        raise ConfigurationError(f"[pxe_filter]driver = {driver} is not a PXE filter driver; "
                                 f"use one of {', '.join(DRIVERS)}")


def create_filter(settings: Settings, repo: Repository | None = None,
                  ironic: IronicClient | None = None) -> PXEFilter:
    """The configured driver; every driver but noop needs the repository and Ironic."""
    check_filter_settings(settings)
    if settings.pxe_filter.driver == "noop":
        return NoopFilter()
    if repo is None or ironic is None:
        raise ValueError(f"the {settings.pxe_filter.driver} PXE filter needs the repository "
                         "and the Ironic client")
    from metalscope.pxe_filter.driver import build_driver
    return build_driver(settings, repo, ironic)
