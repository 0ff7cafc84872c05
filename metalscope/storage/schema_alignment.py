"""Bringing a schema adopted from ironic-inspector in line with the one MetalScope creates
(migration 0003). Every step looks at what exists first, so it changes nothing on a database
MetalScope created itself and may run again after a round trip through ironic-inspector.

What upstream's schema lacks or does differently:

- the indexes the lookup and the per-node deletes use (``attributes`` by name and value, and
  by node);
- ``nodes.version_id`` is the compare-and-set token of every transition: NULL never matches,
  so NULLs become the empty string that records written by ironic-inspector carry;
- on MySQL/MariaDB, DATETIME without fractional seconds (MetalScope orders records and rules
  by their timestamps) and the 3-byte ``utf8`` character set (a description or error with a
  4-byte character could not be stored). ``CONVERT TO CHARACTER SET utf8mb4`` widens TEXT
  columns to MEDIUMTEXT so that they keep holding as many characters as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import ReflectedForeignKeyConstraint

from metalscope.storage.upstream_revisions import METALSCOPE_TABLES, UPSTREAM_TABLES

#: Index name → columns; an existing index that starts with the same columns will do.
INDEXES = {"attributes_name_value_idx": ("name", "value"),
           "attributes_node_uuid_idx": ("node_uuid",)}
#: (table, column, nullable) of the timestamps.
TIMESTAMPS = (("nodes", "started_at", True), ("nodes", "finished_at", True),
              ("rules", "created_at", False))


def align(connection: sa.Connection) -> None:
    _fill_version_ids(connection)
    _add_missing_indexes(connection)
    if connection.dialect.name in ("mysql", "mariadb"):
        _fractional_timestamps(connection)
        utf8mb4(connection)


def _fill_version_ids(connection: sa.Connection) -> None:
    connection.execute(sa.text("UPDATE nodes SET version_id = '' WHERE version_id IS NULL"))


def missing_indexes(existing: list[tuple[str | None, ...]]) -> dict[str, tuple[str, ...]]:
    """The wanted indexes that no existing index (given by its columns, None for an
    expression) covers."""
    return {name: columns for name, columns in INDEXES.items()
            if not any(found[:len(columns)] == columns for found in existing)}


def _add_missing_indexes(connection: sa.Connection) -> None:
    existing = [tuple(index["column_names"])
                for index in sa.inspect(connection).get_indexes("attributes")]
    for name, columns in missing_indexes(existing).items():
        connection.execute(sa.text(f"CREATE INDEX {name} ON attributes ({', '.join(columns)})"))


def _fractional_timestamps(connection: sa.Connection) -> None:
    inspector = sa.inspect(connection)
    for table, column, nullable in TIMESTAMPS:
        found = next(c["type"] for c in inspector.get_columns(table) if c["name"] == column)
        if getattr(found, "fsp", None) != 6:
            null = "NULL" if nullable else "NOT NULL"
            connection.execute(sa.text(f"ALTER TABLE {table} MODIFY {column} DATETIME(6) {null}"))


def utf8mb4(connection: sa.Connection) -> None:
    """MySQL/MariaDB: upstream's tables in utf8mb4 (nothing elsewhere, nor when they are).

    MariaDB refuses to convert a column that a foreign key joins, even with the checks off,
    so the foreign keys are dropped for the conversion and added back under their names.
    """
    if connection.dialect.name not in ("mysql", "mariadb"):
        return
    narrow = _narrow_tables(connection)
    if not narrow:
        return
    keys = _foreign_keys(connection)
    connection.execute(sa.text("SET SESSION foreign_key_checks = 0"))
    try:
        for table, key in keys:
            connection.execute(sa.text(f"ALTER TABLE {table} DROP FOREIGN KEY {key['name']}"))
        for table in narrow:
            connection.execute(sa.text(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4"))
        for table, key in keys:
            connection.execute(sa.text(_add_foreign_key(table, key)))
    finally:
        connection.execute(sa.text("SET SESSION foreign_key_checks = 1"))


def _narrow_tables(connection: sa.Connection) -> list[str]:
    query = sa.text("SELECT table_name, table_collation FROM information_schema.tables "
                    "WHERE table_schema = DATABASE()")
    collations = {name: str(collation) for name, collation in connection.execute(query)}
    return [table for table in UPSTREAM_TABLES
            if table in collations and not collations[table].startswith("utf8mb4")]


def _foreign_keys(connection: sa.Connection) -> list[tuple[str, ReflectedForeignKeyConstraint]]:
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    return [(table, key) for table in UPSTREAM_TABLES + METALSCOPE_TABLES if table in present
            for key in inspector.get_foreign_keys(table)]


def _add_foreign_key(table: str, key: ReflectedForeignKeyConstraint) -> str:
    return (f"ALTER TABLE {table} ADD CONSTRAINT {key['name']} FOREIGN KEY "
            f"({', '.join(key['constrained_columns'])}) REFERENCES {key['referred_table']} "
            f"({', '.join(key['referred_columns'])})")
