"""Migrations and the repository on PostgreSQL and MariaDB (each test runs on both).

The repository's SQLite unit tests are collected again here with the ``repo`` fixture
pointing at a scratch database on the server, so every storage behaviour is checked on
all three databases.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope.state_machine import Event, State
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.repository import Repository
from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.service import render_config
from tests.unit.storage.test_repository import (  # noqa: F401  (collected again on each server)
    TestData,
    TestLookup,
    TestRules,
    TestStatusRecords,
)

UUID = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
async def repo(scratch_database: ScratchDatabase) -> AsyncIterator[Repository]:
    migrate.upgrade(scratch_database.url)
    repository = Repository(create_engine(scratch_database.url))
    yield repository
    await repository.engine.dispose()


def test_db_upgrade_command_creates_the_schema(scratch_database: ScratchDatabase,
                                               tmp_path: Path) -> None:
    """``metalscope db upgrade`` with an operator's URL; ``serve``'s check then passes."""
    config = tmp_path / "metalscope.conf"
    config.write_text(render_config({"database": {"connection": scratch_database.url}}))
    assert migrate.schema_problem(scratch_database.url) is not None
    subprocess.run([sys.executable, "-m", "metalscope.cli", "db", "upgrade",
                    "--config-file", str(config)], check=True, capture_output=True, timeout=120)
    assert migrate.schema_problem(scratch_database.url) is None
    engine = create_sync_engine(scratch_database.url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"nodes", "attributes", "options", "rules", "rule_conditions", "rule_actions",
            "introspection_data", "ramdisk_callbacks", "introspection_history",
            migrate.VERSION_TABLE} <= tables
    # Running it again is a no-op.
    subprocess.run([sys.executable, "-m", "metalscope.cli", "db", "upgrade",
                    "--config-file", str(config)], check=True, capture_output=True, timeout=120)


async def test_large_data_and_microsecond_timestamps(repo: Repository) -> None:
    """A 4 MiB document survives (LONGTEXT on MariaDB); timestamps keep microseconds."""
    record = await repo.start_introspection(UUID, False, [], None)
    blob = {"inventory": {"blob": "x" * (4 * 1024 * 1024)}}
    await repo.store_data(UUID, False, blob)
    stored = await repo.get_data(UUID, False)
    assert stored is not None and len(stored) > 4 * 1024 * 1024
    loaded = await repo.get_node(UUID)
    assert loaded is not None and loaded.started_at == record.started_at


async def test_callbacks_and_unsettled_records(repo: Repository) -> None:
    record = await repo.start_introspection(UUID, False, [], None)
    record = await repo.transition(await repo.transition(record, Event.WAIT), Event.PROCESS)
    await repo.record_callback(UUID, "ab" * 32)
    await repo.record_callback(UUID, "cd" * 32)  # replaces the earlier one
    assert await repo.callback_node("cd" * 32) == UUID
    assert await repo.callback_node("ab" * 32) is None
    assert [r.uuid for r in await repo.unsettled()] == [UUID]
    await repo.transition(record, Event.FINISH)
    assert await repo.unsettled() == []
    await repo.start_introspection(UUID, False, [], await repo.get_node(UUID))
    assert await repo.callback_node("cd" * 32) is None  # a new introspection forgets it
    assert (await repo.get_node(UUID)).state is State.STARTING  # type: ignore[union-attr]
