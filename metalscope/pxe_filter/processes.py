"""Running the external programs the filters drive (iptables, dnsmasq start/stop commands).

Commands are run directly, without ``sudo``/rootwrap (upstream's ``[DEFAULT]rootwrap_config``
is not used): the process running the filter needs the privileges itself, e.g.
``CAP_NET_ADMIN`` for iptables, or runs as ``metalscope pxe-filter`` under its own account.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from metalscope.pxe_filter.spec import PXEFilterError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandFailed(PXEFilterError):
    def __init__(self, result: Completed) -> None:
        detail = (result.stderr or result.stdout).strip()
        super().__init__(f"Command {' '.join(result.argv)} exited with {result.returncode}"
                         + (f": {detail}" if detail else ""))
        self.result = result


class CommandRunner(Protocol):
    async def __call__(self, argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        """Run ``argv`` to completion (never raises for a non-zero exit status)."""


async def run_command(argv: Sequence[str], stdin: bytes | None = None) -> Completed:
    """The real runner: one child process, output captured."""
    pipe = asyncio.subprocess.PIPE
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=pipe if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=pipe, stderr=pipe)
    except OSError as exc:  # missing binary, no permission
        return Completed(tuple(argv), 127, "", str(exc))
    out, err = await proc.communicate(stdin)
    result = Completed(tuple(argv), proc.returncode or 0, out.decode(errors="replace"),
                       err.decode(errors="replace"))
    LOG.debug("%s -> %s", " ".join(argv), result.returncode)
    return result


def checked(result: Completed) -> Completed:
    """``result``, or CommandFailed when it exited with an error."""
    if not result.ok:
        raise CommandFailed(result)
    return result
