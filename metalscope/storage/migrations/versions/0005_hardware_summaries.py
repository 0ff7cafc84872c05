"""Hardware summaries: one line of hardware facts per node, for the fleet pages.

The table has no foreign key to ``nodes``: a new introspection replaces the status record
while the summary of the previous one stays until the new one is processed; the repository
deletes the summary with the node's record. The indexes serve the fleet's state filter,
its counts by state and its sorts. On PostgreSQL the indexes of the ``nodes`` timestamps
sort NULL first, as the other databases do, so that one ORDER BY walks them everywhere.

Revision ID: 0005_hardware_summaries
Revises: 0004_history
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005_hardware_summaries"
down_revision = "0004_history"
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_SORTED = ("name", "vendor", "model", "cpu_count", "memory_mib", "disk_count", "disk_bytes",
           "nic_count")
_NODE_INDEXES = {"nodes_state_idx": ("state", "uuid"),
                 "nodes_started_at_idx": ("started_at", "uuid"),
                 "nodes_finished_at_idx": ("finished_at", "uuid")}


def upgrade() -> None:
    op.create_table(
        "hardware_summaries",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("vendor", sa.String(255), nullable=True),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("serial", sa.String(255), nullable=True),
        sa.Column("cpu_model", sa.String(255), nullable=True),
        sa.Column("cpu_count", sa.Integer, nullable=True),
        sa.Column("cpu_arch", sa.String(64), nullable=True),
        sa.Column("memory_mib", sa.BigInteger, nullable=True),
        sa.Column("disk_count", sa.Integer, nullable=True),
        sa.Column("disk_bytes", sa.BigInteger, nullable=True),
        sa.Column("nic_count", sa.Integer, nullable=True),
        sa.Column("macs", sa.Text, nullable=True),
        sa.Column("boot_mode", sa.String(64), nullable=True),
        sa.Column("rules", sa.Text, nullable=True),
        sa.Column("search_text", _LONG_TEXT, nullable=True),
        sa.Column("inspected_at", _TS, nullable=False),
        mysql_engine="InnoDB", mysql_charset="utf8mb4")
    for column in _SORTED:
        op.create_index(f"hardware_summaries_{column}_idx", "hardware_summaries",
                        [column, "uuid"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, (column, tie) in _NODE_INDEXES.items():
        if postgresql and column != "state":
            op.execute(f"CREATE INDEX {name} ON nodes ({column} NULLS FIRST, {tie})")
        else:
            op.create_index(name, "nodes", [column, tie])


def downgrade() -> None:
    for name in _NODE_INDEXES:
        op.drop_index(name, table_name="nodes")
    op.drop_table("hardware_summaries")
