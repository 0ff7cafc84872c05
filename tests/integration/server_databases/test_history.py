"""Hardware history on PostgreSQL and MariaDB (each test runs on both): the SQLite unit
tests of the repository and of migration 0004 collected again on the servers, and two
instances recording versions of one node at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from metalscope.storage import migrate
from metalscope.storage import tables as t
from metalscope.storage.engine import create_engine
from metalscope.storage.history import Retention
from metalscope.storage.repository import Repository, utcnow
from metalscope.testing.databases import ScratchDatabase
from tests.unit.storage.test_history_migration import (  # noqa: F401  (collected again)
    test_a_large_version_round_trips,
    test_downgrade_to_0003_drops_only_the_history,
    test_downgrade_to_upstream_drops_the_history_and_adoption_recreates_it,
    test_upgrade_from_0003_keeps_the_data,
)
from tests.unit.storage.test_history_repository import (  # noqa: F401  (collected again)
    test_a_version_reads_back_as_recorded,
    test_a_version_without_unprocessed_data,
    test_age_pruning_spares_the_newest_version_of_a_known_node,
    test_concurrent_versions_of_one_node_get_distinct_numbers,
    test_history_outlives_the_status_record,
    test_listing_is_newest_first_and_pages_by_marker,
    test_missing_versions_are_none,
    test_recording_applies_the_age_limit,
    test_recording_keeps_the_newest_max_versions,
    test_versions_count_from_one_per_node,
)

NODE = "55555555-5555-4555-8555-555555555555"


@pytest.fixture
def url(scratch_database: ScratchDatabase) -> str:
    return scratch_database.url


@pytest.fixture
async def repo(url: str) -> AsyncIterator[Repository]:
    migrate.upgrade(url)
    repository = Repository(create_engine(url))
    yield repository
    await repository.engine.dispose()


async def test_two_instances_recording_one_node_never_share_a_number(url: str) -> None:
    """Two repositories (two engines, as two MetalScope instances) record 8 versions each
    of one node at the same time: 16 distinct numbers, 1 to 16."""
    migrate.upgrade(url)
    instances = [Repository(create_engine(url), Retention(0, None)) for _ in range(2)]

    async def record_many(repo: Repository, count: int) -> list[int]:
        numbers = []
        for n in range(count):
            numbers.append(await repo.record_version(
                NODE, started_at=None, finished_at=utcnow(), source="inband",
                processed={"n": n}, unprocessed=None, error=None, summary=None,
                changed=None))
        return numbers

    try:
        results = await asyncio.gather(*(record_many(repo, 8) for repo in instances))
        async with instances[0].engine.connect() as conn:
            stored = sorted((await conn.execute(
                sa.select(t.introspection_history.c.version))).scalars())
    finally:
        for repo in instances:
            await repo.engine.dispose()
    assert sorted(results[0] + results[1]) == list(range(1, 17))
    assert stored == list(range(1, 17))
