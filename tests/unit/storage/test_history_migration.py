"""Migration 0004 (introspection_history) on SQLite; collected again on PostgreSQL and
MariaDB by tests/integration/server_databases/test_history.py (``url`` fixture)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.repository import Repository, utcnow
from metalscope.storage.upstream_revisions import HEAD

NODE = "44444444-4444-4444-8444-444444444444"
BEFORE = "0003_adopted_schema"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


def tables(url: str) -> set[str]:
    engine = create_sync_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


async def record_one(url: str) -> int:
    repo = Repository(create_engine(url))
    try:
        return await repo.record_version(NODE, started_at=None, finished_at=utcnow(),
                                         source="inband", processed={"inventory": {"a": 1}},
                                         unprocessed={"inventory": {"a": 1}}, error=None,
                                         summary=None, changed=None)
    finally:
        await repo.engine.dispose()


async def test_upgrade_from_0003_keeps_the_data(url: str) -> None:
    migrate.upgrade(url, BEFORE)
    repo = Repository(create_engine(url))
    try:
        record = await repo.start_introspection(NODE, True, ["192.0.2.1"], None)
        record = await repo.transition(record, Event.WAIT)
        await repo.store_data(NODE, True, {"inventory": {"memory": {"physical_mb": 1024}}})
    finally:
        await repo.engine.dispose()
    problem = migrate.schema_problem(url)
    assert problem is not None and "Run `metalscope db upgrade`" in problem
    assert migrate.upgrade(url) is None
    assert migrate.schema_problem(url) is None
    repo = Repository(create_engine(url))
    try:
        assert (await repo.get_node(NODE)) == record
        assert await repo.get_data(NODE, True) == '{"inventory":{"memory":{"physical_mb":1024}}}'
        assert await repo.list_versions(NODE) == []
    finally:
        await repo.engine.dispose()
    assert await record_one(url) == 1


async def test_downgrade_to_upstream_drops_the_history_and_adoption_recreates_it(
        url: str) -> None:
    migrate.upgrade(url)
    await record_one(url)
    assert migrate.downgrade(url)
    assert "introspection_history" not in tables(url)
    assert migrate.versions(url) == migrate.Versions(None, HEAD)
    assert migrate.upgrade(url) == HEAD  # adopted again
    assert "introspection_history" in tables(url)
    assert await record_one(url) == 1


def test_downgrade_to_0003_drops_only_the_history(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url, BEFORE)
    found = tables(url)
    assert "introspection_history" not in found and "ramdisk_callbacks" in found
    assert migrate.versions(url).metalscope == BEFORE


async def test_a_large_version_round_trips(url: str) -> None:
    """Megabytes of poorly compressible data (LONGBLOB on MariaDB)."""
    migrate.upgrade(url)
    noise = [f"{n:08x}{(n * 2654435761) % 2**32:08x}" for n in range(150_000)]
    processed = {"inventory": {"noise": noise}}
    repo = Repository(create_engine(url))
    try:
        await repo.record_version(NODE, started_at=utcnow() - datetime.timedelta(minutes=5),
                                  finished_at=utcnow(), source="inband", processed=processed,
                                  unprocessed={"inventory": {"other": noise[::-1]}},
                                  error=None, summary=None, changed=None)
        stored = await repo.get_version(NODE, 1)
    finally:
        await repo.engine.dispose()
    assert stored is not None and stored.processed == processed
    assert stored.stored_bytes > 1024 * 1024
