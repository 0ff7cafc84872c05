"""The two Alembic lineages a MetalScope database carries.

MetalScope's own (``storage/migrations``, version table ``metalscope_alembic_version``) and
ironic-inspector's (``storage/upstream_schema``, version table ``alembic_version``, upstream's
revision IDs, upgrade steps only). Every MetalScope database is also stamped at upstream's
head, so ironic-inspector recognises it once MetalScope's own tables are taken away
(``metalscope db downgrade``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from metalscope.storage import upstream_revisions as upstream

METALSCOPE_VERSION_TABLE = "metalscope_alembic_version"
#: MetalScope's first revision: upstream's tables at upstream's head.
METALSCOPE_BASE = "0001_initial"

_HERE = Path(__file__).parent
_METALSCOPE_SCRIPTS = _HERE / "migrations"
_UPSTREAM_SCRIPTS = _HERE / "upstream_schema"


def _config(location: Path, connection: sa.Connection | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def metalscope_config(connection: sa.Connection | None = None) -> Config:
    return _config(_METALSCOPE_SCRIPTS, connection)


def upstream_config(connection: sa.Connection | None = None) -> Config:
    return _config(_UPSTREAM_SCRIPTS, connection)


def metalscope_revisions() -> list[str]:
    """MetalScope's revisions, oldest first."""
    scripts = ScriptDirectory.from_config(metalscope_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def metalscope_head() -> str:
    return metalscope_revisions()[-1]


def stamp_upstream_head(connection: sa.Connection) -> None:
    """Record upstream's head in ``alembic_version`` unless a revision is recorded there."""
    context = MigrationContext.configure(connection,
                                         opts={"version_table": upstream.VERSION_TABLE})
    if context.get_current_revision() is None:
        context.stamp(ScriptDirectory.from_config(upstream_config()), upstream.HEAD)
