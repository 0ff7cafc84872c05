"""Rules get a scope (NULL: the rule applies to every node).

Revision ID: b55109d5063a
Revises: bf8dec16023c
"""

import sqlalchemy as sa
from alembic import op

revision = "b55109d5063a"
down_revision = "bf8dec16023c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rules", sa.Column("scope", sa.String(255), nullable=True))
