"""The PXE filter contract (spec section 8): what every driver provides, and its error.

A driver keeps the inspection DHCP server open for MACs of nodes under introspection and
closed for other MACs Ironic knows. The service tells it about changes as they happen
(``allow``/``deny`` when an introspection starts or ends) and calls ``reconcile`` for a full
check now and then. Every method is idempotent.

A driver is registered under the entry-point group ``metalscope.pxe_filter_drivers`` with
upstream's driver name (``noop``, ``dnsmasq``, ``iptables``), so ``[pxe_filter]driver`` keeps
working. The entry point is a factory called as ``factory(settings, repo, ironic)`` (the
repository and the Ironic client may be None where no service runs) that returns a
:class:`PXEFilter`.
"""

from __future__ import annotations

from typing import Protocol

from metalscope.errors import MetalScopeError


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
