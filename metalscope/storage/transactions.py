"""Write transactions that are tried again when the database sheds them.

InnoDB resolves a deadlock by rolling one transaction back (error 1213), PostgreSQL does the
same (SQLSTATE 40P01) and may refuse a serialisation (40001); SQLite answers "database is
locked" past its busy timeout. Such a transaction did nothing and can simply run again::

    async for attempt in transactions(engine):
        async with attempt as conn:
            ...  # statements; committed when the block ends

Other errors propagate at once, and so does a retryable one on the last attempt.

A write the database refuses because its disk is full (SQLite "database or disk is full",
PostgreSQL SQLSTATE 53100, MySQL/MariaDB "table is full", "disk full" or a write error
with errno 28) is not tried again: it becomes :class:`DatabaseFull`, a
:class:`~metalscope.errors.ServiceUnavailable` (503, with ``Retry-After``) naming the cause,
logged once here, instead of an unexpected error (500). Nothing of that transaction was
written.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metalscope.errors import ServiceUnavailable

LOG = logging.getLogger(__name__)
ATTEMPTS = 5
MYSQL_CODES = frozenset({1205, 1213})  # lock wait timeout, deadlock
POSTGRES_STATES = frozenset({"40P01", "40001"})
#: ER_DISK_FULL, ER_RECORD_FILE_FULL ("The table ... is full").
MYSQL_FULL_CODES = frozenset({1021, 1114})
POSTGRES_FULL_STATES = frozenset({"53100"})  # disk_full
#: How drivers word an operating-system write failing with ENOSPC.
FULL_TEXTS = ("database or disk is full", "No space left on device", "Errcode: 28",
              "errno: 28")


def is_retryable(exc: BaseException) -> bool:
    """Whether the database rolled the transaction back and it can simply run again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in POSTGRES_STATES:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in MYSQL_CODES:
        return True
    return "database is locked" in str(orig)


def is_disk_full(exc: BaseException) -> bool:
    """Whether the database refused a write because its storage is full."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    if state in POSTGRES_FULL_STATES or (args and args[0] in MYSQL_FULL_CODES):
        return True
    return any(text in str(orig) for text in FULL_TEXTS)


class DatabaseFull(ServiceUnavailable):
    """The database refused a write for lack of space; nothing of it was stored (503)."""

    #: Seconds a client is asked to wait before trying again.
    RETRY_AFTER = 60

    def __init__(self, reason: str) -> None:
        super().__init__(f"The database is out of space and cannot store this change: "
                         f"{reason}. Free disk space where the database is stored.")
        self.reason = reason
        #: Response headers for the HTTP layer.
        self.headers = {"Retry-After": str(self.RETRY_AFTER)}


def out_of_space(exc: DBAPIError) -> DatabaseFull:
    """The 503 for a write refused for lack of space, logged once."""
    LOG.error("A database write failed, the database's disk is full: %s", exc.orig)
    return DatabaseFull(str(exc.orig))


class Attempt:
    """One try: ``async with`` begins a transaction and commits (or rolls back) at the end."""

    def __init__(self, engine: AsyncEngine, last: bool,
                 on_retry: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._last = last
        self._on_retry = on_retry
        self._begin = engine.begin()
        self.done = False

    async def __aenter__(self) -> AsyncConnection:
        return await self._begin.__aenter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        try:
            await self._begin.__aexit__(exc_type, exc, tb)  # commit, or roll back on error
        except Exception as failure:  # the commit itself was refused
            if is_disk_full(failure):
                raise out_of_space(failure) from failure  # type: ignore[arg-type]
            if self._last or not is_retryable(failure):
                raise
            self._retrying(failure)
            return False
        if exc is None:
            self.done = True
            return False
        if is_disk_full(exc):
            raise out_of_space(exc) from exc  # type: ignore[arg-type]
        if not self._last and is_retryable(exc):
            self._retrying(exc)
            return True  # swallowed: the loop runs the block again
        return False

    def _retrying(self, exc: BaseException) -> None:
        LOG.info("Database transaction shed (%s); trying again", getattr(exc, "orig", exc))
        if self._on_retry is not None:
            self._on_retry()


async def transactions(engine: AsyncEngine, attempts: int = ATTEMPTS, *,
                       on_retry: Callable[[], None] | None = None) -> AsyncIterator[Attempt]:
    """Attempts of one transaction (see the module's documentation); ``on_retry`` is called
    each time the database shed one and it runs again."""
    for number in range(attempts):
        attempt = Attempt(engine, number == attempts - 1, on_retry)
        yield attempt
        if attempt.done:
            return
        await asyncio.sleep(random.uniform(0.005, 0.02) * 2 ** number)
