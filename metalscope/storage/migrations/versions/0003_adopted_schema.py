"""Align a schema adopted from ironic-inspector with MetalScope's and stamp upstream's head.

The alignment (storage/schema_alignment.py) adds the lookup indexes, replaces NULL
``version_id`` tokens and, on MySQL/MariaDB, widens timestamps to microseconds and tables to
utf8mb4; on a schema MetalScope created itself it finds nothing to do. ``alembic_version``
gets upstream's head when it holds no revision, so that every MetalScope database can be
handed back to ironic-inspector with ``metalscope db downgrade``.

Revision ID: 0003_adopted_schema
Revises: 0002_ramdisk_callbacks
Create Date: 2026-12-05
"""

from alembic import op

from metalscope.storage.lineages import stamp_upstream_head
from metalscope.storage.schema_alignment import align

revision = "0003_adopted_schema"
down_revision = "0002_ramdisk_callbacks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    align(op.get_bind())
    stamp_upstream_head(op.get_bind())


def downgrade() -> None:
    """Nothing to undo: ironic-inspector runs on the aligned schema as it is."""
