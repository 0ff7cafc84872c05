"""Introspection data kept in the database (processed and unprocessed, as JSON text).

Revision ID: bf8dec16023c
Revises: 2970d2d44edc
"""

import sqlalchemy as sa
from alembic import op

from metalscope.storage.upstream_schema.common import LONG_JSON_TEXT, MYSQL_TABLE

revision = "bf8dec16023c"
down_revision = "2970d2d44edc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "introspection_data",
        sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
        sa.Column("processed", sa.Boolean, primary_key=True),
        sa.Column("data", LONG_JSON_TEXT, nullable=True),
        **MYSQL_TABLE)
