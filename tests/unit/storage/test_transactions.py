"""Write transactions run again when the database sheds them (deadlock, serialisation)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from metalscope.storage.engine import create_engine
from metalscope.storage.transactions import is_retryable, transactions


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _mysql(code: int) -> OperationalError:
    return OperationalError("UPDATE nodes", {}, Exception(code, "message"))


@pytest.mark.parametrize(("error", "expected"), [
    (_mysql(1213), True), (_mysql(1205), True), (_mysql(1062), False),
    (OperationalError("x", {}, _PgError("40P01")), True),
    (OperationalError("x", {}, _PgError("40001")), True),
    (OperationalError("x", {}, _PgError("23505")), False),
    (OperationalError("x", {}, Exception("database is locked")), True),
    (IntegrityError("x", {}, Exception(1062, "Duplicate entry")), False),
    (ValueError("not a database error"), False),
])
def test_retryable_errors(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


async def test_a_shed_transaction_runs_again_and_commits(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 't.sqlite'}")
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (v INTEGER)"))
    runs = 0
    retries: list[None] = []
    async for attempt in transactions(engine, on_retry=lambda: retries.append(None)):
        async with attempt as conn:
            runs += 1
            await conn.execute(sa.text("INSERT INTO t VALUES (:v)"), {"v": runs})
            if runs == 1:
                raise _mysql(1213)
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT v FROM t"))).scalars().all() == [2]
    assert len(retries) == 1  # the retries metric is told once
    await engine.dispose()


async def test_other_errors_and_the_last_attempt_propagate(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 't.sqlite'}")
    runs = 0
    with pytest.raises(ValueError):
        async for attempt in transactions(engine):
            async with attempt:
                runs += 1
                raise ValueError("a bug, not a deadlock")
    assert runs == 1
    runs = 0
    with pytest.raises(OperationalError):
        async for attempt in transactions(engine, attempts=3):
            async with attempt:
                runs += 1
                raise _mysql(1213)
    assert runs == 3
    await engine.dispose()
