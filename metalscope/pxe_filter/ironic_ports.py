"""Ironic's ports as the PXE filter knows them, kept up to date without listing them all.

The first round walks every port (so the filter's first answer is complete). Each later
round reads what changed since the last one (:class:`~metalscope.ironic_walks.ChangesFeed`:
two small requests when nothing did) and the pages of the rolling walk that are due
(:class:`~metalscope.ironic_walks.RollingWalk`, the whole fleet once per
``[pxe_filter]full_sync_period``), which is how deleted ports are noticed: a port known in a
page's UUID range and absent from it is gone. A new or changed port is thus seen at the next
round, a deleted one within about one period.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from metalscope.ironic_walks import FEED_OVERLAP, ChangesFeed, RollingWalk, WalkPage
from metalscope.pxe_filter.inputs import PORT_FIELDS

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

JSON = dict[str, Any]


class IronicPorts:
    """The ports of Ironic (UUID → address and extra), refreshed a round at a time."""

    def __init__(self, ironic: IronicClient, full_sync_period: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 overlap: float = FEED_OVERLAP) -> None:
        self._ironic = ironic
        self._feed = ChangesFeed(self._page, PORT_FIELDS, overlap=overlap)
        self._walk = RollingWalk(self._page, PORT_FIELDS, period=full_sync_period,
                                 clock=clock)
        self._ports: dict[str, JSON] = {}

    async def _page(self, query: Mapping[str, str]) -> tuple[list[JSON], str | None]:
        return await self._ironic.list_page("/v1/ports", "ports", query)

    @property
    def complete(self) -> bool:
        """Whether a whole walk was read (before that, the ports known are only some)."""
        return self._walk.walks > 0

    @property
    def requests(self) -> int:
        """Requests the last round sent to Ironic (so far, when it failed)."""
        return self._feed.requests + self._walk.requests

    def ports(self) -> list[JSON]:
        return list(self._ports.values())

    async def refresh(self) -> None:
        """One round: the changes, then the walk's pages that are due (the whole walk until
        one is complete). Raises IronicError; what was read before the failure is kept, and
        the next round goes on from there."""
        for item in await self._feed.changes():
            self._keep(item)
        async for page in self._walk.due_pages():
            self._apply(page)

    def _apply(self, page: WalkPage) -> None:
        for uuid in page.missing(self._ports):
            del self._ports[uuid]
        for item in page.items:
            self._keep(item)

    def _keep(self, item: Mapping[str, Any]) -> None:
        uuid = item.get("uuid")
        if uuid:
            self._ports[str(uuid)] = {"address": item.get("address"),
                                      "extra": item.get("extra") or {}}
