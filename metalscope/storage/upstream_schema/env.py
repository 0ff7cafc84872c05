"""Alembic environment of the ironic-inspector lineage: runs on the connection handed over
by metalscope.storage.migrate and records revisions in upstream's ``alembic_version``."""

from __future__ import annotations

from alembic import context

from metalscope.storage.upstream_revisions import VERSION_TABLE


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
