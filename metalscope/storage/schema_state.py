"""What a database holds before ``metalscope db upgrade`` touches it, and what to do with it.

``read_state`` reflects the tables and both version tables; ``plan_upgrade`` is the pure
decision: create a new schema, upgrade a MetalScope one, adopt an ironic-inspector one, or
refuse with a one-line :class:`SchemaError` that names the revision and what to do.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from metalscope.errors import ConfigurationError
from metalscope.storage import upstream_revisions as upstream
from metalscope.storage.lineages import METALSCOPE_VERSION_TABLE

_KNOWN_TABLES = upstream.UPSTREAM_TABLES + upstream.METALSCOPE_TABLES


class SchemaError(ConfigurationError):
    """The database cannot be used or migrated as it is; the message says why and what to do."""


class Plan(enum.Enum):
    CREATE = "create"
    UPGRADE = "upgrade"
    ADOPT = "adopt"


@dataclass(frozen=True)
class SchemaState:
    """The revisions recorded in both version tables and the shape of the known tables."""

    metalscope_revision: str | None
    upstream_revision: str | None
    shape: upstream.SchemaShape

    @property
    def has_tables(self) -> bool:
        return bool(self.shape.tables)


def plan_upgrade(state: SchemaState, metalscope_revisions: Collection[str]) -> Plan:
    """What ``metalscope db upgrade`` does with a database in ``state``."""
    if state.metalscope_revision is not None:
        if state.metalscope_revision not in metalscope_revisions:
            raise SchemaError(unknown_metalscope_message(state.metalscope_revision,
                                                         list(metalscope_revisions)[-1]))
        return Plan.UPGRADE
    if state.upstream_revision is not None:
        check_upstream(state)
        return Plan.ADOPT
    if state.has_tables:
        raise SchemaError(unversioned_message(state))
    return Plan.CREATE


def check_upstream(state: SchemaState, ignore: Collection[str] = ()) -> None:
    """Raise SchemaError unless the upstream revision is known and the tables (but those in
    ``ignore``) are those of that revision."""
    revision = state.upstream_revision
    if revision not in upstream.REVISIONS:
        raise SchemaError(unknown_upstream_message(str(revision)))
    tables = {name: shape for name, shape in state.shape.tables.items() if name not in ignore}
    found = upstream.SchemaShape(tables, state.shape.epoch_timestamps)
    problems = upstream.differences(upstream.shape_at(revision), found)
    if problems:
        raise SchemaError(half_migrated_message(revision, problems))


def unknown_metalscope_message(revision: str, head: str) -> str:
    return (f"The database is at MetalScope schema revision {revision}, which this MetalScope "
            f"does not know (its newest is {head}); a newer MetalScope probably upgraded it. "
            "Nothing was changed: run that newer MetalScope, or restore a backup.")


def unknown_upstream_message(revision: str) -> str:
    return (f"This is an ironic-inspector database at revision {revision}, which MetalScope "
            f"cannot adopt (it knows {upstream.REVISIONS[0]} to {upstream.HEAD}, the revisions "
            "of ironic-inspector up to 12.x). Nothing was changed: restore a backup taken at one "
            "of those revisions and run `metalscope db upgrade` on it.")


def half_migrated_message(revision: str, problems: list[str]) -> str:
    listed = "; ".join(problems[:4]) + ("; ..." if len(problems) > 4 else "")
    return (f"This is an ironic-inspector database at revision {revision}, but its tables do "
            f"not match that revision ({listed}): a migration stopped half-way. Nothing was "
            "changed: restore the backup taken before that migration, or finish it with "
            "ironic-inspector's `ironic-inspector-dbsync upgrade`, then run "
            "`metalscope db upgrade` again.")


def unversioned_message(state: SchemaState) -> str:
    tables = ", ".join(sorted(state.shape.tables))
    return (f"The database has ironic-inspector tables ({tables}) but no schema revision "
            f"(neither {upstream.VERSION_TABLE} nor {METALSCOPE_VERSION_TABLE} holds one), so "
            "MetalScope cannot tell what they are. Nothing was changed: restore a backup that "
            "has its version table, or point [database]connection at an empty database.")


def read_state(connection: sa.Connection) -> SchemaState:
    """Reflect what ``plan_upgrade`` decides on."""
    inspector = sa.inspect(connection)
    names = set(inspector.get_table_names())
    tables = {name: _table_shape(inspector, name) for name in _KNOWN_TABLES if name in names}
    shape = upstream.SchemaShape(tables, "nodes" in names and _epoch_timestamps(inspector))
    return SchemaState(_revision(connection, names, METALSCOPE_VERSION_TABLE),
                       _revision(connection, names, upstream.VERSION_TABLE), shape)


def _table_shape(inspector: sa.Inspector, table: str) -> upstream.TableShape:
    columns = frozenset(c["name"] for c in inspector.get_columns(table))
    primary_key = inspector.get_pk_constraint(table).get("constrained_columns") or []
    return upstream.TableShape(columns, frozenset(primary_key))


def _epoch_timestamps(inspector: sa.Inspector) -> bool:
    types = [c["type"] for c in inspector.get_columns("nodes") if c["name"] == "started_at"]
    return bool(types) and isinstance(types[0], (sa.Float, sa.Numeric))


def _revision(connection: sa.Connection, names: set[str], table: str) -> str | None:
    if table not in names:
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {table}")).scalars().all()
    return ", ".join(sorted(rows)) or None
