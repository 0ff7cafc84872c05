"""Database calls are waits of the request's latency share (storage/timed_connection.py).

The clock ticks once per reading, so each outermost wait adds exactly one "second": the
figures count the calls that were timed, whatever the machine's speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope import latency_share
from metalscope.latency_share import Share, accounted
from metalscope.storage.engine import create_engine
from metalscope.storage.timed_connection import TimedConnection


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Ticks:
    clock = Ticks()
    monkeypatch.setattr(latency_share, "perf_counter", clock)
    return clock


async def test_every_database_call_is_one_wait(tmp_path: Path, ticks: Ticks) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'timed.db'}")
    try:
        async with engine.begin() as conn:
            assert isinstance(conn, TimedConnection)
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        shares: list[Share] = []
        with accounted(shares.append):
            # checkout, begin, two statements, commit, release
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
                await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
            # checkout, one statement (scalar goes through execute), release
            async with engine.connect() as conn:
                assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 2
        [share] = shares
        assert share.database == 9
        assert share.ironic == 0
        assert share.own == share.total - 9
    finally:
        await engine.dispose()


async def test_outside_a_request_nothing_is_counted(tmp_path: Path, ticks: Ticks) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'timed.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
        assert ticks.now == 0  # not even a clock reading
    finally:
        await engine.dispose()
