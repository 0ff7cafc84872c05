"""Hardware history: every finished introspection of a node kept as a version.

No foreign key to ``nodes``: a version outlives the node's status record (a new
introspection replaces that record; history keeps the previous one). Downgrading drops the
table, and with it the history. The unique (uuid, version) index is also the index by
node.

Revision ID: 0004_history
Revises: 0003_adopted_schema
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004_history"
down_revision = "0003_adopted_schema"
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "introspection_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("changed", sa.Boolean, nullable=True),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("codec", sa.String(32), nullable=False),
        sa.Column("raw_bytes", sa.BigInteger, nullable=False),
        sa.Column("stored_bytes", sa.BigInteger, nullable=False),
        sa.Column("processed", _BLOB, nullable=False),
        sa.Column("unprocessed", _BLOB, nullable=True),
        sa.UniqueConstraint("uuid", "version", name="uq_introspection_history_version"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4")


def downgrade() -> None:
    op.drop_table("introspection_history")
