"""Introspection rules: rules, their conditions and actions (parameters as JSON text).

Revision ID: d588418040d
Revises: 578f84f38d
"""

import sqlalchemy as sa
from alembic import op

from metalscope.storage.upstream_schema.common import JSON_TEXT, MYSQL_TABLE

revision = "d588418040d"
down_revision = "578f84f38d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("disabled", sa.Boolean),
        **MYSQL_TABLE)
    op.create_table(
        "rule_conditions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
        sa.Column("op", sa.String(255), nullable=False),
        sa.Column("multiple", sa.String(255), nullable=False),
        sa.Column("field", sa.Text),
        sa.Column("params", JSON_TEXT),
        **MYSQL_TABLE)
    op.create_table(
        "rule_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("params", JSON_TEXT),
        **MYSQL_TABLE)
