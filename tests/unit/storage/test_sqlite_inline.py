"""SQLite statements run on the event loop, without a thread (storage/sqlite_inline.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope.storage.engine import async_url, create_engine
from metalscope.storage.sqlite_inline import BUSY_TIMEOUT_MS, DRIVER
from metalscope.storage.transactions import transactions


def test_operator_sqlite_urls_use_it_and_aiosqlite_stays_as_written() -> None:
    assert async_url("sqlite:////var/lib/x.db").drivername == f"sqlite+{DRIVER}"
    assert async_url("sqlite+pysqlite:///x.db").drivername == f"sqlite+{DRIVER}"
    assert async_url("sqlite+aiosqlite:///x.db").drivername == "sqlite+aiosqlite"


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'inline.db'}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    yield engine
    await engine.dispose()


async def test_a_transaction_does_not_give_the_loop_a_turn(engine) -> None:  # type: ignore[no-untyped-def]
    """Statements run without a thread hop or a suspension: no other task runs between them."""
    ran: list[str] = []
    async with engine.begin() as conn:
        asyncio.get_running_loop().call_soon(ran.append, "other task")
        for n in range(5):
            await conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
        assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 5
        assert ran == []
        await asyncio.sleep(0)
        assert ran == ["other task"]
    assert engine.dialect.driver == DRIVER


async def test_writers_that_pause_the_loop_are_retried_not_stuck(
        engine, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """A transaction that pauses the loop while holding SQLite's write lock makes the other
    writers give up quickly ("database is locked") and run again, instead of holding the
    loop for the whole busy timeout of the threaded driver."""
    async def write(n: int) -> None:
        async for attempt in transactions(engine, attempts=20):
            async with attempt as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(0.01)  # the loop runs other tasks inside the transaction

    caplog.set_level(logging.INFO, "metalscope.storage.transactions")
    await asyncio.gather(*(write(n) for n in range(8)))
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*), sum(n) FROM t"))).one() == (8, 28)
    assert "database is locked" in caplog.text
    async with engine.connect() as conn:
        timeout = (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar()
    assert timeout == BUSY_TIMEOUT_MS


async def test_errors_are_the_usual_ones(engine) -> None:  # type: ignore[no-untyped-def]
    """Driver errors surface as SQLAlchemy's wrapped DBAPI errors, as with any driver."""
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT * FROM missing"))
    async with engine.connect() as conn:  # the connection went back to the pool usable
        assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
