"""SQLite for the asyncio engine without a thread: statements run on the event loop.

SQLite is a library inside the process, and a MetalScope statement on it takes tens of
microseconds. The usual asyncio driver (aiosqlite) hands every call (cursor, execute,
fetch, commit, rollback) to a worker thread and back: a thread wake-up and an event-loop
wake-up each time, which cost the service more CPU than the statements themselves. This
dialect is SQLAlchemy's own ``sqlite`` (pysqlite) dialect declared usable by the asyncio
engine: ``greenlet_spawn`` then runs each call straight through, without suspending.

What that means for the service: a statement holds the event loop while it runs, and
a transaction, whose statements follow one another without a pause of the loop, is over
before any other task runs; the repository's transactions await nothing but their own
statements. SQLite's busy timeout is therefore short on these connections
(:data:`BUSY_TIMEOUT_MS`): a write can only find the file locked by another process (the
PXE filter process only reads, which WAL never blocks) or by a transaction of this process
that paused the loop half-way, and in either case waiting inside SQLite would hold the
loop. It gives up quickly instead, "database is locked", and
:func:`~metalscope.storage.transactions.transactions` runs the transaction again after a
short sleep, with the loop free. The pool is asyncio's, so a wait for a free connection
does not block the loop either.

The URL is ``sqlite+metalscope_inline://``; :func:`metalscope.storage.engine.async_url`
maps an operator's ``sqlite://`` URL to it (``sqlite+aiosqlite://`` is kept as written).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_

DRIVER = "metalscope_inline"
#: How long a statement waits for another connection's write lock before "database is
#: locked" (then the transaction is tried again with the loop free).
BUSY_TIMEOUT_MS = 100


async def _nothing() -> None:
    """Completes at once: awaiting it does not give the event loop a turn."""


def _checkpoint() -> None:
    # The asyncio engine refuses an execution during which nothing was awaited (its guard
    # against synchronous drivers); awaiting a finished coroutine satisfies it for the
    # price of two greenlet switches.
    await_(_nothing())


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by the asyncio engine after an execution (an asyncio driver's cursor
        releases its server-side state there); a sqlite3 cursor has none to release."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared asynchronous: every call completes without a thread hop."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    def create_connect_args(self, url: URL) -> Any:
        args, options = super().create_connect_args(url)
        options["factory"] = _Connection
        return args, options

    def do_execute(self, cursor: Any, statement: str, parameters: Any,
                   context: Any = None) -> None:
        _checkpoint()
        super().do_execute(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        _checkpoint()
        super().do_execute_no_params(cursor, statement, context)  # type: ignore[no-untyped-call]

    def do_executemany(self, cursor: Any, statement: str, parameters: Any,
                       context: Any = None) -> None:
        _checkpoint()
        super().do_executemany(cursor, statement, parameters, context)  # type: ignore[no-untyped-call]

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool  # one in-memory database: one connection


dialect = InlineSQLiteDialect
