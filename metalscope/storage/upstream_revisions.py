"""ironic-inspector's schema history: its Alembic revisions, oldest first, and the tables and
columns a database at each of them has (spec section 12).

``metalscope db upgrade`` adopts a database at any of these revisions. Before it migrates
anything it compares the tables it finds with the shape of the revision the database claims;
a difference means an interrupted migration, which it refuses to build on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Upstream's version table (Alembic's default name).
VERSION_TABLE = "alembic_version"

REVISIONS = ("578f84f38d", "d588418040d", "e169a4a81d88", "d2e48801c8ef", "d00d6e3f38c4",
             "882b2d84cb1b", "18440d0834af", "2970d2d44edc", "bf8dec16023c", "b55109d5063a")
HEAD = REVISIONS[-1]
#: From this revision on, ``nodes.started_at``/``finished_at`` are DATETIME, before it float
#: seconds since the epoch.
DATETIME_SINCE = "d00d6e3f38c4"

#: Every state a record can be in; the ``node_state`` enumeration holds them all.
NODE_STATES = ("starting", "waiting", "processing", "finished", "error", "reapplying",
               "enrolling", "aborting")

UPSTREAM_TABLES = ("nodes", "attributes", "options", "rules", "rule_conditions", "rule_actions",
                   "introspection_data")
#: Tables only MetalScope creates: an ironic-inspector database does not have them.
METALSCOPE_TABLES = ("ramdisk_callbacks", "introspection_history", "hardware_summaries")


@dataclass(frozen=True)
class TableShape:
    columns: frozenset[str]
    primary_key: frozenset[str]


@dataclass(frozen=True)
class SchemaShape:
    """What identifies a revision: the tables, their columns and primary keys, and whether
    the node timestamps are still numbers."""

    tables: Mapping[str, TableShape]
    epoch_timestamps: bool


def _shape(columns: str, primary_key: str) -> TableShape:
    return TableShape(frozenset(columns.split()), frozenset(primary_key.split()))


# (revision, {table: (columns added, primary key when it changes)}), oldest first.
_HISTORY: tuple[tuple[str, dict[str, tuple[str, str | None]]], ...] = (
    ("578f84f38d", {"nodes": ("uuid started_at finished_at error", "uuid"),
                    "attributes": ("name value uuid", "name value"),
                    "options": ("uuid name value", "uuid name")}),
    ("d588418040d", {"rules": ("uuid created_at description disabled", "uuid"),
                     "rule_conditions": ("id rule op multiple field params", "id"),
                     "rule_actions": ("id rule action params", "id")}),
    ("e169a4a81d88", {"rule_conditions": ("invert", None)}),
    ("d2e48801c8ef", {"nodes": ("version_id state", None)}),
    ("d00d6e3f38c4", {}),
    ("882b2d84cb1b", {"attributes": ("node_uuid", "uuid")}),
    ("18440d0834af", {}),
    ("2970d2d44edc", {"nodes": ("manage_boot", None)}),
    ("bf8dec16023c", {"introspection_data": ("uuid processed data", "uuid processed")}),
    ("b55109d5063a", {"rules": ("scope", None)}),
)


def shape_at(revision: str) -> SchemaShape:
    """The shape of a database at ``revision`` (one of REVISIONS)."""
    tables: dict[str, TableShape] = {}
    for name, changes in _HISTORY:
        for table, (added, primary_key) in changes.items():
            tables[table] = _grown(tables.get(table), added, primary_key)
        if name == revision:
            return SchemaShape(tables, REVISIONS.index(revision) < REVISIONS.index(DATETIME_SINCE))
    raise ValueError(f"unknown ironic-inspector revision {revision}")


def _grown(table: TableShape | None, added: str, primary_key: str | None) -> TableShape:
    new = _shape(added, primary_key or "")
    if table is None:
        return new
    return TableShape(table.columns | new.columns,
                      new.primary_key if primary_key else table.primary_key)


def differences(expected: SchemaShape, found: SchemaShape) -> list[str]:
    """What in ``found`` does not match ``expected``, one short phrase each."""
    problems: list[str] = []
    for table in sorted(set(expected.tables) | set(found.tables)):
        problems += _table_differences(table, expected.tables.get(table), found.tables.get(table))
    if "nodes" in found.tables and found.epoch_timestamps != expected.epoch_timestamps:
        kind = "numbers" if found.epoch_timestamps else "DATETIME"
        problems.append(f"node timestamps are {kind}")
    return problems


def _table_differences(table: str, expected: TableShape | None,
                       found: TableShape | None) -> list[str]:
    if expected is None:
        return [f"unexpected table {table}"]
    if found is None:
        return [f"table {table} is missing"]
    problems = [f"{table} lacks column {c}" for c in sorted(expected.columns - found.columns)]
    problems += [f"{table} has extra column {c}" for c in sorted(found.columns - expected.columns)]
    if not problems and expected.primary_key != found.primary_key:
        problems.append(f"{table} primary key is ({_names(found.primary_key)}), "
                        f"expected ({_names(expected.primary_key)})")
    return problems


def _names(columns: Iterable[str]) -> str:
    return ", ".join(sorted(columns))
