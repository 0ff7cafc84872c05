"""Requests first: background work on the event loop waits while a request runs its own code.

A MetalScope instance handles its requests and its background work on one event loop. The
work that follows every callback's answer, the finishing step
(:mod:`~metalscope.operations.finish`: the hardware summary, the history version, the final
state, each a transaction that SQLite runs straight through on the loop), starts just as
the ramdisk's next callback, or another node's, is being handled. Each stretch of it that
runs while a callback is ready to go on adds to that callback's latency: measured at one
callback at a time, that is what made the slowest twentieth of the callbacks' own share two
to three times their median (``benchmarks/own_share.py``).

A callback spends most of its time waiting on Ironic (tens of milliseconds per request,
several requests); background work fits in those waits. :class:`Foreground` counts the
accounted requests (:mod:`~metalscope.latency_share`) that are running: in flight and not
waiting on Ironic (a database wait does not count: with SQLite it holds the loop anyway,
elsewhere it is a fraction of a millisecond). Background work awaits :meth:`Foreground.turn`
before each of its steps: it goes on at once when no request is running, otherwise when
every running request has gone to wait on Ironic, and at the latest after ``max_defer``
seconds, so that a loop kept busy by requests delays background work a little but never
starves it.
"""

from __future__ import annotations

import asyncio
import contextlib

from metalscope.latency_share import REQUESTS, waiting_on

#: The longest a background step waits for a quiet loop: well under a callback's own
#: latency under load, well over the few milliseconds a callback runs between its waits.
MAX_DEFER = 0.2


class Foreground:
    """How many accounted requests are running their own code, and a wait for none."""

    def __init__(self, max_defer: float = MAX_DEFER) -> None:
        self.max_defer = max_defer
        self._running = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def running(self) -> int:
        return self._running

    # -- called by latency_share.Share ----------------------------------------------------
    def started(self) -> None:
        """A request began, or came back from waiting on Ironic."""
        self._running += 1
        self._quiet.clear()

    def stopped(self) -> None:
        """A request ended, or went to wait on Ironic."""
        self._running = max(self._running - 1, 0)
        if not self._running:
            self._quiet.set()

    # -- called by background work --------------------------------------------------------
    async def turn(self) -> None:
        """Return when no request is running (at once if none is), or after ``max_defer``
        seconds. The time waited counts as a wait on requests for the caller's share."""
        if not self._running:
            return
        with waiting_on(REQUESTS), contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_defer):
                await self._quiet.wait()
