"""``ironic-inspector-dbsync``: the database schema, with upstream's subcommands.

* ``upgrade [--revision R]``: create, upgrade, or adopt an ironic-inspector database, up to
  MetalScope's head (``head``, the default) or one of MetalScope's revisions;
* ``stamp --revision R``: record a revision without migrating (``head``, MetalScope's or
  ironic-inspector's revision IDs);
* ``current``, ``version``: the revisions the database records; ``heads``, ``history``,
  ``branches``: the two lineages' heads and revisions (no branches);
* ``downgrade [--revision R]``: back to a MetalScope revision, or by default hand the
  database back to ironic-inspector at its head;
* ``revision``, ``show``, ``edit``: refused, MetalScope ships its migrations.

Options before the subcommand (``--config-file``, ...), as oslo.config requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metalscope.cli.db import version_lines
from metalscope.cli.upstream.command_line import fail, read_command_line, run_command
from metalscope.settings.loader import Subcommand
from metalscope.storage import migrate

PROG = "ironic-inspector-dbsync"
REFUSED = {
    "revision": "MetalScope ships its own migrations; there are none to write",
    "show": "MetalScope's migrations are part of its package; `history` lists them",
    "edit": "MetalScope's migrations are part of its package and are not edited in place",
}


def add_subcommands(subparsers: Any) -> None:
    """Upstream's subcommands and arguments, and MetalScope's ``version``, ``downgrade``."""
    for name, text in (("current", "The revisions the database records."),
                       ("version", "The revisions the database records."),
                       ("history", "The revisions of both lineages, oldest first."),
                       ("branches", "Branches of the lineages (there are none)."),
                       ("heads", "The head revision of each lineage.")):
        subparsers.add_parser(name, help=text)
    for name in ("stamp", "show", "edit"):
        command = subparsers.add_parser(name, help=f"{name} a revision.")
        command.add_argument("--revision", nargs="?", required=True)
    command = subparsers.add_parser("upgrade", help="Create, upgrade or adopt the schema.")
    command.add_argument("--revision", nargs="?")
    command = subparsers.add_parser(
        "downgrade", help="Back to a MetalScope revision or ironic-inspector's head.")
    command.add_argument("--revision", nargs="?")
    command = subparsers.add_parser("revision", help="Refused: MetalScope ships its migrations.")
    command.add_argument("-m", "--message")
    command.add_argument("--autogenerate", action="store_true")


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(PROG, _run, argv)


def _run(argv: list[str]) -> int:
    line = read_command_line(argv, PROG, subcommands=add_subcommands)
    assert line.subcommand is not None
    name = line.subcommand.name
    if name in REFUSED:
        return fail(PROG, f"{name} is not available: {REFUSED[name]}.")
    for text in COMMANDS[name](line.settings.database.connection, line.subcommand):
        print(text)
    return 0


def _upgrade(url: str, command: Subcommand) -> list[str]:
    revision = command.get("revision", "head")
    if revision in migrate.revision_history()["ironic-inspector"]:
        raise migrate.SchemaError(
            f"{revision} is one of ironic-inspector's revisions: MetalScope upgrades to its "
            f"own revisions (head, or one of "
            f"{', '.join(migrate.revision_history()['MetalScope'])}).")
    adopted = migrate.upgrade(url, revision)
    lines = [f"Adopted the ironic-inspector database at revision {adopted}"] if adopted else []
    return [*lines, *version_lines(migrate.versions(url))]


def _stamp(url: str, command: Subcommand) -> list[str]:
    migrate.stamp(url, command.get("revision", "head"))
    return version_lines(migrate.versions(url))


def _downgrade(url: str, command: Subcommand) -> list[str]:
    changed = migrate.downgrade(url, command.get("revision", migrate.UPSTREAM_HEAD))
    lines = [] if changed else ["Nothing to do: the database has no MetalScope schema"]
    return [*lines, *version_lines(migrate.versions(url))]


def _current(url: str, command: Subcommand) -> list[str]:
    return version_lines(migrate.versions(url))


def _heads(url: str, command: Subcommand) -> list[str]:
    return [f"MetalScope: {migrate.head_revision()} (head)",
            f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]


def _history(url: str, command: Subcommand) -> list[str]:
    return [f"{lineage}: {' -> '.join(revisions)}"
            for lineage, revisions in migrate.revision_history().items()]


def _branches(url: str, command: Subcommand) -> list[str]:
    return []


COMMANDS = {"upgrade": _upgrade, "stamp": _stamp, "downgrade": _downgrade,
            "current": _current, "version": _current, "heads": _heads, "history": _history,
            "branches": _branches}
