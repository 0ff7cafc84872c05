"""``metalscope pxe-filter``: run only the PXE filter, beside dnsmasq, on the shared database.

The process starts the configured driver, reconciles it every ``[pxe_filter]sync_period``
seconds from the database (the introspections any MetalScope instance runs) and Ironic, and
tears it down on SIGTERM/SIGINT. It serves no API. Give the API instances
``[pxe_filter]driver = noop`` when this process owns the filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click

from metalscope.cli_options import config_options, load_cli_settings
from metalscope.errors import ConfigurationError, MetalScopeError
from metalscope.logging_setup import setup_logging
from metalscope.pxe_filter.base import check_filter_settings, create_filter
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)


async def run_filter(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Start the filter, reconcile it every sync period until ``stop`` is set, tear it down."""
    from metalscope.ironic_client import IronicClient
    from metalscope.storage import migrate
    from metalscope.storage.engine import create_engine, pool_options
    from metalscope.storage.repository import Repository

    problem = await asyncio.to_thread(migrate.schema_problem, settings.database.connection)
    if problem:
        raise ConfigurationError(problem)
    stop = stop or _stop_on_signals()
    engine = create_engine(settings.database.connection, pool_options(settings.database))
    ironic = IronicClient.from_settings(settings)
    pxe_filter = create_filter(settings, Repository(engine), ironic)
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
        try:
            await pxe_filter.stop()
        finally:
            await ironic.aclose()
            await engine.dispose()


def _stop_on_signals() -> asyncio.Event:
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


def check_command_settings(settings: Settings) -> None:
    check_filter_settings(settings)
    if settings.pxe_filter.driver == "noop":
        raise ConfigurationError("[pxe_filter]driver is noop: there is no filter to run; "
                                 "set it to dnsmasq or iptables")
    if settings.pxe_filter.sync_period <= 0:
        raise ConfigurationError("[pxe_filter]sync_period must be positive for pxe-filter: "
                                 "it is the only way this process learns about changes")


@click.command("pxe-filter")
@config_options
def pxe_filter_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Run only the PXE filter (reconciled every sync_period), beside dnsmasq."""
    settings = load_cli_settings(config_files, config_dirs)
    try:
        setup_logging(settings, program="metalscope-pxe-filter")
        check_command_settings(settings)
        asyncio.run(run_filter(settings))
    except (MetalScopeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
