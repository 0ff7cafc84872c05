"""``ironic-inspector-migrate-data --from {database,swift} --to {database,swift}``: copies the
stored introspection data (processed and unprocessed) of every node record from one data
store to the other, as upstream does; the work is :func:`metalscope.cli.data.run_migration`'s
(exit status 0, 1 when a copy failed, 2 for the same store twice).
"""

from __future__ import annotations

from collections.abc import Sequence

from metalscope.cli.upstream.command_line import CommandOption, read_command_line, run_command

PROG = "ironic-inspector-migrate-data"
STORES = ("database", "swift")
OPTIONS = (
    CommandOption("from", "source_storage", choices=STORES, required=True,
                  help="The source storage where the introspected data will be read from."),
    CommandOption("to", "target_storage", choices=STORES, required=True,
                  help="The target storage where the introspected data will be saved to."),
)


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(PROG, _migrate, argv)


def _migrate(argv: list[str]) -> int:
    line = read_command_line(argv, PROG, options=OPTIONS)
    from metalscope.cli.data import run_migration
    return run_migration(line.settings, line.options["source_storage"],
                         line.options["target_storage"], print)
