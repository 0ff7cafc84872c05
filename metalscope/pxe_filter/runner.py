"""The PXE filter on its own: started, reconciled every sync period, stopped.

This is what ``metalscope pxe-filter`` runs beside dnsmasq: the driver is reconciled every
``[pxe_filter]sync_period`` seconds from the database (the introspections any MetalScope
instance runs) and Ironic until it is told to stop (SIGTERM or SIGINT), then torn down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from metalscope.errors import ConfigurationError, MetalScopeError
from metalscope.pxe_filter.base import PXEFilter, check_filter_settings
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)


def check_runner_settings(settings: Settings) -> None:
    """Refuse settings under which a filter process alone has nothing to do or never syncs."""
    check_filter_settings(settings)
    if settings.pxe_filter.driver == "noop":
        raise ConfigurationError("[pxe_filter]driver is noop: there is no filter to run; "
                                 "set it to dnsmasq or iptables")
    if settings.pxe_filter.sync_period <= 0:
        raise ConfigurationError("[pxe_filter]sync_period must be positive for pxe-filter: "
                                 "it is the only way this process learns about changes")


async def run_filter(pxe_filter: PXEFilter, settings: Settings, stop: asyncio.Event) -> None:
    """Start the filter, reconcile it every sync period until ``stop`` is set, stop it."""
    try:
        await pxe_filter.start()
        LOG.info("PXE filter %s running, syncing every %s s", settings.pxe_filter.driver,
                 settings.pxe_filter.sync_period)
        while not await _wait(stop, settings.pxe_filter.sync_period):
            try:
                await pxe_filter.reconcile()
            except MetalScopeError as exc:
                LOG.warning("PXE filter sync failed: %s", exc)
            except Exception:
                LOG.exception("PXE filter sync failed")
    finally:
        await pxe_filter.stop()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (on the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set; True when it is set."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()
