"""BodyBudget: how much memory ramdisk callback and reapply bodies may take at once.

A body costs memory twice: its bytes while they arrive, then the Python objects ``json.loads``
builds from them, which for hostile JSON (millions of ``{}``) is about 25 times the bytes.
One instance-wide budget (``[DEFAULT]max_parsing_bytes``) bounds both:

* while a body arrives, each chunk is charged as it comes. A chunk that does not fit ends the
  request at once with 503 and ``Retry-After`` (nothing waits holding a part of a body, so
  many half-received bodies cannot wait on each other);
* once it is whole, the body's *parse cost* (:func:`parse_cost`, an upper estimate counted
  in C over the bytes as they arrive, ``CostMeter``) replaces that charge before parsing. A
  body whose cost exceeds the whole budget can never be parsed: 413, as soon as the part
  received says so. Otherwise it waits for room up to
  ``[DEFAULT]parsing_wait`` seconds (whichever waiting body fits goes first, so a small
  ramdisk callback is not queued behind a large one), then 503 with ``Retry-After``.

Slow clients cost only what they have sent. The charge is returned when the handler is done
with the parsed document.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from metalscope.errors import ServiceUnavailable

#: Bytes of Python objects per JSON object or array (an empty dict is 64, a list slot 8),
#: per string (object header and the slot holding it) and per other value; measured with
#: tracemalloc on hostile documents (see tests/unit/api/test_body_budget.py).
CONTAINER_COST = 96
STRING_COST = 64
RETRY_AFTER_SECONDS = 5


class CostMeter:
    """``parse_cost`` counted piece by piece as a body arrives. The cost of what has arrived
    never exceeds the cost of the whole body, so a body is known to be too costly to parse as
    soon as its first bytes are (a few hundred KiB of ``{}``), not once all of it is read."""

    def __init__(self) -> None:
        self.size = self.containers = self.quotes = self.commas = 0

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        self.containers += piece.count(b"{") + piece.count(b"[")
        self.quotes += piece.count(b'"')
        self.commas += piece.count(b",")

    @property
    def cost(self) -> int:
        return (self.size * 2 + self.containers * CONTAINER_COST
                + self.quotes // 2 * STRING_COST + (self.commas + 1) * 32)


def parse_cost(raw: bytes) -> int:
    """An upper estimate of the memory ``json.loads(raw)`` needs, in bytes."""
    meter = CostMeter()
    meter.add(raw)
    return meter.cost


class BudgetExhausted(ServiceUnavailable):
    """No room for this body now (503, with ``Retry-After``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class BodyBudget:
    """Bytes charged by bodies being received or parsed, against ``capacity``."""

    def __init__(self, capacity: int, wait: float) -> None:
        self.capacity = capacity
        self.wait = wait
        self.used = 0
        self._freed = asyncio.Condition()

    def take_now(self, size: int) -> None:
        """Charge ``size`` bytes or raise BudgetExhausted; never waits."""
        if self.used + size > self.capacity:
            raise BudgetExhausted("Too many request bodies are being received at once, "
                                  "please retry later")
        self.used += size

    async def exchange(self, held: int, wanted: int) -> None:
        """Replace a charge of ``held`` bytes by one of ``wanted`` (``wanted`` at most
        ``capacity``), waiting up to ``wait`` seconds for room; on timeout nothing is
        held any more and BudgetExhausted is raised."""
        await self.release(held)
        if self.used + wanted <= self.capacity:
            self.used += wanted
            return
        try:
            async with asyncio.timeout(self.wait):
                async with self._freed:
                    await self._freed.wait_for(lambda: self.used + wanted <= self.capacity)
                    self.used += wanted
        except TimeoutError:
            raise BudgetExhausted("Too many request bodies are being parsed at once, "
                                  "please retry later") from None

    async def release(self, size: int) -> None:
        if size <= 0:
            return
        self.used -= size
        async with self._freed:
            self._freed.notify_all()

    @contextlib.asynccontextmanager
    async def charge(self) -> AsyncIterator[Charge]:
        """A charge returned whatever happens to the request."""
        held = Charge(self)
        try:
            yield held
        finally:
            await self.release(held.size)


class Charge:
    """What one request holds of the budget."""

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.size = 0

    def add(self, size: int) -> None:
        self.budget.take_now(size)
        self.size += size

    async def become(self, size: int) -> None:
        held, self.size = self.size, 0
        await self.budget.exchange(held, size)
        self.size = size
