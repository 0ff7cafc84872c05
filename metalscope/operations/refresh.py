"""Periodic out-of-band refresh: nodes whose last inspection is old are inspected again over
Redfish, by the leader, a bounded batch per pass.

A node is due ``refresh_interval`` seconds after its last inspection ended (``finished`` or
``error``), stretched or shortened by its own jitter: a fraction of ``refresh_jitter`` fixed
by its UUID, so a fleet inspected at once spreads out over the following intervals and each
node keeps its place from one interval to the next. A pass reads the records finished long
enough ago to be due (oldest first, page by page) and, for each due one, the node from Ironic:
a node opted out (``extra.metalscope_refresh`` false, ``"false"``, ``"no"`` or ``"0"``),
without ``driver_info.redfish_address``, or refused by the start (provision state, lock) is
left alone for one more interval, remembered by the :class:`Refresher` (an instance of the
leader's duty, lost with the leadership: a new leader reads such nodes once more). So a pass
costs one database query per thousand records past their earliest due time and one Ironic
read per due node, and nothing in Ironic for the nodes not yet due.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metalscope.errors import MetalScopeError
from metalscope.operations.out_of_band import REDFISH
from metalscope.services import Services
from metalscope.storage.repository import utcnow

LOG = logging.getLogger(__name__)
#: Values of ``extra.metalscope_refresh`` that opt a node out (compared case-insensitively).
OPT_OUT_VALUES = frozenset({"false", "no", "0"})
#: The Ironic node field that opts a node out of the refresh.
OPT_OUT_FIELD = "metalscope_refresh"
#: Longest time between two passes, whatever the interval.
MAX_PASS_PERIOD = 60.0
#: Records read per query of a pass at least (nodes left alone still take a row each).
PAGE = 1000

StartOutOfBand = Callable[[Services, str], Awaitable[str]]
Clock = Callable[[], datetime.datetime]


@dataclass(frozen=True)
class RefreshPolicy:
    """``[redfish]refresh_*``: how old an inspection may get, the jitter fraction, and how
    many inspections one pass starts at most."""

    interval: float
    jitter: float = 0.1
    batch: int = 50

    @property
    def enabled(self) -> bool:
        return self.interval > 0 and self.batch > 0

    @property
    def pass_period(self) -> float:
        """Seconds between two passes: a tenth of the interval, at most a minute."""
        return min(self.interval / 10, MAX_PASS_PERIOD)

    @property
    def earliest_due_age(self) -> datetime.timedelta:
        """No node is due before its inspection is this old (the largest negative jitter)."""
        return datetime.timedelta(seconds=self.interval * (1 - self.bounded_jitter))

    @property
    def bounded_jitter(self) -> float:
        return min(max(self.jitter, 0.0), 1.0)


def jitter_factor(uuid: str, jitter: float) -> float:
    """The node's fixed factor on the interval, in ``[1 - jitter, 1 + jitter]``, from its
    UUID alone (the same on every instance and after every restart)."""
    digest = hashlib.sha256(uuid.lower().encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 0xFFFF_FFFF_FFFF_FFFF  # in [0, 1]
    return 1 + jitter * (2 * unit - 1)


def due_at(uuid: str, finished_at: datetime.datetime, policy: RefreshPolicy) -> datetime.datetime:
    """When the node's inspection that ended at ``finished_at`` is to be refreshed."""
    seconds = policy.interval * jitter_factor(uuid, policy.bounded_jitter)
    return finished_at + datetime.timedelta(seconds=seconds)


def opted_out(node: Mapping[str, Any]) -> bool:
    """The node's ``extra.metalscope_refresh`` turns the refresh off."""
    value = (node.get("extra") or {}).get(OPT_OUT_FIELD)
    if value is False:
        return True
    return isinstance(value, str | int) and str(value).strip().lower() in OPT_OUT_VALUES


def has_redfish_address(node: Mapping[str, Any]) -> bool:
    address = (node.get("driver_info") or {}).get("redfish_address")
    return isinstance(address, str) and bool(address.strip())


def refusal(node: Mapping[str, Any]) -> str | None:
    """Why the refresh leaves this node alone, or None."""
    if opted_out(node):
        return f"opted out by extra.{OPT_OUT_FIELD}"
    if not has_redfish_address(node):
        return "no driver_info.redfish_address"
    return None


@dataclass
class Refresher:
    """The leader's refresh duty: :meth:`run_pass` starts out-of-band inspections of due
    nodes, so that at most ``policy.batch`` are waiting for their collection (started by any
    means); ``start`` is ``operations.out_of_band.start_out_of_band``."""

    policy: RefreshPolicy
    start: StartOutOfBand
    clock: Clock = utcnow
    #: Nodes left alone until the given time (opted out, no Redfish address, refused).
    resting: dict[str, datetime.datetime] = field(default_factory=dict)

    async def run_pass(self, svc: Services) -> list[str]:
        """The UUIDs whose out-of-band inspection this pass started (none on a follower)."""
        if not self.policy.enabled or not svc.coordinator.is_leader():
            return []
        room = self.policy.batch - len(await svc.repo.waiting_with_method(REDFISH))
        if room <= 0:
            LOG.debug("Out-of-band refresh waits: %d collections are still waiting",
                      self.policy.batch - room)
            return []
        now = self.clock()
        self._forget_rested(now)
        started: list[str] = []
        async with contextlib.aclosing(self._due(svc, now)) as due:
            async for uuid in due:
                if await self._refresh(svc, uuid, now):
                    started.append(uuid)
                    if len(started) >= room:
                        break
        if started:
            LOG.info("Out-of-band refresh started for %d nodes", len(started))
        return started

    async def _due(self, svc: Services, now: datetime.datetime) -> AsyncGenerator[str]:
        threshold = now - self.policy.earliest_due_age
        after: tuple[datetime.datetime, str] | None = None
        size = max(self.policy.batch, PAGE)
        while True:
            page = await svc.repo.settled_before(threshold, size, after)
            for uuid, finished_at in page:
                if uuid not in self.resting and due_at(uuid, finished_at, self.policy) <= now:
                    yield uuid
            if len(page) < size:
                return
            after = (page[-1][1], page[-1][0])

    async def _refresh(self, svc: Services, uuid: str, now: datetime.datetime) -> bool:
        try:
            node = await svc.ironic.get_node(uuid, fields=["uuid", "driver_info", "extra"])
            reason = refusal(node)
            if reason is None:
                await self.start(svc, uuid)
                return True
        except MetalScopeError as exc:
            reason = f"not started: {exc}"
        LOG.debug("Out-of-band refresh leaves node %s alone for an interval: %s", uuid, reason)
        self.resting[uuid] = now + datetime.timedelta(seconds=self.policy.interval)
        return False

    def _forget_rested(self, now: datetime.datetime) -> None:
        for uuid in [u for u, until in self.resting.items() if until <= now]:
            del self.resting[uuid]
