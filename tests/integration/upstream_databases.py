"""Databases written by ironic-inspector's own tools, for the adoption tests.

``build`` makes a database at an upstream revision with upstream's ``ironic-inspector-dbsync
upgrade --revision R`` and fills it with rows valid at that revision; ``snapshot`` and
``table_rows`` reflect a database so that two of them can be compared: one taken to upstream's
head by upstream's own tool, the other by ``metalscope db upgrade``.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metalscope.storage.engine import create_sync_engine
from metalscope.storage.schema_alignment import INDEXES, TIMESTAMPS
from metalscope.storage.upstream_revisions import REVISIONS, UPSTREAM_TABLES
from metalscope.testing.service import render_config
from metalscope.testing.upstream import LocalUpstreamInspector

WAITING = "11111111-1111-4111-8111-111111111111"
FINISHED = "22222222-2222-4222-8222-222222222222"
FAILED = "33333333-3333-4333-8333-333333333333"
RULE_1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
RULE_2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
EPOCH = 1700000000.25


def since(revision: str, first: str) -> bool:
    return REVISIONS.index(revision) >= REVISIONS.index(first)


def _stamp(offset: float, revision: str) -> float | datetime.datetime:
    if not since(revision, "d00d6e3f38c4"):
        return EPOCH + offset
    return datetime.datetime(2023, 11, 14, 22, 13, 20, 250000) + datetime.timedelta(seconds=offset)


def _nodes(revision: str) -> list[dict[str, Any]]:
    rows = [{"uuid": WAITING, "started_at": _stamp(0, revision), "finished_at": None,
             "error": None},
            {"uuid": FINISHED, "started_at": _stamp(100, revision),
             "finished_at": _stamp(160.5, revision), "error": None},
            {"uuid": FAILED, "started_at": _stamp(200, revision),
             "finished_at": _stamp(260, revision), "error": "Boom: the ramdisk said no"}]
    if since(revision, "d2e48801c8ef"):
        for row, state in zip(rows, ("waiting", "finished", "error"), strict=True):
            row.update(state=state, version_id="")
    if since(revision, "2970d2d44edc"):
        for row, manage_boot in zip(rows, (None, True, False), strict=True):
            row["manage_boot"] = manage_boot
    return rows


def _attributes(revision: str) -> list[dict[str, Any]]:
    if not since(revision, "882b2d84cb1b"):
        # One per node: upstream's own re-keying step fails on a node with several.
        return [{"name": "mac", "value": "52:54:00:12:34:56", "uuid": WAITING},
                {"name": "bmc_address", "value": "192.0.2.10", "uuid": FINISHED}]
    values = [("mac", "52:54:00:12:34:56"), ("mac", "52:54:00:12:34:57"),
              ("bmc_address", "192.0.2.10")]
    return [{"uuid": f"0000000{i}-0000-4000-8000-000000000000", "node_uuid": WAITING,
             "name": name, "value": value} for i, (name, value) in enumerate(values)]


def _rules(revision: str) -> dict[str, list[dict[str, Any]]]:
    created = datetime.datetime(2023, 1, 1, 10, 0, 0)
    rules = [{"uuid": RULE_1, "created_at": created, "description": "first", "disabled": False},
             {"uuid": RULE_2, "created_at": created, "description": None, "disabled": None}]
    conditions = [{"id": 1, "rule": RULE_1, "op": "eq", "multiple": "any",
                   "field": "memory_mb", "params": '{"value": 1024}'},
                  {"id": 2, "rule": RULE_1, "op": "contains", "multiple": "all",
                   "field": "data://inventory.interfaces[*].name", "params": '{"value": "eth"}'}]
    actions = [{"id": 1, "rule": RULE_1, "action": "set-attribute",
                "params": '{"path": "/extra/rule", "value": "r1"}'},
               {"id": 2, "rule": RULE_2, "action": "fail", "params": '{"message": "no"}'}]
    if since(revision, "e169a4a81d88"):
        conditions[0]["invert"], conditions[1]["invert"] = True, None
    if since(revision, "b55109d5063a"):
        rules[0]["scope"], rules[1]["scope"] = "rack-1", None
    return {"rules": rules, "rule_conditions": conditions, "rule_actions": actions}


def sample_rows(revision: str) -> dict[str, list[dict[str, Any]]]:
    """Rows valid at ``revision``, in insertion order (parents first)."""
    rows: dict[str, list[dict[str, Any]]] = {
        "nodes": _nodes(revision), "attributes": _attributes(revision),
        "options": [{"uuid": WAITING, "name": "foo", "value": '"bar"'}]}
    if since(revision, "d588418040d"):
        rows.update(_rules(revision))
    if since(revision, "bf8dec16023c"):
        rows["introspection_data"] = [
            {"uuid": FINISHED, "processed": False, "data": '{"inventory": {"memory": 1}}'},
            {"uuid": FINISHED, "processed": True,
             "data": '{"inventory": {"memory": 1}, "all_interfaces": {}}'}]
    return rows


def insert_rows(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    engine = create_sync_engine(url)
    try:
        metadata = sa.MetaData()
        with engine.begin() as conn:
            for table, values in rows.items():
                if values:
                    conn.execute(sa.Table(table, metadata, autoload_with=conn).insert(), values)
    finally:
        engine.dispose()


def upstream_tool(workdir: Path, url: str, bin_dir: Path) -> LocalUpstreamInspector:
    """ironic-inspector's configuration for ``url``; its ``dbsync`` runs upstream's tool."""
    return LocalUpstreamInspector(workdir, "http://127.0.0.1:9", bin_dir, database_url=url)


def build(workdir: Path, url: str, revision: str, bin_dir: Path) -> None:
    """A database at ``revision`` made by upstream's own tool, with ``sample_rows``."""
    upstream_tool(workdir, url, bin_dir).dbsync("upgrade", "--revision", revision)
    insert_rows(url, sample_rows(revision))


def metalscope_db(workdir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``metalscope db ARGS`` on a configuration for ``url``, as an operator runs it."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "metalscope.conf"
    config.write_text(render_config({"database": {"connection": url}}))
    return subprocess.run([sys.executable, "-m", "metalscope.cli", "db", *args,
                           "--config-file", str(config)], capture_output=True, text=True,
                          timeout=300)


def _column(column: dict[str, Any], dialect: sa.Dialect) -> tuple[Any, ...]:
    kind = column["type"]
    return (column["name"], kind.compile(dialect=dialect), getattr(kind, "enums", None),
            column["nullable"], column.get("default"))


def _table(inspector: sa.Inspector, table: str) -> dict[str, Any]:
    dialect = inspector.bind.dialect
    foreign = sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                      tuple(fk["referred_columns"]), fk.get("name"))
                     for fk in inspector.get_foreign_keys(table))
    options = inspector.get_table_options(table)
    return {"columns": [_column(c, dialect) for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table),
            "foreign_keys": foreign,
            "options": {k: v for k, v in options.items() if k in (
                "mysql_default charset", "mysql_engine")},
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), ix["unique"])
                              for ix in inspector.get_indexes(table))}


def snapshot(url: str) -> dict[str, dict[str, Any]]:
    """The reflected upstream tables: columns (name, type, enum values, nullability, server
    default) in order, primary key, foreign keys, MySQL table options and indexes."""
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names())
            return {t: _table(inspector, t) for t in UPSTREAM_TABLES if t in present}
    finally:
        engine.dispose()


def without_indexes(tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in table.items() if k != "indexes"}
            for name, table in tables.items()}


def aligned(tables: dict[str, dict[str, Any]], dialect: str) -> dict[str, dict[str, Any]]:
    """What migration 0003 makes of upstream's head schema (indexes left out): on MySQL and
    MariaDB, DATETIME(6) timestamps, utf8mb4 tables, TEXT widened to MEDIUMTEXT."""
    result = without_indexes(tables)
    if dialect != "mysql":
        return result
    widened = {(t, c) for t, c, _ in TIMESTAMPS}
    for name, table in result.items():
        table["columns"] = [_aligned_column(name, c, widened) for c in table["columns"]]
        table["options"] = {**table["options"], "mysql_default charset": "utf8mb4"}
    return result


def _aligned_column(table: str, column: tuple[Any, ...],
                    widened: set[tuple[str, str]]) -> tuple[Any, ...]:
    name, kind, *rest = column
    if (table, name) in widened:
        kind = "DATETIME(6)"
    elif kind == "TEXT":
        kind = "MEDIUMTEXT"
    return (name, kind, *rest)


def index_columns(url: str) -> set[tuple[str, ...]]:
    return {index[1] for index in snapshot(url)["attributes"]["indexes"]}


def wanted_indexes_present(url: str) -> bool:
    present = index_columns(url)
    return all(any(found[:len(cols)] == cols for found in present) for cols in INDEXES.values())


def history_age_index_present(url: str) -> bool:
    """MetalScope's history table has the index of migration 0006."""
    engine = create_sync_engine(url)
    try:
        indexes = sa.inspect(engine).get_indexes("introspection_history")
    finally:
        engine.dispose()
    return any(i["column_names"] == ["age_from"] for i in indexes)


def table_rows(url: str, without: dict[str, set[str]] | None = None) -> dict[str, list[Any]]:
    """Every row of the upstream tables as sorted tuples of (column, value), leaving out the
    columns named in ``without`` per table."""
    without = without or {}
    engine = create_sync_engine(url)
    try:
        with engine.connect() as conn:
            metadata = sa.MetaData()
            present = set(sa.inspect(conn).get_table_names())
            return {t: _rows(conn, sa.Table(t, metadata, autoload_with=conn), without.get(t, set()))
                    for t in UPSTREAM_TABLES if t in present}
    finally:
        engine.dispose()


def _rows(conn: sa.Connection, table: sa.Table, skip: set[str]) -> list[Any]:
    columns = [c for c in table.columns if c.name not in skip]
    rows = conn.execute(sa.select(*columns)).all()
    return sorted((tuple(zip((c.name for c in columns), row, strict=True)) for row in rows),
                  key=repr)


def dialect_of(url: str) -> str:
    engine = create_sync_engine(url)
    try:
        return engine.dialect.name
    finally:
        engine.dispose()


def ignored_columns(revision: str) -> dict[str, set[str]]:
    """Upstream's own re-keying gives attribute rows random keys: compare the rest."""
    return {} if since(revision, "882b2d84cb1b") else {"attributes": {"uuid"}}


def check_adoption(upstream_url: str, adopted_url: str, revision: str, workdir: Path,
                   bin_dir: Path) -> None:
    """Both URLs hold the same database at ``revision``. Upstream's own tool takes the first
    to upstream's head; ``metalscope db upgrade --revision 0001_initial`` must then leave
    the second identical to it (schema and rows), and ``metalscope db upgrade`` only add
    migration 0003's alignment."""
    upstream_tool(workdir / "upstream", upstream_url, bin_dir).dbsync("upgrade")
    first = metalscope_db(workdir / "metalscope", adopted_url, "upgrade",
                          "--revision", "0001_initial")
    assert first.returncode == 0, first.stderr
    assert f"Adopted the ironic-inspector database at revision {revision}" in first.stdout
    expected = snapshot(upstream_url)
    assert snapshot(adopted_url) == expected
    rows = table_rows(upstream_url, ignored_columns(revision))
    assert table_rows(adopted_url, ignored_columns(revision)) == rows
    assert sum(map(len, rows.values())) == sum(map(len, sample_rows(revision).values()))
    full = metalscope_db(workdir / "metalscope", adopted_url, "upgrade")
    assert full.returncode == 0, full.stderr
    assert without_indexes(snapshot(adopted_url)) == aligned(expected, dialect_of(adopted_url))
    assert wanted_indexes_present(adopted_url)
    assert history_age_index_present(adopted_url)
    assert table_rows(adopted_url, ignored_columns(revision)) == rows


def several_attributes(url: str) -> None:
    """Give the waiting node of a database before 882b2d84cb1b two more attributes."""
    insert_rows(url, {"attributes": [
        {"name": "mac", "value": "52:54:00:12:34:99", "uuid": WAITING},
        {"name": "bmc_address", "value": "192.0.2.99", "uuid": WAITING}]})
