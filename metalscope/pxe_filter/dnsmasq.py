"""The dnsmasq filter: one file per MAC in dnsmasq's ``--dhcp-hostsdir`` (spec 8.7).

A file named after the MAC holds ``<mac>\\n`` (answer it) or ``<mac>,ignore\\n`` (ignore it);
``unknown_hosts_filter`` holds the wildcard entry for every other MAC. dnsmasq re-reads a file
when it is closed after writing (inotify) and ignores deletions, so files are only ever
rewritten, never deleted after start-up.

Unlike upstream, the directory is read once (at start-up, or when re-initialising after a
failure) and the applied state kept in memory: a sync writes the changed files and reads
nothing. One filter per directory: run it either in the API service or as
``metalscope pxe-filter``, not in both on the same directory.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import re
import shlex
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from metalscope.pxe_filter.driver import DiffFilter, diff_filter
from metalscope.pxe_filter.policy import Changes, DesiredState, FilterState, Layout, Verdict
from metalscope.pxe_filter.processes import CommandRunner, checked, run_command
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient
    from metalscope.storage.repository import Repository

LOG = logging.getLogger(__name__)
UNKNOWN_HOSTS = "unknown_hosts_filter"
WILDCARD = "*:*:*:*:*:*"
IGNORE = ",ignore"
_MAC_NAME = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$")
LOCK_ATTEMPTS = 10
LOCK_DELAY = 0.01


def entry_text(host: str, verdict: Verdict) -> str:
    """The file content for ``host`` (a MAC or the wildcard)."""
    return f"{host}{IGNORE}\n" if verdict is Verdict.DENY else f"{host}\n"


def verdict_from_size(host: str, size: int) -> Verdict | None:
    """The policy a file holds, inferred from its size as upstream does (None: neither)."""
    if size == len(host) + 1:
        return Verdict.ALLOW
    if size == len(host) + len(IGNORE) + 1:
        return Verdict.DENY
    return None


def read_hostsdir(path: Path) -> FilterState:
    """The policy of every MAC file and of the wildcard file in the directory."""
    state = FilterState()
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.name == UNKNOWN_HOSTS:
                state.unknown = verdict_from_size(WILDCARD, entry.stat().st_size)
            elif _MAC_NAME.match(entry.name) and entry.is_file():
                state.entries[entry.name] = verdict_from_size(entry.name, entry.stat().st_size)
    return state


def purge_hostsdir(path: Path) -> int:
    """Delete every file in the directory (``purge_dhcp_hostsdir``, at start-up only)."""
    removed = 0
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_file() or entry.is_symlink():
                os.unlink(entry.path)
                removed += 1
    return removed


def write_locked(path: Path, text: str, attempts: int = LOCK_ATTEMPTS,
                 delay: float = LOCK_DELAY) -> bool:
    """Rewrite ``path`` under an exclusive flock; False when the lock could not be taken.

    The file is truncated only once the lock is held, so a reader holding the lock never sees
    it empty.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for attempt in range(attempts):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or attempt == attempts - 1:
                    LOG.warning("Could not lock %s to write it: %s", path, exc)
                    return False
                time.sleep(delay)
        os.ftruncate(fd, 0)
        os.write(fd, text.encode())
        return True
    finally:
        os.close(fd)


class HostsDir:
    """The dnsmasq backend of :class:`~metalscope.pxe_filter.driver.DiffFilter`."""

    name = "dnsmasq"
    layout = Layout.HOSTSDIR

    def __init__(self, path: Path, purge: bool = True, start_command: str = "",
                 stop_command: str = "", run: CommandRunner = run_command) -> None:
        self.path = Path(path)
        self.purge = purge
        self.start_command = start_command
        self.stop_command = stop_command
        self.state = FilterState()
        #: Files written since start-up (for tests and the benchmark).
        self.files_written = 0
        self._run = run

    @classmethod
    def from_settings(cls, settings: Settings) -> HostsDir:
        section = settings.dnsmasq_pxe_filter
        return cls(Path(section.dhcp_hostsdir), section.purge_dhcp_hostsdir,
                   section.dnsmasq_start_command, section.dnsmasq_stop_command)

    async def open(self, initial: bool) -> None:
        await asyncio.to_thread(self.path.mkdir, parents=True, exist_ok=True)
        if initial and self.purge:
            removed = await asyncio.to_thread(purge_hostsdir, self.path)
            LOG.info("Purged %d files from %s", removed, self.path)
        self.state = await asyncio.to_thread(read_hostsdir, self.path)

    async def verify(self) -> None:
        """Nothing to check cheaply: the in-memory state is authoritative for one writer."""

    async def apply(self, changes: Changes, desired: DesiredState) -> None:
        if not changes:
            return
        files = [(mac, entry_text(mac, verdict)) for mac, verdict in changes.write.items()]
        if changes.unknown is not None:
            files.append((UNKNOWN_HOSTS, entry_text(WILDCARD, changes.unknown)))
        failed = await asyncio.to_thread(self._write_all, files)
        changes.apply_to(self.state)
        for name in failed:  # rewritten at the next sync
            if name == UNKNOWN_HOSTS:
                self.state.unknown = None
            else:
                self.state.entries[name] = None
        LOG.debug("dnsmasq filter: wrote %d files in %s", len(files) - len(failed), self.path)

    def _write_all(self, files: Iterable[tuple[str, str]]) -> list[str]:
        failed = []
        for name, text in files:
            if write_locked(self.path / name, text):
                self.files_written += 1
            else:
                failed.append(name)
        return failed

    async def launch(self) -> None:
        if self.start_command:
            checked(await self._run(shlex.split(self.start_command)))

    async def close(self) -> None:
        if self.stop_command:
            result = await self._run(shlex.split(self.stop_command))
            if not result.ok:
                LOG.warning("dnsmasq stop command failed (ignored): %s", result.stderr.strip())


def dnsmasq_filter(settings: Settings, repo: Repository | None,
                   ironic: IronicClient | None) -> DiffFilter:
    """The ``dnsmasq`` driver (entry point of ``metalscope.pxe_filter_drivers``)."""
    return diff_filter(HostsDir.from_settings, settings, repo, ironic)
