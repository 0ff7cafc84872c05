"""Alembic environment: runs on the connection handed over by metalscope.storage.migrate."""

from __future__ import annotations

from alembic import context

from metalscope.storage.tables import metadata


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      version_table="metalscope_alembic_version")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
