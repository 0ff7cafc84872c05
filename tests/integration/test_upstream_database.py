"""``metalscope db upgrade`` adopts databases written by ironic-inspector's own tool, on SQLite.

For each of upstream's ten revisions, a database made by ``ironic-inspector-dbsync upgrade
--revision R`` and filled with rows valid at R is copied; upstream's tool takes one copy to
its head, MetalScope the other: schemas and rows must be the same. The refusals (unknown
revision, half-migrated, no version table, no server) are one line on stderr with status 1.
The same checks on PostgreSQL and MariaDB are in server_databases/test_upstream_database.py.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from metalscope.storage import migrate
from metalscope.storage.upstream_revisions import HEAD, REVISIONS
from metalscope.testing.service import render_config
from tests.integration import upstream_databases as up

pytestmark = pytest.mark.integration


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def refused(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Status 1, one line on stderr that contains every phrase, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


@pytest.fixture
def head_database(tmp_path: Path, upstream_bin: Path) -> str:
    url = sqlite_url(tmp_path / "inspector.sqlite")
    up.build(tmp_path / "build", url, HEAD, upstream_bin)
    return url


def execute(url: str, *statements: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize("revision", REVISIONS)
def test_adoption_matches_upstreams_own_upgrade(revision: str, tmp_path: Path,
                                                upstream_bin: Path) -> None:
    """Same schema (columns, types, nullability, defaults, keys, indexes) and rows as
    upstream's own upgrade; in one step, the same as in two."""
    original = tmp_path / "original.sqlite"
    up.build(tmp_path / "build", sqlite_url(original), revision, upstream_bin)
    copies = [tmp_path / f"{name}.sqlite" for name in ("upstream", "stepwise", "at-once")]
    for copy in copies:
        shutil.copy(original, copy)
    upstream, stepwise, at_once = map(sqlite_url, copies)
    up.check_adoption(upstream, stepwise, revision, tmp_path, upstream_bin)
    result = up.metalscope_db(tmp_path / "at-once", at_once, "upgrade")
    assert result.returncode == 0, result.stderr
    assert up.snapshot(at_once) == up.snapshot(stepwise)
    ignored = up.ignored_columns(revision)
    assert up.table_rows(at_once, ignored) == up.table_rows(stepwise, ignored)
    version = up.metalscope_db(tmp_path / "at-once", at_once, "version")
    assert version.stdout.splitlines() == [f"MetalScope: {migrate.head_revision()} (head)",
                                           f"ironic-inspector: {HEAD} (head)"]


def test_every_attribute_row_is_kept(tmp_path: Path, upstream_bin: Path) -> None:
    """A node with several lookup attributes before 882b2d84cb1b: upstream's own step gives
    them one key and fails; MetalScope keeps each row, with a key of its own."""
    url = sqlite_url(tmp_path / "inspector.sqlite")
    up.build(tmp_path / "build", url, "d00d6e3f38c4", upstream_bin)
    up.several_attributes(url)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(tmp_path / "inspector.sqlite", copy)
    with pytest.raises(RuntimeError, match="UNIQUE constraint failed"):
        up.upstream_tool(tmp_path / "build", sqlite_url(copy), upstream_bin).dbsync("upgrade")
    assert up.metalscope_db(tmp_path, url, "upgrade").returncode == 0
    rows = [dict(row) for row in up.table_rows(url)["attributes"]]
    assert len(rows) == 4 and len({row["uuid"] for row in rows}) == 4
    kept = sorted((r["node_uuid"], r["name"], r["value"]) for r in rows
                  if r["node_uuid"] == up.WAITING)
    assert kept == [
        (up.WAITING, "bmc_address", "192.0.2.99"), (up.WAITING, "mac", "52:54:00:12:34:56"),
        (up.WAITING, "mac", "52:54:00:12:34:99")]


class TestRefusals:
    def test_unknown_upstream_revision(self, head_database: str, tmp_path: Path) -> None:
        execute(head_database, "UPDATE alembic_version SET version_num = '0123456789ab'")
        refused(up.metalscope_db(tmp_path, head_database, "upgrade"),
                "ironic-inspector database at revision 0123456789ab", "Nothing was changed",
                "restore a backup")
        assert migrate.versions(head_database) == migrate.Versions(None, "0123456789ab")

    def test_half_migrated(self, tmp_path: Path, upstream_bin: Path) -> None:
        """The first statement of 882b2d84cb1b ran, the revision was not recorded."""
        url = sqlite_url(tmp_path / "inspector.sqlite")
        up.build(tmp_path / "build", url, "d00d6e3f38c4", upstream_bin)
        execute(url, "ALTER TABLE attributes ADD COLUMN node_uuid VARCHAR(36)")
        refused(up.metalscope_db(tmp_path, url, "upgrade"),
                "revision d00d6e3f38c4", "attributes has extra column node_uuid", "half-way",
                "ironic-inspector-dbsync upgrade")

    def test_tables_without_version(self, head_database: str, tmp_path: Path) -> None:
        execute(head_database, "DROP TABLE alembic_version")
        refused(up.metalscope_db(tmp_path, head_database, "upgrade"),
                "no schema revision", "attributes", "Nothing was changed")

    def test_unknown_metalscope_revision(self, tmp_path: Path) -> None:
        url = sqlite_url(tmp_path / "ms.sqlite")
        migrate.upgrade(url)
        execute(url, "UPDATE metalscope_alembic_version SET version_num = '0099_future'")
        refused(up.metalscope_db(tmp_path, url, "upgrade"),
                "MetalScope schema revision 0099_future", "newer MetalScope")
        refused(up.metalscope_db(tmp_path, url, "downgrade"), "0099_future")

    def test_no_server(self, tmp_path: Path) -> None:
        refused(up.metalscope_db(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "upgrade"),
                "Cannot connect to the database postgresql+psycopg://nobody@127.0.0.1:1/none")

    def test_serve_names_the_revision(self, head_database: str, tmp_path: Path) -> None:
        """serve refuses an ironic-inspector database it has not adopted, saying what to do."""
        config = tmp_path / "serve.conf"
        config.write_text(render_config({
            "database": {"connection": head_database}, "DEFAULT": {"auth_strategy": "noauth"},
            "ironic": {"auth_type": "none", "endpoint_override": "http://127.0.0.1:9"},
            "pxe_filter": {"driver": "noop"}}))
        result = subprocess.run([sys.executable, "-m", "metalscope.cli", "serve",
                                 "--config-file", str(config)], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 1
        assert (f"This is an ironic-inspector database at revision {HEAD}; run "
                "`metalscope db upgrade`") in result.stderr
        assert "Traceback" not in result.stderr


class TestGoingBack:
    def test_metalscope_database_handed_to_upstream(self, tmp_path: Path,
                                                    upstream_bin: Path) -> None:
        """A database MetalScope created is, after db downgrade, at upstream's head for
        upstream's own tool; db upgrade takes it back."""
        url = sqlite_url(tmp_path / "ms.sqlite")
        assert up.metalscope_db(tmp_path, url, "upgrade").returncode == 0
        result = up.metalscope_db(tmp_path, url, "downgrade")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == ["MetalScope: none",
                                              f"ironic-inspector: {HEAD} (head)"]
        tables = set(up.table_rows(url)) | _tables(url)
        assert "ramdisk_callbacks" not in tables and migrate.VERSION_TABLE not in tables
        tool = up.upstream_tool(tmp_path / "upstream", url, upstream_bin)
        assert HEAD in tool.dbsync("current").stdout
        tool.dbsync("upgrade")
        assert up.metalscope_db(tmp_path, url, "upgrade").returncode == 0
        assert migrate.schema_problem(url) is None

    def test_downgrade_of_upstream_database_does_nothing(self, head_database: str,
                                                         tmp_path: Path) -> None:
        result = up.metalscope_db(tmp_path, head_database, "downgrade")
        assert result.returncode == 0 and "Nothing to do" in result.stdout
        refused(up.metalscope_db(tmp_path, head_database, "downgrade", "--revision",
                                 "0002_ramdisk_callbacks"), "no MetalScope schema")


def _tables(url: str) -> set[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}
