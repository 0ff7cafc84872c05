"""History retention by age without reading every version: ``introspection_history.age_from``.

``max_age`` applies to a version from its ``finished_at``, except to the newest version of
a node that still has a status record (the baseline the next introspection is compared
with). ``age_from`` holds that rule in the row: the version's ``finished_at`` when
``max_age`` applies to it, NULL while it is such a baseline. Its index gives the clean-up
only the versions past ``max_age``, whatever the size of the history. The upgrade fills the
column from the rows present; the downgrade drops it.

Revision ID: 0006_history_finished_at
Revises: 0005_hardware_summaries
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006_history_finished_at"
down_revision = "0005_hardware_summaries"
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_INDEX = "introspection_history_age_from_idx"
#: Baselines cleared per statement.
_CHUNK = 1000


def upgrade() -> None:
    op.add_column("introspection_history", sa.Column("age_from", _TS, nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE introspection_history SET age_from = finished_at"))
    # The newest version of each node with a status record (read first: MySQL does not
    # let an UPDATE read the table it updates).
    baselines = bind.execute(sa.text(
        "SELECT h.uuid, MAX(h.version) FROM introspection_history h "
        "JOIN nodes n ON n.uuid = h.uuid GROUP BY h.uuid")).all()
    clear = sa.text("UPDATE introspection_history SET age_from = NULL "
                    "WHERE uuid = :uuid AND version = :version")
    for start in range(0, len(baselines), _CHUNK):
        bind.execute(clear, [{"uuid": uuid, "version": version}
                             for uuid, version in baselines[start:start + _CHUNK]])
    op.create_index(_INDEX, "introspection_history", ["age_from"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="introspection_history")
    with op.batch_alter_table("introspection_history") as batch:
        batch.drop_column("age_from")
