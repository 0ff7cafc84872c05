"""The follower of Ironic's own inspections: its watermark and per-node queue.

``follower_state`` holds the watermark (Ironic's newest ``inspection_finished_at`` queued),
the first run's backfill position, the deletion sweep's and the anchor of the walk
upwards; ``follower_nodes`` one row per
node seen in Ironic (the newest inspection seen and recorded, the inventory still to read
with its attempts, the mark of a node deleted from Ironic). No foreign key to ``nodes``:
a followed node's history outlives its status record. Downgrading drops both tables; the
versions the follower recorded stay in ``introspection_history``.

Revision ID: 0007_follower
Revises: 0005_hardware_summaries
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007_follower"
down_revision = "0006_history_finished_at"
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "follower_state",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("watermark", _TS, nullable=True),
        sa.Column("backfill_until", _TS, nullable=True),
        sa.Column("backfill_marker", sa.String(36), nullable=True),
        sa.Column("backfill_done", sa.Boolean, nullable=False),
        sa.Column("sweep_marker", sa.String(36), nullable=True),
        sa.Column("anchor_uuid", sa.String(36), nullable=True),
        sa.Column("anchor_finished_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        mysql_engine="InnoDB", mysql_charset="utf8mb4")
    op.create_table(
        "follower_nodes",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("inspect_interface", sa.String(64), nullable=True),
        sa.Column("seen_started_at", _TS, nullable=True),
        sa.Column("seen_finished_at", _TS, nullable=True),
        sa.Column("recorded_finished_at", _TS, nullable=True),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("deleted_at", _TS, nullable=True),
        mysql_engine="InnoDB", mysql_charset="utf8mb4")
    op.create_index("follower_nodes_next_attempt_idx", "follower_nodes",
                    ["next_attempt_at", "uuid"])


def downgrade() -> None:
    op.drop_index("follower_nodes_next_attempt_idx", table_name="follower_nodes")
    op.drop_table("follower_nodes")
    op.drop_table("follower_state")
