"""Conditions can be inverted (existing conditions keep NULL, read as false).

Revision ID: e169a4a81d88
Revises: d588418040d
"""

import sqlalchemy as sa
from alembic import op

revision = "e169a4a81d88"
down_revision = "d588418040d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rule_conditions", sa.Column("invert", sa.Boolean, nullable=True))
