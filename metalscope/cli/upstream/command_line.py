"""What every upstream-named command shares: parsing its command line and ending it.

Errors end a command with one line on standard error (``<prog>: <message>``) and exit status
1, as upstream's ``sys.exit(message)``; usage errors are argparse's (status 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from metalscope.cli.version import package_version
from metalscope.errors import MetalScopeError
from metalscope.settings import Settings
from metalscope.settings.loader import CommandLine, CommandOption, load_command_line

__all__ = ["CommandOption", "fail", "read_command_line", "reloader", "run_command"]


def read_command_line(argv: Sequence[str], prog: str, *,
                      options: Sequence[CommandOption] = (),
                      subcommands: Callable[[Any], None] | None = None) -> CommandLine:
    """``argv`` parsed as upstream's ``prog`` parses it, with MetalScope's version for
    ``--version``; ConfigurationError when the files cannot be read."""
    return load_command_line(argv, prog=prog, version=package_version(), options=options,
                             subcommands=subcommands)


def reloader(argv: Sequence[str], prog: str) -> Callable[[], Settings]:
    """Reads the same command line's configuration again (for SIGHUP)."""
    arguments = list(argv)
    return lambda: read_command_line(arguments, prog).settings


def run_command(prog: str, body: Callable[[list[str]], int],
                argv: Sequence[str] | None) -> int:
    """Run ``body`` on the arguments (``sys.argv[1:]`` when None): configuration and
    expected errors become one line and status 1, an interrupt status 130."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return body(arguments)
    except MetalScopeError as exc:
        return fail(prog, str(exc))
    except KeyboardInterrupt:
        return 130


def fail(prog: str, message: str) -> int:
    """``<prog>: <message>`` (one line) on standard error; returns exit status 1."""
    print(f"{prog}: {' '.join(message.split())}", file=sys.stderr)
    return 1
