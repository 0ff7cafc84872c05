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
from metalscope.pxe_filter.inputs import PORT_FIELDS, macs_of_ports
from metalscope.settings import Settings

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
        #: The keys of ``_ports`` in ascending order, while no port was added or removed.
        self._sorted: list[str] | None = None
        #: MACs and InfiniBand mapping of ``_ports``, while they have not changed.
        self._macs: tuple[frozenset[str], dict[str, str]] | None = None

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

    def macs(self, settings: Settings) -> tuple[frozenset[str], dict[str, str]]:
        """The ports' MACs as the DHCP server sees them and the InfiniBand mapping; kept
        between rounds that change no port, unless the mapping reads interfaces (their
        neighbours may change at any time)."""
        if self._macs is None or settings.iptables.ethoib_interfaces:
            self._macs = macs_of_ports(settings, self._ports.values())
        return self._macs

    async def refresh(self) -> None:
        """One round: the changes, then the walk's pages that are due (the whole walk until
        one is complete). Raises IronicError; what was read before the failure is kept, and
        the next round goes on from there."""
        for item in await self._feed.changes():
            self._keep(item)
        async for page in self._walk.due_pages():
            self._apply(page)

    def _apply(self, page: WalkPage) -> None:
        if self._sorted is None:  # mostly in order already (walk order): a merge of runs
            self._sorted = sorted(self._ports)
        for uuid in page.missing_sorted(self._sorted):
            del self._ports[uuid]
            self._macs = self._sorted = None
        for item in page.items:
            self._keep(item)

    def _keep(self, item: Mapping[str, Any]) -> None:
        uuid = item.get("uuid")
        if not uuid:
            return
        port = {"address": item.get("address"), "extra": item.get("extra") or {}}
        known = self._ports.get(str(uuid))
        if known != port:
            if known is None:
                self._sorted = None
            self._ports[str(uuid)] = port
            self._macs = None
