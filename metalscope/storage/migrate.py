"""Schema migrations (Alembic), run by ``metalscope db upgrade`` and checked by ``serve``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from metalscope.storage.engine import create_sync_engine

_SCRIPTS = Path(__file__).parent / "migrations"
VERSION_TABLE = "metalscope_alembic_version"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection_url: str) -> str | None:
    engine = create_sync_engine(connection_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    finally:
        engine.dispose()


def upgrade(connection_url: str, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    engine = create_sync_engine(connection_url)
    try:
        with engine.begin() as conn:
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def schema_problem(connection_url: str) -> str | None:
    """None when the schema is at head, else a message telling the operator what to run."""
    current = current_revision(connection_url)
    head = head_revision()
    if current == head:
        return None
    found = "no MetalScope schema" if current is None else f"schema revision {current}"
    return (f"The database has {found}, this version of MetalScope needs {head}. "
            f"Run `metalscope db upgrade` (with the same configuration) first.")
