"""``metalscope pxe-filter``: run only the PXE filter, beside dnsmasq, on the shared database.

The process runs :func:`metalscope.pxe_filter.runner.run_filter` on the configured driver
until SIGTERM or SIGINT. It serves no API. Give the API instances
``[pxe_filter]driver = noop`` when this process owns the filter.
"""

from __future__ import annotations

import asyncio

import click

from metalscope.cli.options import config_options, load_cli_settings
from metalscope.errors import MetalScopeError
from metalscope.logging_setup import setup_logging
from metalscope.pxe_filter.runner import check_runner_settings, run_filter, stop_on_signals
from metalscope.settings import Settings
from metalscope.wiring import open_pxe_filter


async def _run(settings: Settings) -> None:
    async with open_pxe_filter(settings) as pxe_filter:
        await run_filter(pxe_filter, settings, stop_on_signals())


@click.command("pxe-filter")
@config_options
def pxe_filter_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Run only the PXE filter (reconciled every sync_period), beside dnsmasq."""
    settings = load_cli_settings(config_files, config_dirs)
    try:
        setup_logging(settings, program="metalscope-pxe-filter")
        check_runner_settings(settings)
        asyncio.run(_run(settings))
    except (MetalScopeError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
