"""Many records on PostgreSQL and MariaDB (each test runs on both): migration 0006 and the
history pruning collected again from the SQLite unit tests; on PostgreSQL, the plans chosen
for the queries whose cost must not grow with the records (an index, no sort of every
record)."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from metalscope.state_machine import State
from metalscope.storage import migrate
from metalscope.storage import tables as t
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository, utcnow
from metalscope.testing.databases import ScratchDatabase
from tests.unit.storage.test_history_age_migration import (  # noqa: F401  (collected again)
    TestAgeFromKept,
    TestPruningEveryNode,
    migrated,
    test_downgrade_to_0005_drops_the_column_and_index,
    test_downgrade_to_upstream_and_adoption_again,
    test_upgrade_from_0005_fills_age_from,
)

pytestmark = pytest.mark.integration
RECORDS = 3000
T0 = datetime.datetime(2026, 1, 1)


@pytest.fixture
def url(scratch_database: ScratchDatabase) -> str:
    return scratch_database.url


@pytest.fixture
async def filled(url: str) -> AsyncIterator[Repository]:
    """RECORDS finished records (one processing), and as many forgotten nodes with one
    history version each, expired but the first ten, statistics up to date. PostgreSQL
    only: MariaDB's optimizer sorts a few thousand rows rather than walk an index (it walks
    it at tens of thousands)."""
    if not url.startswith("postgresql"):
        pytest.skip("query plans checked on PostgreSQL (SQLite: tests/unit/storage)")
    migrate.upgrade(url)
    repo = Repository(create_engine(url))
    uuids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(RECORDS)]
    now = utcnow()
    nodes = [{"uuid": u, "state": "processing" if n == 7 else "finished", "version_id": "v",
              "started_at": T0 + datetime.timedelta(seconds=n),
              "finished_at": None if n == 7 else T0 + datetime.timedelta(seconds=n + 60),
              "error": None, "manage_boot": True} for n, u in enumerate(uuids)]
    versions = [{"uuid": "1" + u[1:], "version": 1, "finished_at": now, "recorded_at": now,
                 "age_from": T0 if n > 10 else None, "source": "inband", "codec": "zlib",
                 "raw_bytes": 2, "stored_bytes": 2, "processed": b"{}"}
                for n, u in enumerate(uuids)]
    async with repo.engine.begin() as conn:
        await conn.execute(sa.insert(t.nodes), nodes)
        await conn.execute(sa.insert(t.introspection_history), versions)
    async with repo.engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE" if repo.engine.dialect.name == "postgresql"
                                   else "ANALYZE TABLE nodes, introspection_history"))
        await conn.commit()
    yield repo
    await repo.engine.dispose()


async def plans(repo: Repository, run: Callable[[], Awaitable[Any]]) -> list[str]:
    """The server's plan of every SELECT ``run`` makes, as text."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cu: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = repo.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        await run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    found = []
    async with repo.engine.connect() as conn:
        for statement, parameters in seen:
            rows = (await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)).all()
            found.append("\n".join(" ".join(str(v) for v in row) for row in rows))
    return found


def uses_index(plan: str, index: str) -> bool:
    return index in plan and "Sort" not in plan


async def test_a_deep_page_walks_the_start_index(filled: Repository) -> None:
    marker = await filled.get_node(f"00000000-0000-4000-8000-{RECORDS // 2:012d}")
    assert marker is not None
    first, = await plans(filled, lambda: filled.list_nodes(None, 50, None))
    deep, = await plans(filled, lambda: filled.list_nodes(marker, 50, None))
    assert uses_index(first, "nodes_started_at_idx"), first
    assert uses_index(deep, "nodes_started_at_idx"), deep
    page = await filled.list_nodes(marker, 3, None)
    assert [r.uuid[-4:] for r in page] == ["1499", "1498", "1497"]


async def test_activity_and_interrupted_records_use_indexes(filled: Repository) -> None:
    exists, = await plans(filled, filled.any_active)
    assert "nodes_state_idx" in exists or "nodes_finished_at_idx" in exists, exists
    assert await filled.any_active()
    per_state = await plans(filled, filled.unsettled)
    assert len(per_state) == 5
    assert all(uses_index(plan, "nodes_state_idx") for plan in per_state), per_state
    assert [r.state for r in await filled.unsettled()] == [State.PROCESSING]


async def test_age_pruning_reads_the_expired_versions_only(filled: Repository) -> None:
    plan = (await plans(filled, lambda: filled.prune_history(
        None, max_versions=0, max_age=datetime.timedelta(days=30))))[0]
    assert "introspection_history_age_from_idx" in plan, plan
    assert len(await filled.list_versions("10000000-0000-4000-8000-000000000005")) == 1
    assert await filled.list_versions("10000000-0000-4000-8000-000000000050") == []
