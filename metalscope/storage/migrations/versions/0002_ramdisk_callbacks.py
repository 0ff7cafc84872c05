"""Ramdisk callbacks: the digest of the data each introspection was processed from.

A ramdisk that retries ``/v1/continue`` (after a timeout, a 5xx or a lost instance) sends
the same body again; the digest lets any instance recognise the retry and answer it
without processing the node twice.

Revision ID: 0002_ramdisk_callbacks
Revises: 0001_initial
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from metalscope.storage.schema_alignment import utf8mb4

revision = "0002_ramdisk_callbacks"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # A foreign key joins columns of one character set: an adopted MySQL/MariaDB schema is
    # still upstream's utf8 here (migration 0003 aligns the rest).
    utf8mb4(op.get_bind())
    op.create_table(
        "ramdisk_callbacks",
        sa.Column("node_uuid", sa.String(36), sa.ForeignKey("nodes.uuid",
                  name="fk_ramdisk_callback_node"), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        mysql_engine="InnoDB", mysql_charset="utf8mb4")
    op.create_index("ramdisk_callbacks_digest_idx", "ramdisk_callbacks", ["digest"])


def downgrade() -> None:
    op.drop_index("ramdisk_callbacks_digest_idx", table_name="ramdisk_callbacks")
    op.drop_table("ramdisk_callbacks")
