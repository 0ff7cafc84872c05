"""``ironic-inspector-migrate-data --from {database,swift} --to {database,swift}``: copies the
stored introspection data (processed and unprocessed) of every node record from one data
store to the other, as upstream does; the work is :func:`metalscope.cli.data.run_migration`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from metalscope.cli.upstream.command_line import (
    CommandOption,
    fail,
    read_command_line,
    run_command,
)

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
    source, target = line.options["source_storage"], line.options["target_storage"]
    if source == target:
        return fail(PROG, "Source and destination can not be the same.")
    return run_migration(line.settings, source, target, print)
