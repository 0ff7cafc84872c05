"""Migration 0006 (``introspection_history.age_from``) and the clean-up's pruning of every
node's history that it serves, on SQLite; collected again on PostgreSQL and MariaDB by
tests/integration/server_databases/test_records.py (``url`` fixture)."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage import tables as t
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.history import Retention
from metalscope.storage.repository import Repository, utcnow
from metalscope.storage.upstream_revisions import HEAD

BEFORE = "0005_hardware_summaries"
KNOWN = "77777777-7777-4777-8777-777777777777"
GONE = "88888888-8888-4888-8888-888888888888"
INDEX = "introspection_history_age_from_idx"
YEAR = datetime.timedelta(days=365)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
async def migrated(url: str) -> AsyncIterator[Repository]:
    migrate.upgrade(url)
    repository = Repository(create_engine(url))
    yield repository
    await repository.engine.dispose()


def history_schema(url: str) -> tuple[set[str], set[str]]:
    """The columns and the index names of introspection_history."""
    engine = create_sync_engine(url)
    try:
        inspector = sa.inspect(engine)
        return ({str(c["name"]) for c in inspector.get_columns("introspection_history")},
                {str(i["name"]) for i in inspector.get_indexes("introspection_history")})
    finally:
        engine.dispose()


async def record(repo: Repository, uuid: str, days_old: float) -> int:
    return await repo.record_version(
        uuid, started_at=None, finished_at=utcnow() - datetime.timedelta(days=days_old),
        source="inband", processed={"inventory": {"memory": {"physical_mb": 1024}}},
        unprocessed=None, error=None, summary=None, changed=None)


async def known_node(repo: Repository, uuid: str) -> None:
    started = await repo.start_introspection(uuid, True, [], None)
    await repo.transition(await repo.transition(started, Event.WAIT), Event.PROCESS)


async def age_from(repo: Repository, uuid: str) -> dict[int, Any]:
    h = t.introspection_history.c
    async with repo.engine.connect() as conn:
        rows = await conn.execute(sa.select(h.version, h.age_from, h.finished_at)
                                  .where(h.uuid == uuid))
        return {v: (None if a is None else a == f) for v, a, f in rows}


async def versions(repo: Repository, uuid: str) -> list[int]:
    return sorted(v.version for v in await repo.list_versions(uuid))


async def test_upgrade_from_0005_fills_age_from(url: str) -> None:
    """The newest version of a node with a record is its baseline (NULL); every other
    version ages from its finished_at."""
    migrate.upgrade(url, BEFORE)
    assert "age_from" not in history_schema(url)[0]
    engine = create_sync_engine(url)
    now = utcnow()
    rows = [{"uuid": uuid, "version": v, "finished_at": now - datetime.timedelta(days=10 - v),
             "recorded_at": now, "source": "inband", "codec": "zlib", "raw_bytes": 2,
             "stored_bytes": 2, "processed": b"{}"} for uuid in (KNOWN, GONE) for v in (1, 2, 3)]
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(t.nodes), [{"uuid": KNOWN, "state": "finished",
                                               "version_id": "v", "started_at": now,
                                               "finished_at": now}])
            conn.execute(sa.insert(t.introspection_history), rows)
    finally:
        engine.dispose()
    assert migrate.upgrade(url) is None
    assert migrate.schema_problem(url) is None
    columns, indexes = history_schema(url)
    assert "age_from" in columns and INDEX in indexes
    repo = Repository(create_engine(url))
    try:
        assert await age_from(repo, KNOWN) == {1: True, 2: True, 3: None}
        assert await age_from(repo, GONE) == {1: True, 2: True, 3: True}
    finally:
        await repo.engine.dispose()


def test_downgrade_to_0005_drops_the_column_and_index(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url, BEFORE)
    columns, indexes = history_schema(url)
    assert "age_from" not in columns and INDEX not in indexes
    assert migrate.versions(url).metalscope == BEFORE
    assert migrate.upgrade(url) is None
    assert INDEX in history_schema(url)[1]


def test_downgrade_to_upstream_and_adoption_again(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url)
    assert migrate.upgrade(url) == HEAD  # adopted again
    columns, indexes = history_schema(url)
    assert "age_from" in columns and INDEX in indexes


class TestAgeFromKept:
    async def test_a_new_version_becomes_the_baseline(self, migrated: Repository) -> None:
        await known_node(migrated, KNOWN)
        for _ in range(3):
            await record(migrated, KNOWN, 1)
        assert await age_from(migrated, KNOWN) == {1: True, 2: True, 3: None}

    async def test_a_version_of_a_node_without_record_ages_at_once(
            self, migrated: Repository) -> None:
        await record(migrated, GONE, 1)
        assert await age_from(migrated, GONE) == {1: True}

    async def test_a_forgotten_node_s_baseline_ages(self, migrated: Repository) -> None:
        await known_node(migrated, KNOWN)
        await record(migrated, KNOWN, 1)
        await migrated.delete_node(KNOWN)
        assert await age_from(migrated, KNOWN) == {1: True}


class TestPruningEveryNode:
    async def test_expired_versions_go_but_a_known_node_s_baseline(
            self, migrated: Repository) -> None:
        migrated.retention = Retention(0, None)
        await known_node(migrated, KNOWN)
        for days in (800, 500, 400):
            await record(migrated, KNOWN, days)
            await record(migrated, GONE, days)
        await record(migrated, GONE, 3)
        pruned = await migrated.prune_history(None, max_versions=0, max_age=YEAR)
        assert pruned == 5
        assert await versions(migrated, KNOWN) == [3]
        assert await versions(migrated, GONE) == [4]

    async def test_a_forgotten_node_keeps_its_history_until_max_age(
            self, migrated: Repository) -> None:
        await known_node(migrated, KNOWN)
        await record(migrated, KNOWN, 400)
        assert await migrated.prune_history(None, max_versions=0, max_age=YEAR) == 0
        await migrated.delete_node(KNOWN)
        assert await migrated.prune_history(None, max_versions=0, max_age=YEAR) == 1
        assert await versions(migrated, KNOWN) == []

    async def test_a_node_known_again_keeps_its_baseline(self, migrated: Repository) -> None:
        """Forgotten, then introspected again: until the new introspection records a
        version, the old newest one stays the baseline, however old."""
        await known_node(migrated, KNOWN)
        await record(migrated, KNOWN, 400)
        await migrated.delete_node(KNOWN)
        await known_node(migrated, KNOWN)
        assert await migrated.prune_history(None, max_versions=0, max_age=YEAR) == 0
        assert await versions(migrated, KNOWN) == [1]

    async def test_more_expired_versions_than_one_chunk(self, migrated: Repository) -> None:
        migrated.retention = Retention(0, None)
        for _ in range(1203):
            await record(migrated, GONE, 400)
        assert await migrated.prune_history(None, max_versions=0, max_age=YEAR) == 1203

    async def test_counts_checked_once_per_max_versions(self, migrated: Repository) -> None:
        """The sweep of every node's count runs the first time and when max_versions
        changes; in between, recorded versions prune their own node."""
        migrated.retention = Retention(0, None)
        for _ in range(4):
            await record(migrated, KNOWN, 1)
        statements: list[str] = []

        def seen(_c: Any, _cu: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        sa.event.listen(migrated.engine.sync_engine, "before_cursor_execute", seen)
        try:
            assert await migrated.prune_history(None, max_versions=3, max_age=None) == 1
            assert sum("GROUP BY" in s for s in statements) == 1
            assert await migrated.prune_history(None, max_versions=3, max_age=None) == 0
            assert sum("GROUP BY" in s for s in statements) == 1
            assert await migrated.prune_history(None, max_versions=2, max_age=None) == 1
            assert sum("GROUP BY" in s for s in statements) == 2
        finally:
            sa.event.remove(migrated.engine.sync_engine, "before_cursor_execute", seen)
        assert await versions(migrated, KNOWN) == [3, 4]

    async def test_age_pruning_reads_the_age_index(self, migrated: Repository,
                                                   url: str) -> None:
        """SQLite searches the age_from index instead of scanning every version."""
        if not url.startswith("sqlite"):
            pytest.skip("SQLite's query plan")
        for _ in range(20):
            await record(migrated, GONE, 1)
        statements: list[tuple[str, Any]] = []

        def seen(_c: Any, _cu: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append((statement, parameters))

        sa.event.listen(migrated.engine.sync_engine, "before_cursor_execute", seen)
        try:
            await migrated.prune_history(None, max_versions=0, max_age=YEAR)
        finally:
            sa.event.remove(migrated.engine.sync_engine, "before_cursor_execute", seen)
        (statement, parameters), = [s for s in statements if "age_from <" in s[0]]
        async with migrated.engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in await conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert f"SEARCH introspection_history USING INDEX {INDEX}" in plan, plan
