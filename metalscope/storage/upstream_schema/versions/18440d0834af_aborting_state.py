"""The ``aborting`` state.

A database created by a recent ironic-inspector already has it (its state enumeration is
built from the current list of states); an older one may not, so the enumeration is completed
where the database keeps one (PostgreSQL type ``node_state``, MySQL/MariaDB column ENUM).

Revision ID: 18440d0834af
Revises: 882b2d84cb1b
"""

import sqlalchemy as sa
from alembic import op

from metalscope.storage.upstream_revisions import NODE_STATES

revision = "18440d0834af"
down_revision = "882b2d84cb1b"
branch_labels = None
depends_on = None


def _postgresql_states() -> list[str]:
    query = sa.text("SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON e.enumtypid = t.oid "
                    "WHERE t.typname = 'node_state'")
    return list(op.get_bind().execute(query).scalars())


def _complete_postgresql() -> None:
    present = _postgresql_states()
    for state in NODE_STATES:
        if state not in present:
            op.execute(f"ALTER TYPE node_state ADD VALUE IF NOT EXISTS '{state}'")


def _complete_mysql() -> None:
    columns = sa.inspect(op.get_bind()).get_columns("nodes")
    present = next(getattr(c["type"], "enums", []) for c in columns if c["name"] == "state")
    if set(NODE_STATES) - set(present):
        op.alter_column("nodes", "state", existing_nullable=False, server_default="finished",
                        type_=sa.Enum(*NODE_STATES, name="node_state"))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _complete_postgresql()
    elif dialect in ("mysql", "mariadb"):
        _complete_mysql()
