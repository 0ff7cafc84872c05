"""Database calls counted as waits on the database (:mod:`metalscope.latency_share`).

Every call of the service to the database goes through an asyncio ``AsyncConnection`` or
its ``AsyncTransaction``: taking a connection from the pool, each statement, the
beginning, commit and rollback of a transaction, giving the connection back. These
subclasses wrap each such call on the async side, where the request's context is the
caller's, so that the time until it returns counts as a database wait. That includes
SQLAlchemy's own work on the statement and its rows (compiling, which is mostly cached,
and building the result): it is the price of the call, not of MetalScope's logic. With
SQLite run inline (:mod:`~metalscope.storage.sqlite_inline`) the wait is the statement's
execution on the event loop; with PostgreSQL or MySQL it is the round trip.

:func:`timed` installs them on an engine (the one place the engine is made,
:func:`~metalscope.storage.engine.create_engine`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from metalscope.latency_share import DATABASE, waiting_on


class TimedTransaction(AsyncTransaction):
    """A transaction whose begin, commit, rollback and end are database waits."""

    __slots__ = ()

    async def start(self, is_ctxmanager: bool = False) -> AsyncTransaction:
        with waiting_on(DATABASE):
            return await super().start(is_ctxmanager)

    async def commit(self) -> None:
        with waiting_on(DATABASE):
            await super().commit()

    async def rollback(self) -> None:
        with waiting_on(DATABASE):
            await super().rollback()

    async def close(self) -> None:
        with waiting_on(DATABASE):
            await super().close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        with waiting_on(DATABASE):  # commits, or rolls back on an error
            await super().__aexit__(type_, value, traceback)


class TimedConnection(AsyncConnection):
    """A connection whose checkout, statements, commit, rollback and release are waits."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        with waiting_on(DATABASE):
            return await super().start(is_ctxmanager)

    def begin(self) -> AsyncTransaction:
        assert self._proxied
        return TimedTransaction(self)

    def begin_nested(self) -> AsyncTransaction:
        assert self._proxied
        return TimedTransaction(self, nested=True)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        with waiting_on(DATABASE):
            return await super().execute(*args, **kwargs)

    async def exec_driver_sql(self, *args: Any, **kwargs: Any) -> Any:
        with waiting_on(DATABASE):
            return await super().exec_driver_sql(*args, **kwargs)

    async def commit(self) -> None:
        with waiting_on(DATABASE):
            await super().commit()

    async def rollback(self) -> None:
        with waiting_on(DATABASE):
            await super().rollback()

    async def close(self) -> None:
        with waiting_on(DATABASE):
            await super().close()


class TimedEngine(AsyncEngine):
    """An asyncio engine whose connections are :class:`TimedConnection`."""

    __slots__ = ()
    # The class AsyncEngine.connect() instantiates, declared by SQLAlchemy for subclasses.
    _connection_cls = TimedConnection


def timed(engine: AsyncEngine) -> AsyncEngine:
    """``engine``'s connections (and their transactions) timed as database waits: the same
    engine (pool, dialect, events) behind a :class:`TimedEngine`."""
    return TimedEngine(engine.sync_engine)
