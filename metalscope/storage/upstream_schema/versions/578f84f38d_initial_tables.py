"""ironic-inspector's first schema: status records with float timestamps, lookup attributes
keyed by (name, value), per-node options.

Revision ID: 578f84f38d
Revises:
"""

import sqlalchemy as sa
from alembic import op

from metalscope.storage.upstream_schema.common import MYSQL_TABLE

revision = "578f84f38d"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        **MYSQL_TABLE)
    op.create_table(
        "attributes",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(255), primary_key=True),
        sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid")),
        **MYSQL_TABLE)
    op.create_table(
        "options",
        sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text),
        **MYSQL_TABLE)
