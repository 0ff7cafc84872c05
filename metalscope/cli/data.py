"""``metalscope data migrate --from STORE --to STORE``: stored introspection data copied
between the ``database`` and ``swift`` stores for every node record (as upstream's
``ironic-inspector-migrate-data``; see :mod:`metalscope.storage.data_migration`).

It prints one line per copy (``<uuid> (processed=True): success``), then upstream's closing
message. Exit status: 0 when no copy failed, 1 when one did or the stores cannot be opened,
2 for stores it cannot copy between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import click

from metalscope.cli.options import config_options
from metalscope.cli.options import load_cli_settings as load
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings
from metalscope.storage.data_migration import FAILED, CopyOutcome, copy_all, summary
from metalscope.wiring import open_data_store, open_repository

#: The stores data can be copied between (upstream's choices).
STORES = ("database", "swift")
#: Exit statuses.
OK, FAILURES, REFUSED = 0, 1, 2


def refusal(source: str, target: str) -> str | None:
    """Why ``source`` → ``target`` cannot be done, or None."""
    for name in (source, target):
        if name not in STORES:
            return (f"Cannot migrate data with the '{name}' store: the stores are "
                    f"{' and '.join(STORES)}")
    if source == target:
        return "Source and destination can not be the same."
    return None


async def _copy(settings: Settings, source: str, target: str) -> list[CopyOutcome]:
    async with open_repository(settings) as repo, \
            open_data_store(settings, repo, source) as from_store, \
            open_data_store(settings, repo, target) as to_store:
        return await copy_all(repo, from_store, to_store)


def run_migration(settings: Settings, source: str, target: str,
                  echo: Callable[[str], None]) -> int:
    """Copy every node's data from store ``source`` to ``target``, report through ``echo``
    (one line per copy, then the summary) and return the exit status."""
    problem = refusal(source, target)
    if problem:
        echo(problem)
        return REFUSED
    try:
        outcomes = asyncio.run(_copy(settings, source, target))
    except ConfigurationError as exc:
        echo(str(exc))
        return FAILURES
    for outcome in outcomes:
        echo(outcome.line())
    echo(summary(outcomes))
    return FAILURES if any(o.result == FAILED for o in outcomes) else OK


@click.group("data")
def data() -> None:
    """Stored introspection data: copy it between stores."""


@data.command("migrate")
@click.option("--from", "source", required=True, type=click.Choice(STORES),
              help="The store the data is read from.")
@click.option("--to", "target", required=True, type=click.Choice(STORES),
              help="The store the data is saved to.")
@config_options
def migrate(source: str, target: str, config_files: tuple[str, ...],
            config_dirs: tuple[str, ...]) -> None:
    """Copy both copies (processed, unprocessed) of every node's data from one store to the
    other, reporting each: success, no content or failed."""
    status = run_migration(load(config_files, config_dirs), source, target, click.echo)
    if status:
        raise SystemExit(status)
