"""Decisions over pages of Ironic's node list, pure.

The list is sorted by ``inspection_finished_at`` descending. Where nodes never inspected
(a null time) fall depends on Ironic's database: after the others on MySQL/MariaDB and
SQLite, before them on PostgreSQL. So a null is skipped, and once a time was met a null
ends the walk (the rest are null too).

* :func:`scan_fresh` walks from the top to the watermark less a look-back margin: a time is
  taken before Ironic commits the node, so an inspection may appear a little below a newer
  one already seen; the nodes within the margin are seen again and the queue drops what it
  knows.
* :func:`scan_upwards` walks up from a node with a time (the *anchor*). Ironic pages with
  oslo.db's marker criteria: after a marker with a time, nodes without one are never
  listed; after a marker without one, only the node ids are compared, which skips nodes.
  So no walk continues after a node without a time: when a whole first page is nodes never
  inspected (PostgreSQL, with more of them than a page), the walk goes up from the anchor
  instead, a node that finished a look-back before the watermark (:func:`choose_anchor`).
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
    """What one page of a walk found."""

    #: Inspections at or above the threshold, MetalScope's own left out.
    moved: list[SeenInspection]
    #: Every node with a time on the page, and that time (the anchor's candidates).
    times: list[tuple[str, datetime.datetime]]
    #: Whether the walk is over (threshold or nulls reached).
    done: bool
    #: Whether a time was met on this page or a page before.
    valued: bool

    @property
    def newest(self) -> datetime.datetime | None:
        return max((at for _, at in self.times), default=None)


def scan_fresh(nodes: Sequence[Mapping[str, Any]], threshold: datetime.datetime | None,
               valued: bool = False) -> FreshPage:
    """One page of the walk down from the top; ``valued``: a time was met on an earlier
    page. ``threshold``: the watermark less :data:`LOOKBACK` (None: no bound)."""
    moved: list[SeenInspection] = []
    times: list[tuple[str, datetime.datetime]] = []
    for node in nodes:
        finished = parse_time(node.get("inspection_finished_at"))
        if finished is None:
            if valued:
                return FreshPage(moved, times, True, valued)
            continue
        valued = True
        times.append((str(node.get("uuid")), finished))
        if threshold is not None and finished < threshold:
            return FreshPage(moved, times, True, valued)
        seen = seen_inspection(node)
        if seen is not None:
            moved.append(seen)
    return FreshPage(moved, times, False, valued)


def scan_upwards(nodes: Sequence[Mapping[str, Any]],
                 threshold: datetime.datetime | None) -> FreshPage:
    """One page of the walk up (ascending, after a node with a time: Ironic lists no node
    without one there); the inspections at or above ``threshold`` are moved."""
    moved: list[SeenInspection] = []
    times: list[tuple[str, datetime.datetime]] = []
    for node in nodes:
        finished = parse_time(node.get("inspection_finished_at"))
        if finished is None:
            continue
        times.append((str(node.get("uuid")), finished))
        seen = seen_inspection(node)
        if seen is not None and (threshold is None or finished >= threshold):
            moved.append(seen)
    return FreshPage(moved, times, False, bool(times))


def choose_anchor(times: Sequence[tuple[str, datetime.datetime]],
                  watermark: datetime.datetime | None,
                  lookback: datetime.timedelta = LOOKBACK,
                  ) -> tuple[str, datetime.datetime] | None:
    """The newest node that finished a look-back or more before ``watermark``."""
    if watermark is None:
        return None
    bound = watermark - lookback
    below = [(at, uuid) for uuid, at in times if at <= bound]
    if not below:
        return None
    at, uuid = max(below)
    return uuid, at


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
    the budget are walked by the next poll. The marker is always a node with a time."""
    queued: list[SeenInspection] = []
    for node in nodes:
        if len(queued) >= budget:
            return BackfillPage(queued, marker, False)
        finished = parse_time(node.get("inspection_finished_at"))
        if finished is None:
            continue  # never the marker: paging after it would skip nodes
        uuid = node.get("uuid")
        marker = uuid if isinstance(uuid, str) else marker
        if finished > until:
            continue
        seen = seen_inspection(node)
        if seen is not None:
            queued.append(seen)
    return BackfillPage(queued, marker, last_page)


def gone(listed: Sequence[Mapping[str, Any]], known: Sequence[str]) -> list[str]:
    """The known UUIDs of a range that Ironic's list of that range no longer has."""
    present = {node.get("uuid") for node in listed}
    return [uuid for uuid in known if uuid not in present]
