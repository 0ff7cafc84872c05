"""Lookup attributes get their own random ``uuid`` primary key; the node moves to
``node_uuid`` (foreign key ``fk_node_attribute``), so two nodes may share a value.

Every row gets a key of its own. (Upstream's own step gives all the rows of one node the same
new key and fails on any node with more than one attribute; this one keeps every row.)

Revision ID: 882b2d84cb1b
Revises: d00d6e3f38c4
"""

import uuid as uuidlib

import sqlalchemy as sa
from alembic import op

revision = "882b2d84cb1b"
down_revision = "d00d6e3f38c4"
branch_labels = None
depends_on = None

#: Names for constraints the database left unnamed (SQLite), as upstream names them.
_NAMES = {"pk": "pk_%(table_name)s", "fk": "fk_%(table_name)s"}


def _old_constraints() -> tuple[str, str]:
    inspector = sa.inspect(op.get_bind())
    primary_key = inspector.get_pk_constraint("attributes").get("name") or "pk_attributes"
    node_keys = [fk for fk in inspector.get_foreign_keys("attributes")
                 if fk["constrained_columns"] == ["uuid"]]
    foreign_key = (node_keys[0].get("name") if node_keys else None) or "fk_attributes"
    return primary_key, foreign_key


def _rekey_rows() -> None:
    attributes = sa.table("attributes", sa.column("name", sa.String),
                          sa.column("value", sa.String), sa.column("uuid", sa.String),
                          sa.column("node_uuid", sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(attributes.c.name, attributes.c.value,
                                  attributes.c.uuid)).all()
    for name, value, node in rows:
        bind.execute(attributes.update()
                     .where(attributes.c.name == name, attributes.c.value == value)
                     .values(node_uuid=node, uuid=str(uuidlib.uuid4())))


def upgrade() -> None:
    primary_key, foreign_key = _old_constraints()
    op.add_column("attributes", sa.Column("node_uuid", sa.String(36)))
    with op.batch_alter_table("attributes", naming_convention=_NAMES) as batch:
        batch.drop_constraint(foreign_key, type_="foreignkey")
    _rekey_rows()
    with op.batch_alter_table("attributes", naming_convention=_NAMES) as batch:
        batch.drop_constraint(primary_key, type_="primary")
        batch.create_primary_key(primary_key, ["uuid"])
        batch.create_foreign_key("fk_node_attribute", "nodes", ["node_uuid"], ["uuid"])
        batch.alter_column("name", existing_type=sa.String(255), nullable=False)
        batch.alter_column("value", existing_type=sa.String(255), nullable=True)
