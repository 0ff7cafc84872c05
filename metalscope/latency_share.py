"""Where a request's time goes: waiting on Ironic, waiting on the database, or the
inspector's own work.

A callback's end-to-end latency is mostly Ironic's and the database's; what MetalScope
itself adds (parsing, hooks, rules, lookup logic, bookkeeping) is the rest, and that is
what this service can make faster. A request binds a :class:`Share` for its duration
(:func:`accounted`); the ports wrap each wait in :class:`waiting_on`::

    with waiting_on(IRONIC):
        response = await http.request(...)

The share is a mutable object held by a context variable and bound once, at the
request's start: tasks the request awaits that copy the context (``asyncio.shield``)
and SQLAlchemy's greenlets (which share the caller's context) add to the same object.
Background work spawned by the request must not (it runs after the answer, possibly
concurrently with it): :func:`detached` spawns with the share unbound, and a share
ignores waits once it has ended.

Background work that lets requests run first (:mod:`metalscope.foreground`) waits on
``requests``, the third kind. A share can have a listener (the foreground) told when the
request starts running its own code and when it stops: at its end, and for each wait on
Ironic.

Waits that nest (a database call inside an Ironic wait, say) count once, for the
outermost kind, so the kinds never add up to more than the request took. Only
``perf_counter`` readings and float additions happen per wait; outside an accounted
request a wait costs one context-variable lookup.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from types import TracebackType
from typing import Protocol

IRONIC = "ironic"
DATABASE = "database"
#: Background work letting requests run first (:mod:`metalscope.foreground`).
REQUESTS = "requests"
#: The kinds of wait, in the order they are reported.
KINDS = (IRONIC, DATABASE, REQUESTS)


class Listener(Protocol):
    """Told when an accounted request starts running its own code and when it stops (it
    ends, or goes to wait on Ironic): :class:`metalscope.foreground.Foreground`."""

    def started(self) -> None: ...

    def stopped(self) -> None: ...


class Share:
    """One request's accounting: seconds waited by kind, and its total once ended."""

    __slots__ = (
        "_depth",
        "_kind",
        "_listener",
        "_since",
        "database",
        "ended",
        "ironic",
        "requests",
        "started",
        "total",
    )

    def __init__(self, listener: Listener | None = None) -> None:
        self.started = perf_counter()
        self.total = 0.0
        self.ironic = 0.0
        self.database = 0.0
        self.requests = 0.0
        self.ended = False
        self._depth = 0
        self._since = 0.0
        self._kind = IRONIC
        self._listener = listener
        if listener is not None:
            listener.started()

    @property
    def waited(self) -> float:
        return self.ironic + self.database + self.requests

    @property
    def own(self) -> float:
        """The request's time not spent waiting on Ironic or the database (after the end)."""
        return max(self.total - self.waited, 0.0)

    def waits(self) -> dict[str, float]:
        return {IRONIC: self.ironic, DATABASE: self.database, REQUESTS: self.requests}

    def end(self) -> None:
        """Close the accounting: the total is fixed and later waits are ignored."""
        if not self.ended:
            now = perf_counter()
            running = not (self._depth and self._kind == IRONIC)
            if self._depth:  # ended inside a wait (cancelled half-way): count it up to now
                self._add(self._kind, now - self._since)
                self._depth = 0
            self.total = now - self.started
            self.ended = True
            if running and self._listener is not None:
                self._listener.stopped()

    # -- used by waiting_on ---------------------------------------------------------------
    def _enter(self, kind: str) -> None:
        if self._depth == 0:
            self._since = perf_counter()
            self._kind = kind
            if kind == IRONIC and self._listener is not None:
                self._listener.stopped()
        self._depth += 1

    def _exit(self) -> None:
        if self._depth == 0:  # the share ended meanwhile
            return
        self._depth -= 1
        if self._depth == 0:
            self._add(self._kind, perf_counter() - self._since)
            if self._kind == IRONIC and self._listener is not None:
                self._listener.started()

    def _add(self, kind: str, seconds: float) -> None:
        if kind == IRONIC:
            self.ironic += seconds
        elif kind == DATABASE:
            self.database += seconds
        else:
            self.requests += seconds


_CURRENT: contextvars.ContextVar[Share | None] = contextvars.ContextVar(
    "metalscope_latency_share", default=None)


class waiting_on:
    """Counts the time inside the block as a wait of ``kind`` for the current request's
    share, if one is being accounted (one small object per wait, no generator)."""

    __slots__ = ("_kind", "_share")

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._share: Share | None = None

    def __enter__(self) -> None:
        share = _CURRENT.get()
        if share is not None and not share.ended:
            share._enter(self._kind)
            self._share = share

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        share = self._share
        if share is not None and not share.ended:
            share._exit()


def current() -> Share | None:
    """The share being accounted in this context, if any."""
    return _CURRENT.get()


@contextmanager
def accounted(observe: Callable[[Share], None],
              listener: Listener | None = None) -> Iterator[Share]:
    """Account the block as one request: bind a new share, end it when the block ends
    (normally or by an exception) and hand it to ``observe``; ``listener`` is told when
    the request runs its own code and when it waits on Ironic or ends."""
    share = Share(listener)
    token = _CURRENT.set(share)
    try:
        yield share
    finally:
        _CURRENT.reset(token)
        share.end()
        observe(share)


@contextmanager
def detached() -> Iterator[None]:
    """No share is bound inside the block: tasks created there (background work) copy a
    context without the request's share."""
    token = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token)
