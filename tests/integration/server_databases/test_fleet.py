"""The fleet's storage on PostgreSQL and MariaDB (each test runs on both): the SQLite unit
tests of FleetStore and of migration 0005 collected again on the servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.testing.databases import ScratchDatabase
from tests.unit.storage.test_fleet_migration import (  # noqa: F401  (collected again)
    test_downgrade_to_0004_drops_the_table_and_indexes,
    test_downgrade_to_upstream_and_adoption_again,
    test_upgrade_from_0004_lists_the_existing_records,
)
from tests.unit.storage.test_fleet_store import (  # noqa: F401  (collected again)
    test_a_new_introspection_keeps_the_summary_until_processed,
    test_a_new_summary_replaces_the_old_one,
    test_a_summary_reads_back_as_saved,
    test_every_sort_key_runs,
    test_long_and_odd_values_are_kept_within_the_columns,
    test_missing_values_sort_as_the_smallest,
    test_nodes_without_a_summary_are_listed_with_none,
    test_pages_cover_the_fleet_once,
    test_search_is_a_case_insensitive_substring,
    test_small_pages_across_valued_and_missing_values_agree,
    test_sorts_in_both_directions_with_ties_by_uuid,
    test_state_filter_and_in_progress,
    test_states_sort_by_name_on_every_database,
    test_the_summary_is_deleted_with_the_node,
    test_unsummarised_records_with_processed_data,
)


@pytest.fixture
def url(scratch_database: ScratchDatabase) -> str:
    return scratch_database.url


@pytest.fixture
async def repo(url: str) -> AsyncIterator[Repository]:
    migrate.upgrade(url)
    repository = Repository(create_engine(url))
    yield repository
    await repository.engine.dispose()
