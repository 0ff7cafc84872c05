"""``ironic-inspector-status upgrade check [--json]``: whether this host is ready to run
MetalScope in place of ironic-inspector.

The checks (:mod:`metalscope.upgrade_checks`): the configuration loads; the database is at
MetalScope's head (a database ``dbsync upgrade`` would bring there is a warning); Ironic
answers an authenticated request with the ``[ironic]`` credentials; with ``store_data =
swift``, Swift answers a HEAD of the container with the ``[swift]`` credentials; the options
MetalScope
ignores that the files set. The results are printed as oslo.upgradecheck prints them (a
table, or JSON with ``--json``); the exit status is the worst result: 0 success, 1 warning,
2 failure.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from metalscope import upgrade_checks as checks
from metalscope.cli.upstream.command_line import read_command_line
from metalscope.errors import MetalScopeError
from metalscope.settings import Settings

PROG = "ironic-inspector-status"
TITLE = "Upgrade Check Results"
#: oslo.upgradecheck wraps the details at 60 characters.
DETAILS_WIDTH = 60


def add_subcommands(subparsers: Any) -> None:
    """oslo.upgradecheck's ``upgrade check [--json]``."""
    command = subparsers.add_parser("upgrade")
    command.add_argument("check")
    command.add_argument("--json", action="store_true",
                         help="Output the results in JSON format. Default is to print "
                              "results in human readable table format.")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        line = read_command_line(arguments, PROG, subcommands=add_subcommands)
    except MetalScopeError as exc:
        results = [checks.configuration_check((), str(exc))]
        as_json = "--json" in arguments
    else:
        results = run_checks(line.settings)
        as_json = bool(line.subcommand and line.subcommand.get("json", False))
    print(render_json(results) if as_json else render_table(results))
    return int(checks.worst(results))


def run_checks(settings: Settings) -> list[checks.CheckResult]:
    from metalscope.logging_setup import ignored_options
    from metalscope.unused_options import ignored_settings
    ignored = ignored_settings(settings.differs_from_default) + ignored_options(settings)
    return [checks.configuration_check(settings.config_files), database_result(settings),
            asyncio.run(ironic_result(settings)), data_store_result(settings),
            checks.ignored_options_check(ignored)]


def database_result(settings: Settings) -> checks.CheckResult:
    from metalscope.cli.db import version_lines
    from metalscope.storage import migrate
    try:
        found = migrate.readiness(settings.database.connection)
    except migrate.SchemaError as exc:
        return checks.database_unreadable(str(exc))
    return checks.database_check(", ".join(version_lines(found.versions)), found.problem,
                                 found.upgradable)


async def ironic_result(settings: Settings) -> checks.CheckResult:
    from metalscope.ironic_client import IronicClient
    try:
        client = IronicClient.from_settings(settings, attempts=1)
    except MetalScopeError as exc:
        return checks.ironic_check(None, str(exc))
    try:
        return checks.ironic_check(await client.check_access())
    except MetalScopeError as exc:
        return checks.ironic_check(None, str(exc))
    finally:
        await client.aclose()


def data_store_result(settings: Settings) -> checks.CheckResult:
    """The configured store can be built; Swift reached with the ``[swift]`` credentials
    (the other stores need no request)."""
    from metalscope.storage.data_store import check_store_settings
    name = settings.processing.store_data
    try:
        check_store_settings(settings)
    except MetalScopeError as exc:
        return checks.data_store_check(name, None, str(exc))
    if name != "swift":
        return checks.data_store_check(name, None)
    return asyncio.run(swift_result(settings))


async def swift_result(settings: Settings) -> checks.CheckResult:
    from metalscope.storage.swift_store import SwiftStore, swift_client
    try:
        store = SwiftStore(swift_client(settings), settings.swift.container)
    except MetalScopeError as exc:
        return checks.data_store_check("swift", None, str(exc))
    try:
        return checks.data_store_check("swift", await store.check())
    except MetalScopeError as exc:
        return checks.data_store_check("swift", None, str(exc))
    finally:
        await store.aclose()


def render_table(results: Sequence[checks.CheckResult]) -> str:
    """oslo.upgradecheck's table: a title row, then one row per check."""
    rows = [[TITLE]] + [_cell(result) for result in results]
    width = max(len(text) for row in rows for text in row)
    rule = "+" + "-" * (width + 2) + "+"
    lines = [rule]
    for row in rows:
        lines += [f"| {text.ljust(width)} |" for text in row]
        lines.append(rule)
    return "\n".join(lines)


def _cell(result: checks.CheckResult) -> list[str]:
    details = ("\n".join(textwrap.wrap(result.details, DETAILS_WIDTH, subsequent_indent="  "))
               if result.details is not None else None)
    text = f"Check: {result.check}\nResult: {result.code.label}\nDetails: {details}"
    return text.split("\n")


def render_json(results: Sequence[checks.CheckResult]) -> str:
    """oslo.upgradecheck's ``--json`` document."""
    return json.dumps({"name": TITLE, "checks": [
        {"check": result.check, "result": int(result.code), "details": result.details}
        for result in results]})
