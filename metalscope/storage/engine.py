"""Database engines from the upstream ``[database]connection`` URL.

Operators write synchronous driver URLs (``sqlite:///...``, ``mysql+pymysql://...``,
``postgresql://...``). The service runs on asyncio, so each URL is mapped to the asyncio
driver for the same database; migrations use the synchronous URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from metalscope.storage import sqlite_inline, timed_connection

_ASYNC_DRIVERS = {
    "sqlite": f"sqlite+{sqlite_inline.DRIVER}",
    "mysql": "mysql+aiomysql",
    "mariadb": "mysql+aiomysql",
    "postgresql": "postgresql+asyncpg",
}
#: How long a statement waits for another connection's SQLite write lock (threads and
#: command-line tools; the service's own connections use sqlite_inline.BUSY_TIMEOUT_MS).
SQLITE_BUSY_TIMEOUT_MS = 30000
_SYNC_DRIVERS = {
    "sqlite": "sqlite",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "postgresql": "postgresql+psycopg",
}


def _backend(url: URL) -> str:
    return url.get_backend_name()


def async_url(connection: str) -> URL:
    url = make_url(connection)
    driver = _ASYNC_DRIVERS.get(_backend(url))
    if driver is None:
        raise ValueError(f"Unsupported database in [database]connection: {url.drivername}")
    if url.drivername in ("postgresql+psycopg", "mysql+asyncmy", "sqlite+aiosqlite",
                          f"sqlite+{sqlite_inline.DRIVER}", "postgresql+asyncpg",
                          "mysql+aiomysql"):
        return url
    return url.set(drivername=driver)


def sync_url(connection: str) -> URL:
    url = make_url(connection)
    driver = _SYNC_DRIVERS.get(_backend(url))
    if driver is None:
        raise ValueError(f"Unsupported database in [database]connection: {url.drivername}")
    # ironic-inspector's ``postgresql+psycopg2://`` URLs run on psycopg 3, MetalScope's driver.
    keep = ("mysql+pymysql", "postgresql+psycopg", "sqlite")
    return url if url.drivername in keep else url.set(drivername=driver)


def _ensure_sqlite_folder(url: URL) -> None:
    if _backend(url) == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
    return on_connect


@dataclass(frozen=True)
class PoolOptions:
    """oslo.db's ``[database]`` pool options (server databases only)."""

    max_pool_size: int = 5
    max_overflow: int = 50
    pool_timeout: int = 30
    connection_recycle_time: int = 3600


def create_engine(connection: str, pool: PoolOptions | None = None) -> AsyncEngine:
    """The asyncio engine the service uses."""
    url = async_url(connection)
    _ensure_sqlite_folder(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": _backend(url) != "sqlite"}
    if _backend(url) != "sqlite":
        pool = pool or PoolOptions()
        kwargs.update(pool_size=pool.max_pool_size, max_overflow=pool.max_overflow,
                      pool_timeout=pool.pool_timeout, pool_recycle=pool.connection_recycle_time)
    if _backend(url) in ("mysql", "mariadb"):
        # Every write is a compare-and-set on rows it names; REPEATABLE READ's gap locks
        # would only make concurrent inserts of different nodes deadlock each other.
        kwargs["isolation_level"] = "READ COMMITTED"
    engine = timed_connection.timed(create_async_engine(url, **kwargs))
    if _backend(url) == "sqlite":
        inline = url.drivername == f"sqlite+{sqlite_inline.DRIVER}"
        busy = sqlite_inline.BUSY_TIMEOUT_MS if inline else SQLITE_BUSY_TIMEOUT_MS
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy))
    return engine


def create_sync_engine(connection: str) -> sa.Engine:
    """A synchronous engine, for migrations and command-line tools."""
    url = sync_url(connection)
    _ensure_sqlite_folder(url)
    engine = sa.create_engine(url)
    if _backend(url) == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas(SQLITE_BUSY_TIMEOUT_MS))
    return engine


def pool_options(database: Any) -> PoolOptions:
    """The pool options of a ``[database]`` settings section."""
    return PoolOptions(database.max_pool_size, database.max_overflow, database.pool_timeout,
                       database.connection_recycle_time)
