"""Status records get a state (and the unused version_id): records with an error become
``error``, the others ``finished``.

Revision ID: d2e48801c8ef
Revises: e169a4a81d88
"""

import sqlalchemy as sa
from alembic import op

from metalscope.storage.upstream_revisions import NODE_STATES

revision = "d2e48801c8ef"
down_revision = "e169a4a81d88"
branch_labels = None
depends_on = None


def upgrade() -> None:
    state = sa.Enum(*NODE_STATES, name="node_state")
    state.create(op.get_bind(), checkfirst=True)  # a type of its own on PostgreSQL only
    op.add_column("nodes", sa.Column("version_id", sa.String(36), server_default=""))
    op.add_column("nodes", sa.Column("state", state, nullable=False, server_default="finished"))
    nodes = sa.table("nodes", sa.column("state", sa.String), sa.column("error", sa.Text))
    op.execute(nodes.update().where(nodes.c.error.is_not(None))
               .values(state=op.inline_literal("error")))
