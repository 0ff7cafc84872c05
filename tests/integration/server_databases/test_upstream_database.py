"""``metalscope db upgrade`` adopts databases written by ironic-inspector's own tool, on
PostgreSQL and MariaDB (each test runs on both), at every one of upstream's revisions.

The servers cannot copy a database cheaply, so the two databases of each comparison are
built the same way: ``ironic-inspector-dbsync upgrade --revision R`` and the same rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metalscope.storage import migrate
from metalscope.storage.upstream_revisions import REVISIONS
from metalscope.testing.databases import ScratchDatabase
from tests.integration import upstream_databases as up

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("revision", REVISIONS)
def test_adoption_matches_upstreams_own_upgrade(revision: str, scratch_database: ScratchDatabase,
                                                tmp_path: Path, upstream_bin: Path) -> None:
    with ScratchDatabase.create(scratch_database.kind) as twin:
        up.build(tmp_path / "build", scratch_database.url, revision, upstream_bin)
        up.build(tmp_path / "build-twin", twin.url, revision, upstream_bin)
        up.check_adoption(scratch_database.url, twin.url, revision, tmp_path, upstream_bin)


def test_half_migrated_by_upstreams_failed_upgrade(scratch_database: ScratchDatabase,
                                                   tmp_path: Path, upstream_bin: Path) -> None:
    """Upstream's own 882b2d84cb1b fails on a node with several attributes; where DDL is not
    transactional (MariaDB) it leaves the database half-migrated at d00d6e3f38c4, which
    MetalScope refuses with one line. On PostgreSQL the failure rolled back: MetalScope
    adopts the database and keeps every row."""
    url = scratch_database.url
    up.build(tmp_path / "build", url, "d00d6e3f38c4", upstream_bin)
    up.several_attributes(url)
    with pytest.raises(RuntimeError):
        up.upstream_tool(tmp_path / "build", url, upstream_bin).dbsync("upgrade")
    result = up.metalscope_db(tmp_path, url, "upgrade")
    if scratch_database.kind == "mariadb":
        assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
        assert "revision d00d6e3f38c4" in result.stderr and "half-way" in result.stderr
        assert "attributes has extra column node_uuid" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert len(up.table_rows(url)["attributes"]) == 4
    assert migrate.schema_problem(url) is None
