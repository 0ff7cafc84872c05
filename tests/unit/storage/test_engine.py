"""Engines from ``[database]``: asyncio drivers, oslo.db pool options, MySQL isolation."""

from __future__ import annotations

from metalscope.settings import load_settings
from metalscope.storage.engine import async_url, create_engine, pool_options, sync_url


def test_operator_urls_map_to_asyncio_and_sync_drivers() -> None:
    assert async_url("postgresql://u@db/x").drivername == "postgresql+asyncpg"
    assert async_url("mysql+pymysql://u@db/x").drivername == "mysql+aiomysql"
    assert sync_url("postgresql://u@db/x").drivername == "postgresql+psycopg"
    assert sync_url("mysql://u@db/x").drivername == "mysql+pymysql"
    assert sync_url("postgresql+psycopg2://u@db/x").drivername == "postgresql+psycopg"
    assert async_url("postgresql+psycopg2://u@db/x").drivername == "postgresql+asyncpg"


async def test_pool_options_from_the_database_section() -> None:
    settings = load_settings(overrides={"database": {
        "connection": "postgresql://u@127.0.0.1/x", "max_pool_size": 7, "max_overflow": 3,
        "pool_timeout": 9, "connection_recycle_time": 120}})
    engine = create_engine(settings.database.connection, pool_options(settings.database))
    pool = engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (7, 3, 9, 120)  # type: ignore[attr-defined]
    await engine.dispose()


async def test_oslo_db_defaults_and_read_committed_on_mysql() -> None:
    settings = load_settings(overrides={"database": {"connection": "mysql://u@127.0.0.1/x"}})
    engine = create_engine(settings.database.connection, pool_options(settings.database))
    assert engine.sync_engine.pool.size() == 5  # type: ignore[attr-defined]
    assert engine.sync_engine.pool._max_overflow == 50  # type: ignore[attr-defined]
    # Applied to every new connection (the MariaDB scale-out tests show it on a real server).
    assert engine.sync_engine.dialect._on_connect_isolation_level == "READ COMMITTED"  # type: ignore[attr-defined]
    await engine.dispose()
