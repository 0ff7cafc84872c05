"""A write refused for lack of space is a 503 naming the cause (ServiceUnavailable), at once.

SQLite's ``PRAGMA max_page_count`` gives a real "database or disk is full" without filling a
disk; ``tests/integration/test_disk_full.py`` fills a real (tmpfs) one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from metalscope.errors import ServiceUnavailable
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.storage.transactions import DatabaseFull, is_disk_full, is_retryable

UUID = "5a1e2d3c-4b5a-4697-8877-665544332211"


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _mysql(code: int, message: str = "message") -> OperationalError:
    return OperationalError("INSERT", {}, Exception(code, message))


@pytest.mark.parametrize(("error", "expected"), [
    (OperationalError("x", {}, _PgError("53100")), True),
    (_mysql(1114, "The table 'introspection_data' is full"), True),
    (_mysql(1021, "Disk full (/tmp/#sql_1.MAI); waiting for someone to free some space..."), True),
    (_mysql(1026, "Error writing file './ms/nodes.ibd' (errno: 28 \"No space left on device\")"),
     True),
    (_mysql(3, "Error writing file '/tmp/MYfd=40' (Errcode: 28 \"No space left on device\")"),
     True),
    (OperationalError("x", {}, Exception("database or disk is full")), True),
    (_mysql(1213), False),
    (OperationalError("x", {}, _PgError("40P01")), False),
    (IntegrityError("x", {}, Exception(1062, "Duplicate entry")), False),
    (OSError(28, "No space left on device"), False),  # not a database error
])
def test_disk_full_errors(error: BaseException, expected: bool) -> None:
    """PostgreSQL's 53100, MySQL's full-table/disk-full codes, errno 28, SQLite's text."""
    assert is_disk_full(error) is expected
    if expected:
        assert not is_retryable(error)


@pytest.fixture
async def small_repo(tmp_path: Path) -> AsyncIterator[Repository]:
    """A repository whose SQLite file may grow by a few pages only."""
    url = f"sqlite:///{tmp_path / 'small.sqlite'}"
    migrate.upgrade(url)
    engine = create_engine(url)

    def limit(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 4}")
        cursor.close()

    sa.event.listen(engine.sync_engine, "connect", limit)
    repository = Repository(engine)
    yield repository
    await engine.dispose()


async def test_full_database_is_service_unavailable(small_repo: Repository,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A real "database or disk is full": 503 with the cause, logged once, tried once;
    nothing of it stored; the database still serves reads and small writes."""
    await small_repo.start_introspection(UUID, False, ["192.0.2.1"], None)
    with (caplog.at_level(logging.INFO, logger="metalscope.storage.transactions"),
          pytest.raises(DatabaseFull) as caught):
        await small_repo.store_data(UUID, False, {"blob": "x" * 1_000_000})
    assert isinstance(caught.value, ServiceUnavailable)
    assert caught.value.headers == {"Retry-After": "60"}
    assert str(caught.value) == (
        "The database is out of space and cannot store this change: database or disk is "
        "full. Free disk space where the database is stored.")
    assert [r.message for r in caplog.records] == [
        "A database write failed, the database's disk is full: database or disk is full"]
    assert await small_repo.get_data(UUID, False) is None
    assert (await small_repo.get_node(UUID)) is not None
    await small_repo.store_data(UUID, False, {"small": True})
    assert await small_repo.get_data(UUID, False) == '{"small":true}'
