"""``ironic-inspector-conductor``: the conductor role of a split deployment (the PXE filter,
the periodic duties and recovery, no HTTP listener).

Like upstream, it refuses ``[DEFAULT]standalone = True``.
"""

from __future__ import annotations

from collections.abc import Sequence

from metalscope.cli.upstream.command_line import read_command_line, reloader, run_command

PROG = "ironic-inspector-conductor"


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(PROG, _serve, argv)


def _serve(argv: list[str]) -> int:
    from metalscope.process_roles import Role, check_deployment_mode
    from metalscope.server import run_server
    settings = read_command_line(argv, PROG).settings
    check_deployment_mode(settings, PROG)
    run_server(settings, role=Role.CONDUCTOR, reload_settings=reloader(argv, PROG),
               program=PROG)
    return 0
