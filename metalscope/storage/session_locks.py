"""Shared locks from the database itself: session locks of PostgreSQL and MariaDB/MySQL.

PostgreSQL advisory locks (``pg_try_advisory_lock``) and MySQL named locks (``GET_LOCK``)
belong to a database session and end with it, so when an instance dies the server frees
its locks as soon as the connection drops. Every lock of an instance lives on one
dedicated connection; statements on it are serialised (each takes a fraction of a
millisecond). When that connection breaks, every lock taken on it is gone: the generation
changes, the next statement opens a new session.

Lock names are hashed: advisory locks take a 64-bit key, and MySQL names are server-wide
(at most 64 characters), so the database name goes into the hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from metalscope.storage.engine import async_url

LOG = logging.getLogger(__name__)
PREFIX = "metalscope"
SERVER_DATABASES = ("postgresql", "mysql", "mariadb")


def is_server_database(url: str) -> bool:
    """Whether ``url`` is a PostgreSQL or MariaDB/MySQL URL, which can hold session locks."""
    try:
        return make_url(url).get_backend_name() in SERVER_DATABASES
    except (sa.exc.ArgumentError, ValueError):
        return False


def advisory_key(name: str) -> int:
    """The signed 64-bit key of ``name`` for PostgreSQL advisory locks."""
    digest = hashlib.sha256(f"{PREFIX}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def named_lock(database: str, name: str) -> str:
    """The MySQL lock name of ``name`` (server-wide, so scoped by database name)."""
    return f"{PREFIX}." + hashlib.sha256(f"{database}:{name}".encode()).hexdigest()[:48]


class _Dialect:
    def __init__(self, backend: str, database: str) -> None:
        self.postgres = backend == "postgresql"
        self.database = database

    def lock(self, name: str) -> tuple[sa.TextClause, dict[str, Any]]:
        if self.postgres:
            return sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(name)}
        return sa.text("SELECT GET_LOCK(:name, 0)"), {"name": named_lock(self.database, name)}

    def unlock(self, name: str) -> tuple[sa.TextClause, dict[str, Any]]:
        if self.postgres:
            return sa.text("SELECT pg_advisory_unlock(:key)"), {"key": advisory_key(name)}
        return sa.text("SELECT RELEASE_LOCK(:name)"), {"name": named_lock(self.database, name)}


class DatabaseLocks:
    """Session locks on one dedicated connection to PostgreSQL or MariaDB/MySQL."""

    def __init__(self, connection: str) -> None:
        url = async_url(connection)
        backend = url.get_backend_name()
        if backend not in SERVER_DATABASES:
            raise ValueError(f"Database locks need PostgreSQL or MariaDB/MySQL, not {backend}")
        self._dialect = _Dialect(backend, url.database or "")
        self._engine: AsyncEngine = create_async_engine(url, poolclass=NullPool)
        self._conn: AsyncConnection | None = None
        self._mutex = asyncio.Lock()
        self.generation = 0

    async def start(self) -> None:
        async with self._mutex:
            await self._connection()

    async def stop(self) -> None:
        async with self._mutex:
            await self._drop()
        await self._engine.dispose()

    async def try_lock(self, name: str) -> bool:
        statement, params = self._dialect.lock(name)
        return bool(await self._scalar(statement, params))

    async def unlock(self, name: str) -> None:
        statement, params = self._dialect.unlock(name)
        await self._scalar(statement, params)

    async def alive(self) -> bool:
        generation = self.generation
        await self._scalar(sa.text("SELECT 1"), {})
        return generation == self.generation

    async def _scalar(self, statement: sa.TextClause, params: dict[str, Any]) -> Any:
        async with self._mutex:
            generation = self.generation
            try:
                conn = await self._connection()
                return (await conn.execute(statement, params)).scalar()
            except (sa.exc.DBAPIError, OSError) as exc:
                if generation == self.generation:
                    LOG.error("Lost the database session holding this instance's locks: %s", exc)
                    await self._drop()
                    self.generation += 1
                return None

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
                await conn.close()
            except Exception:  # the connection is already broken; nothing more to release
                LOG.debug("Closing the broken lock connection failed", exc_info=True)
