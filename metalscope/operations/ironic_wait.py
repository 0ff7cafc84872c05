"""Waiting for Ironic when it cannot be reached (restarting, briefly down, overloaded).

The client has already repeated the request a few times (``ironic_client``); when Ironic still
gave no answer it raises :class:`~metalscope.errors.IronicError` with ``status`` None. A
502, 503 or 504 (a proxy in front of a restarting Ironic, no free conductor) means the same:
try again later. Instead of failing the node, :class:`IronicWait` tries the step again,
backing off, until its deadline; then :class:`IronicUnavailable` (503, retryable) tells the
caller to give the work back: a callback's node returns to ``waiting`` for the ramdisk's
retry.

Deadlines: a callback waits ``[processing]ironic_wait`` seconds from its arrival, so that the
ramdisk has its answer before its own request times out (IPA: 30 s); a step still in flight
then is cut, which is safe because every later try starts again from a fresh read of the node.
Work done after the answer (power-off, reapply) waits as long as the introspection may last
(``[DEFAULT]timeout`` after its start).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from metalscope.errors import IronicError, ServiceUnavailable
from metalscope.settings import Settings
from metalscope.storage.repository import utcnow

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: Answers that mean "Ironic is not there right now" rather than "Ironic refuses".
UNAVAILABLE_STATUSES = frozenset({None, 502, 503, 504})
#: Seconds a 503 asks the ramdisk to wait (IPA's shortest wait between its attempts).
RETRY_AFTER = 5
FIRST_DELAY = 0.2
MAX_DELAY = 5.0


class IronicUnavailable(ServiceUnavailable):
    """Ironic could not be reached before the deadline; the work may be retried (503)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Ironic could not be reached, please retry later: {detail}")
        self.detail = detail
        self.retry_after = RETRY_AFTER
        #: Response headers for the HTTP layer.
        self.headers = {"Retry-After": str(RETRY_AFTER)}


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says Ironic could not be reached (rather than refused the request)."""
    return isinstance(exc, IronicError) and exc.status in UNAVAILABLE_STATUSES


def _clock() -> float:
    return asyncio.get_running_loop().time()


@dataclass(frozen=True)
class Deadline:
    """When waiting for Ironic stops, on the event loop's monotonic clock (None: never)."""

    at: float | None

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else _clock() + seconds)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - _clock()


def callback_deadline(settings: Settings) -> Deadline:
    """How long a ramdisk callback waits for Ironic: ``[processing]ironic_wait`` seconds."""
    return Deadline.after(settings.processing.ironic_wait)


def introspection_deadline(settings: Settings, started_at: datetime.datetime | None) -> Deadline:
    """How long work done after the answer waits: until the introspection would time out
    (``[DEFAULT]timeout`` after ``started_at``; never when timeouts are off), and at least
    ``[processing]ironic_wait`` seconds."""
    timeout = settings.default.timeout
    if timeout <= 0 or started_at is None:
        return Deadline(None)
    left = (started_at + datetime.timedelta(seconds=timeout) - utcnow()).total_seconds()
    return Deadline.after(max(left, settings.processing.ironic_wait))


class IronicWait:
    """Tries Ironic steps again while Ironic is unavailable, until ``deadline``.

    One instance serves one piece of work (a callback, a finishing step, a reapply): its
    back-off carries over from one step to the next.
    """

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._delay = FIRST_DELAY
        self._waited = False

    async def call(self, step: Callable[[], Awaitable[T]], what: str) -> T:
        """The result of ``step()``, tried again while Ironic is unavailable; other errors
        propagate at once, IronicUnavailable once the deadline has passed."""
        while True:
            try:
                return await self.attempt(step)
            except IronicError as exc:
                if not is_unavailable(exc):
                    raise
                await self.pause(exc, what)

    async def attempt(self, step: Callable[[], Awaitable[T]]) -> T:
        """One try of ``step()``, cut when the deadline passes (IronicError, status None).

        Once the deadline has passed a step is not cut: it is a first try (retries are not
        started then), and a zero ``ironic_wait`` must not cut a healthy Ironic's answer.
        """
        limit = self.deadline.remaining()
        if limit is None or limit <= 0:
            return await step()
        try:
            async with asyncio.timeout(limit):
                return await step()
        except TimeoutError as exc:
            raise IronicError("Ironic did not answer in time", None) from exc

    async def pause(self, exc: IronicError, what: str) -> None:
        """Sleep before the next try, or raise IronicUnavailable when no time is left."""
        remaining = self.deadline.remaining()
        if remaining is not None and remaining <= 0:
            raise IronicUnavailable(str(exc)) from exc
        pause = self._delay if remaining is None else min(self._delay, remaining)
        log = LOG.debug if self._waited else LOG.warning
        log("Ironic is unavailable while %s (%s); trying again in %.1f s", what, exc, pause)
        self._waited = True
        self._delay = min(self._delay * 2, MAX_DELAY)
        await asyncio.sleep(pause)
