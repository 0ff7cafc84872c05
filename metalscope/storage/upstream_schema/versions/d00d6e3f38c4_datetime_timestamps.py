"""Node timestamps become DATETIME (UTC) instead of float seconds since the epoch.

New columns are added and filled row by row, then the float columns are dropped and the new
ones take their names, so the columns end up in the same order as upstream's own migration
leaves them.

Revision ID: d00d6e3f38c4
Revises: d2e48801c8ef
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "d00d6e3f38c4"
down_revision = "d2e48801c8ef"
branch_labels = None
depends_on = None

_COLUMNS = ("started_at", "finished_at")


def _from_epoch(seconds: float | None) -> datetime.datetime | None:
    if seconds is None:
        return None
    utc = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return utc.replace(tzinfo=None)


def _convert_rows() -> None:
    nodes = sa.table("nodes", sa.column("uuid", sa.String),
                     *(sa.column(name, sa.Float) for name in _COLUMNS),
                     *(sa.column(f"new_{name}", sa.DateTime) for name in _COLUMNS))
    bind = op.get_bind()
    rows = bind.execute(sa.select(nodes.c.uuid, *(nodes.c[name] for name in _COLUMNS))).all()
    for uuid, *stamps in rows:
        values = {f"new_{name}": _from_epoch(v) for name, v in zip(_COLUMNS, stamps, strict=True)}
        bind.execute(nodes.update().where(nodes.c.uuid == uuid).values(**values))


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("nodes", sa.Column(f"new_{name}", sa.DateTime, nullable=True))
    _convert_rows()
    with op.batch_alter_table("nodes") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
        for name in _COLUMNS:
            batch.alter_column(f"new_{name}", new_column_name=name,
                               existing_type=sa.DateTime, existing_nullable=True)
