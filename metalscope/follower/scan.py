"""Decisions over pages of Ironic's node list, pure.

The list is sorted by ``inspection_finished_at`` descending. Where nodes never inspected
(a null time) fall depends on Ironic's database: after the others on MySQL/MariaDB and
SQLite, before them on PostgreSQL. So a null is skipped, and once a time was met a null
ends the walk (the rest are null too).

* :func:`scan_fresh` walks from the top to the watermark less a look-back margin: a time is
  taken before Ironic commits the node, so an inspection may appear a little below a newer
  one already seen; the nodes within the margin are seen again and the queue drops what it
  knows.
* :func:`scan_backfill` walks the inspections finished before the first poll, a bounded
  number at a time.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metalscope.follower.convert import parse_time, seen_inspection
from metalscope.storage.follower import SeenInspection

#: Inspections finished this long before the watermark are read again at each poll.
LOOKBACK = datetime.timedelta(seconds=120)


@dataclass(frozen=True)
class FreshPage:
    """What one page of the walk from the top found."""

    #: Inspections above the threshold, MetalScope's own left out.
    moved: list[SeenInspection]
    #: The newest time on the page (None: none).
    newest: datetime.datetime | None
    #: Whether the walk is over (threshold or nulls reached).
    done: bool
    #: Whether a time was met on this page or a page before.
    valued: bool


def scan_fresh(nodes: Sequence[Mapping[str, Any]], watermark: datetime.datetime | None,
               valued: bool = False, lookback: datetime.timedelta = LOOKBACK) -> FreshPage:
    """One page of the walk from the top; ``valued``: a time was met on an earlier page."""
    threshold = None if watermark is None else watermark - lookback
    moved: list[SeenInspection] = []
    newest: datetime.datetime | None = None
    for node in nodes:
        finished = parse_time(node.get("inspection_finished_at"))
        if finished is None:
            if valued:
                return FreshPage(moved, newest, True, valued)
            continue
        valued = True
        if threshold is not None and finished < threshold:
            return FreshPage(moved, newest, True, valued)
        newest = finished if newest is None else max(newest, finished)
        seen = seen_inspection(node)
        if seen is not None:
            moved.append(seen)
    return FreshPage(moved, newest, False, valued)


@dataclass(frozen=True)
class BackfillPage:
    """What one page of the backfill found."""

    queued: list[SeenInspection]
    #: The last node walked past (the next page starts after it).
    marker: str | None
    #: Whether the backfill reached the end of Ironic's list.
    done: bool


def scan_backfill(nodes: Sequence[Mapping[str, Any]], until: datetime.datetime,
                  budget: int, marker: str | None, last_page: bool) -> BackfillPage:
    """Take up to ``budget`` inspections finished at ``until`` or before; the nodes past
    the budget are walked by the next poll."""
    queued: list[SeenInspection] = []
    for node in nodes:
        if len(queued) >= budget:
            return BackfillPage(queued, marker, False)
        uuid = node.get("uuid")
        marker = uuid if isinstance(uuid, str) else marker
        finished = parse_time(node.get("inspection_finished_at"))
        if finished is None or finished > until:
            continue
        seen = seen_inspection(node)
        if seen is not None:
            queued.append(seen)
    return BackfillPage(queued, marker, last_page)


def gone(listed: Sequence[Mapping[str, Any]], known: Sequence[str]) -> list[str]:
    """The known UUIDs of a range that Ironic's list of that range no longer has."""
    present = {node.get("uuid") for node in listed}
    return [uuid for uuid in known if uuid not in present]
