"""Migration 0005 (hardware_summaries and the fleet's indexes) on SQLite; collected again on
PostgreSQL and MariaDB by tests/integration/server_databases/test_fleet.py (``url``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope.fleet.summary import summarise
from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.repository import Repository, utcnow
from metalscope.storage.upstream_revisions import HEAD
from tests import factories

NODE = "66666666-6666-4666-8666-666666666666"
BEFORE = "0004_history"
NODE_INDEXES = {"nodes_state_idx", "nodes_started_at_idx", "nodes_finished_at_idx"}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


def schema(url: str) -> tuple[set[str], set[str]]:
    """The tables, and the names of the indexes of ``nodes``."""
    engine = create_sync_engine(url)
    try:
        inspector = sa.inspect(engine)
        return (set(inspector.get_table_names()),
                {str(i["name"]) for i in inspector.get_indexes("nodes")})
    finally:
        engine.dispose()


async def test_upgrade_from_0004_lists_the_existing_records(url: str) -> None:
    migrate.upgrade(url, BEFORE)
    repo = Repository(create_engine(url))
    try:
        record = await repo.start_introspection(NODE, True, [], None)
        await repo.transition(record, Event.WAIT)
    finally:
        await repo.engine.dispose()
    assert migrate.upgrade(url) is None
    assert migrate.schema_problem(url) is None
    tables, indexes = schema(url)
    assert "hardware_summaries" in tables and indexes >= NODE_INDEXES
    repo = Repository(create_engine(url))
    try:
        row = await repo.fleet.row(NODE)
        assert row is not None and (row.state, row.summary) == ("waiting", None)
        await repo.fleet.save_summary(NODE, "n1", summarise(factories.ramdisk_data()), utcnow())
        row = await repo.fleet.row(NODE)
        assert row is not None and row.summary is not None and row.name == "n1"
    finally:
        await repo.engine.dispose()


def test_downgrade_to_0004_drops_the_table_and_indexes(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url, BEFORE)
    tables, indexes = schema(url)
    assert "hardware_summaries" not in tables and "introspection_history" in tables
    assert not NODE_INDEXES & indexes
    assert migrate.versions(url).metalscope == BEFORE


def test_downgrade_to_upstream_and_adoption_again(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url)
    tables, indexes = schema(url)
    assert "hardware_summaries" not in tables and not NODE_INDEXES & indexes
    assert migrate.upgrade(url) == HEAD  # adopted again
    tables, indexes = schema(url)
    assert "hardware_summaries" in tables and indexes >= NODE_INDEXES
