"""CPU seconds and resident memory of a process and its descendants, read from ``/proc``.

CPU: ``utime + stime`` of every live process of the tree, plus ``cutime + cstime`` (what
their children that already exited and were waited for used), so a worker that forks and
reaps helpers is counted whole and nothing is counted twice. RSS: the sum of the tree's
``VmRSS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class StatLine:
    """The fields of ``/proc/<pid>/stat`` this module uses (times in clock ticks)."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> StatLine:
    """Parse ``/proc/<pid>/stat``; the command name (field 2) may hold spaces and
    parentheses, so the fields are counted from the last ``)``."""
    pid = int(text[:text.index(" ")])
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14-17.
    return StatLine(pid, int(fields[1]), int(fields[11]), int(fields[12]), int(fields[13]),
                    int(fields[14]))


def parse_rss_kib(status: str) -> int:
    """``VmRSS`` of ``/proc/<pid>/status`` in KiB (0 for a kernel thread or zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def descendants(root: int, stats: Iterable[StatLine]) -> set[int]:
    """``root`` and every process below it, from a snapshot of all processes."""
    children: dict[int, list[int]] = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat.pid)
    tree, pending = {root}, [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in tree:
                tree.add(child)
                pending.append(child)
    return tree


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def all_stats(proc: Path = PROC) -> list[StatLine]:
    stats = []
    for entry in proc.iterdir():
        if entry.name.isdigit() and (text := _read(entry / "stat")) is not None:
            stats.append(parse_stat(text))
    return stats


def tree_cpu_seconds(root: int, proc: Path = PROC) -> float:
    """CPU seconds (user + system) the process tree under ``root`` has used so far."""
    stats = all_stats(proc)
    tree = descendants(root, stats)
    return sum(stat.ticks for stat in stats if stat.pid in tree) / CLOCK_TICKS


def tree_rss_bytes(root: int, proc: Path = PROC) -> int:
    """Resident memory of the process tree under ``root``."""
    total = 0
    for pid in descendants(root, all_stats(proc)):
        if (text := _read(proc / str(pid) / "status")) is not None:
            total += parse_rss_kib(text) * 1024
    return total
