"""A conductor-role process: no HTTP listener; the PXE filter driver, the periodic duties
and the recovery of interrupted records, as a candidate leader, until asked to stop."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

from metalscope import background, wiring
from metalscope.api import metrics_listener
from metalscope.process_control import StopRequest
from metalscope.process_roles import Role
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)


async def run_conductor(settings: Settings, stop: StopRequest) -> None:
    """Run the conductor's duties until ``stop`` is requested, then give the background work
    in flight what is left of the stop bound and close everything."""
    async with AsyncExitStack() as stack:
        svc = await stack.enter_async_context(wiring.open_services(settings, Role.CONDUCTOR))
        await stack.enter_async_context(wiring.started(svc))
        stack.push_async_callback(
            lambda: svc.background.drain(stop.remaining(), stop.forced_event))
        await stack.enter_async_context(background.duties(svc))
        await stack.enter_async_context(metrics_listener.serving(svc))
        LOG.info("Conductor running: PXE filter %s, periodic tasks and recovery",
                 settings.pxe_filter.driver)
        await stop.wait()
        LOG.info("Conductor stopping")
