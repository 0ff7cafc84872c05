"""Whether the service manages the node's boot (NULL for older records, read as true).

Revision ID: 2970d2d44edc
Revises: 18440d0834af
"""

import sqlalchemy as sa
from alembic import op

revision = "2970d2d44edc"
down_revision = "18440d0834af"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("nodes", sa.Column("manage_boot", sa.Boolean, nullable=True))
