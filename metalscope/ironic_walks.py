"""Reading what changed in Ironic without reading all of it every time.

Ironic has no change feed, and listing every port or node costs it in proportion to the
fleet. Two readers replace the full listings of the periodic work:

* :class:`ChangesFeed` reads the newest items of a collection, sorted by ``updated_at`` and
  separately by creation (``id``, checked against ``created_at``: a new item has
  ``updated_at`` null), descending, in small pages, and pages further only while a whole
  page is newer than its watermark: the time the round before began, minus an overlap that
  covers the clock differences between Ironic's hosts and this one, writes committed late
  and timestamps without sub-second precision. A round where nothing changed for an overlap
  is thus one small request per sort key, whatever the size of the fleet. Items read again
  inside the overlap are returned only when their content changed.
* :class:`RollingWalk` walks the whole collection by UUID in pages of 1,000 spread evenly
  over a long period, which is how deletions are noticed (a deleted item leaves no timestamp
  behind). Each page covers a UUID range, ``(after, through]``: an item known in that range
  and absent from the page did not exist when the page was read. The first walk runs whole;
  after a failed page the walk resumes from the same marker, and from the start when Ironic
  no longer knows the marker.

Both read pages through a :data:`PageSource` (``IronicClient.list_page`` bound to a path),
and raise :class:`~metalscope.errors.IronicError` with their state unchanged when Ironic
fails, so the round is simply tried again.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from metalscope.errors import IronicError

LOG = logging.getLogger(__name__)

JSON = dict[str, Any]
#: Query parameters → (items, marker of the next page or None on the last page).
PageSource = Callable[[Mapping[str, str]], Awaitable[tuple[list[JSON], str | None]]]

FEED_PAGE = 50
FEED_MAX_PAGE = 1000
FEED_OVERLAP = 60.0
WALK_PAGE = 1000
#: The timestamp each reading stops at → the sort key it reads by. New items are read by
#: ``id`` (Ironic's primary key, in creation order: an index serves the page) and stopped by
#: ``created_at``; changed ones by ``updated_at``, which Ironic does not index (its database
#: sorts the table for each such request).
SORT_KEYS = {"updated_at": "updated_at", "created_at": "id"}
#: Statuses with which Ironic refuses a marker it no longer knows (the item was deleted).
_LOST_MARKER = frozenset({400, 404})


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def parse_time(value: Any) -> datetime.datetime | None:
    """An Ironic timestamp (ISO 8601, UTC when no offset is given); None when absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@dataclasses.dataclass
class _Mark:
    """Where one sort key's reading stands."""

    #: Items at or before it were seen; None until the first round.
    watermark: datetime.datetime | None = None
    #: Items returned with a timestamp above the watermark, by UUID, with that timestamp:
    #: they come back while inside the overlap and are returned again only if they changed.
    recent: dict[str, tuple[JSON, datetime.datetime]] = dataclasses.field(
        default_factory=dict)


class ChangesFeed:
    """The items of one Ironic collection created or changed since the last round."""

    def __init__(self, source: PageSource, fields: Sequence[str], *,
                 page_size: int = FEED_PAGE, max_page_size: int = FEED_MAX_PAGE,
                 overlap: float = FEED_OVERLAP,
                 clock: Callable[[], datetime.datetime] = utcnow) -> None:
        self._source = source
        self._clock = clock
        self._fields = ",".join(dict.fromkeys(["uuid", *fields, *SORT_KEYS]))
        self._page_size = page_size
        self._max_page_size = max(page_size, max_page_size)
        self._overlap = datetime.timedelta(seconds=overlap)
        self._marks = {key: _Mark() for key in SORT_KEYS}
        #: Requests the last round sent.
        self.requests = 0

    @property
    def primed(self) -> bool:
        """Whether a round has set the watermarks (the first round reads one page per sort
        key only: what it does not see is for a whole walk to read)."""
        return all(mark.watermark is not None for mark in self._marks.values())

    def watermark(self, stamp_key: str) -> datetime.datetime | None:
        """Items stamped (``updated_at`` or ``created_at``) up to it were all read."""
        return self._marks[stamp_key].watermark

    async def changes(self) -> list[JSON]:
        """The items created or changed since the last round (each once), newest first.

        Raises IronicError when Ironic fails; the watermarks are then unchanged.
        """
        self.requests = 0
        # Every write stamped before this, minus the overlap, is visible during the round.
        seen_until = self._clock() - self._overlap
        found: dict[str, JSON] = {}
        marks: dict[str, _Mark] = {}
        for stamp_key in SORT_KEYS:
            items, marks[stamp_key] = await self._read(stamp_key, seen_until)
            for item in items:
                found.setdefault(str(item.get("uuid")), item)
        self._marks = marks
        return list(found.values())

    async def _read(self, stamp_key: str,
                    seen_until: datetime.datetime) -> tuple[list[JSON], _Mark]:
        mark = self._marks[stamp_key]
        newer: list[tuple[JSON, datetime.datetime]] = []
        query = {"sort_key": SORT_KEYS[stamp_key], "sort_dir": "desc", "fields": self._fields,
                 "limit": str(self._page_size)}
        while True:
            items, following = await self._source(query)
            self.requests += 1
            done = following is None or mark.watermark is None
            for item in items:
                stamp = parse_time(item.get(stamp_key))
                if stamp is None or (mark.watermark is not None and stamp <= mark.watermark):
                    # Older than the watermark, or never updated (sorted after the rest):
                    # everything further down is older still.
                    done = True
                    continue
                newer.append((item, stamp))
            if done:
                break
            limit = min(int(query["limit"]) * 2, self._max_page_size)
            query = {**query, "marker": following or "", "limit": str(limit)}
        return _advance(mark, newer, seen_until)


def _advance(mark: _Mark, newer: list[tuple[JSON, datetime.datetime]],
             seen_until: datetime.datetime) -> tuple[list[JSON], _Mark]:
    """The items to return (new, or changed since returned) and the next mark: every item
    stamped up to ``seen_until`` was read, this round or before."""
    watermark = seen_until if mark.watermark is None else max(mark.watermark, seen_until)
    fresh = [item for item, _ in newer if _returned(mark, item) != item]
    recent = {**mark.recent, **{str(item.get("uuid")): (item, stamp) for item, stamp in newer}}
    return fresh, _Mark(watermark, {uuid: seen for uuid, seen in recent.items()
                                    if seen[1] > watermark})


def _returned(mark: _Mark, item: JSON) -> JSON | None:
    seen = mark.recent.get(str(item.get("uuid")))
    return None if seen is None else seen[0]


@dataclasses.dataclass(frozen=True)
class WalkPage:
    """One page of a walk: its items and the key range it covers, ``(after, through]``."""

    items: list[JSON]
    #: The key the page starts after (exclusive); None from the first key.
    after: str | None
    #: The last key of the page (inclusive); None on the last page: up to the last key.
    through: str | None

    @property
    def last(self) -> bool:
        return self.through is None

    def covers(self, key: str) -> bool:
        """Whether ``key`` lies in the page's range (so is in ``items`` if it exists)."""
        return ((self.after is None or key > self.after)
                and (self.through is None or key <= self.through))

    def missing(self, known: Iterable[str], key: str = "uuid") -> set[str]:
        """The keys of ``known`` in the page's range that the page does not hold."""
        present = {str(item.get(key)) for item in self.items}
        return {k for k in known if self.covers(k) and k not in present}


class RollingWalk:
    """A walk of a whole Ironic collection by key, its pages spread over ``period`` seconds.

    Page ``i`` of a walk is due ``i * period / n`` seconds after the walk began, ``n`` being
    the number of pages the last complete walk took; the next walk begins ``period / n``
    after the last page, so every page is read again about ``period`` seconds later. The
    first walk (``n`` unknown) is read whole, and so is every walk when ``period`` is 0.
    """

    def __init__(self, source: PageSource, fields: Sequence[str], *, period: float,
                 page_size: int = WALK_PAGE, key: str = "uuid",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._key = key
        self._fields = ",".join(dict.fromkeys([key, *fields]))
        self.period = period
        self._page_size = page_size
        self._clock = clock
        #: Where the current walk stands: the key to continue after, pages read so far.
        self._marker: str | None = None
        self._pages = 0
        self._began: float | None = None
        self._next_walk = float("-inf")
        #: Pages the last complete walk took (None before the first one completes).
        self.expected_pages: int | None = None
        #: Complete walks so far.
        self.walks = 0
        #: Requests the last call to ``due_pages`` sent.
        self.requests = 0

    def pages_due(self) -> int | None:
        """How many pages are due now (None: all the rest of the walk)."""
        now = self._clock()
        if self._began is None and now < self._next_walk:
            return 0
        if self.period <= 0 or self.expected_pages is None:
            return None
        began = now if self._began is None else self._began
        target = int((now - began) * self.expected_pages / self.period) + 1
        return max(0, target - self._pages)

    async def due_pages(self) -> AsyncIterator[WalkPage]:
        """The pages due now, read one by one. An IronicError leaves the walk where it was
        (the failed page is read at the next call; from the start if its marker is gone)."""
        self.requests = 0
        due = self.pages_due()
        while due is None or due > 0:
            page = await self._read()
            yield page
            if page.last:
                return
            if due is not None:
                due -= 1

    async def walk_all(self) -> list[WalkPage]:
        """The rest of the current walk, or a whole new one, at once."""
        self.requests = 0
        pages = [await self._read()]
        while not pages[-1].last:
            pages.append(await self._read())
        return pages

    async def _read(self) -> WalkPage:
        if self._began is None:
            self._began = self._clock()
        query = {"sort_key": self._key, "sort_dir": "asc", "fields": self._fields,
                 "limit": str(self._page_size)}
        if self._marker is not None:
            query["marker"] = self._marker
        try:
            items, following = await self._source(query)
        except IronicError as exc:
            if self._marker is not None and exc.status in _LOST_MARKER:
                LOG.info("Ironic no longer knows %s (%s): walking again from the start",
                         self._marker, exc)
                self._restart()
            raise
        finally:
            self.requests += 1
        after = self._marker
        self._pages += 1
        if following is None or not items:
            self._complete()
            return WalkPage(items, after, None)
        self._marker = str(items[-1].get(self._key))
        return WalkPage(items, after, self._marker)

    def _complete(self) -> None:
        now = self._clock()
        self.expected_pages = self._pages
        self.walks += 1
        spacing = self.period / self._pages if self.period > 0 else 0.0
        self._next_walk = now + spacing
        self._restart()

    def _restart(self) -> None:
        self._marker, self._pages, self._began = None, 0, None
