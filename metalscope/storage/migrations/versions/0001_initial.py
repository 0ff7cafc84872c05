"""Initial schema: upstream ironic-inspector's tables at its head revision.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-29
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_STATES = ("starting", "waiting", "processing", "finished", "error", "reapplying",
           "enrolling", "aborting")
_MYSQL: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("version_id", sa.String(36), server_default=""),
        sa.Column("state", sa.Enum(*_STATES, name="node_state"), nullable=False),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("manage_boot", sa.Boolean, nullable=True),
        **_MYSQL)
    op.create_table(
        "attributes",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("node_uuid", sa.String(36), sa.ForeignKey("nodes.uuid", name="fk_node_attribute"),
                  nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=True),
        **_MYSQL)
    op.create_index("attributes_name_value_idx", "attributes", ["name", "value"])
    op.create_index("attributes_node_uuid_idx", "attributes", ["node_uuid"])
    op.create_table(
        "options",
        sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("value", sa.Text),
        **_MYSQL)
    op.create_table(
        "rules",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("disabled", sa.Boolean),
        sa.Column("scope", sa.String(255), nullable=True),
        **_MYSQL)
    op.create_table(
        "rule_conditions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
        sa.Column("op", sa.String(255), nullable=False),
        sa.Column("multiple", sa.String(255), nullable=False),
        sa.Column("invert", sa.Boolean),
        sa.Column("field", sa.Text),
        sa.Column("params", sa.Text),
        **_MYSQL)
    op.create_table(
        "rule_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(36), sa.ForeignKey("rules.uuid")),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("params", sa.Text),
        **_MYSQL)
    op.create_table(
        "introspection_data",
        sa.Column("uuid", sa.String(36), sa.ForeignKey("nodes.uuid"), primary_key=True),
        sa.Column("processed", sa.Boolean, primary_key=True),
        sa.Column("data", _LONG, nullable=True),
        **_MYSQL)
