"""The follower's storage on PostgreSQL and MariaDB (each test runs on both): migration
0007 and the FollowerStore tests of SQLite collected again on the servers."""

from __future__ import annotations

import pytest

from metalscope.testing.databases import ScratchDatabase
from tests.unit.storage.test_follower_migration import (  # noqa: F401  (collected again)
    test_a_followed_node_gets_a_finished_record_once,
    test_downgrade_to_0005_drops_them_and_keeps_the_history,
    test_downgrade_to_upstream_and_adoption_again,
    test_the_store_keeps_state_queue_and_marks,
    test_upgrade_from_0005_adds_the_follower_tables,
)


@pytest.fixture
def url(scratch_database: ScratchDatabase) -> str:
    return scratch_database.url
