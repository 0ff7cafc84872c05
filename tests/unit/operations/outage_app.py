"""Settings for the outage tests: the app in-process over a migrated SQLite file, waiting
``WAIT`` seconds for an unreachable Ironic and storing the ramdisk data in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate

WAIT = 0.5  # [processing]ironic_wait of these tests


def outage_settings(tmp_path: Path, default: dict[str, Any] | None = None,
                    **processing: Any) -> Settings:
    url = f"sqlite:///{tmp_path / 'outage.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={
        "database": {"connection": url}, "DEFAULT": {"introspection_delay": 0, **(default or {})},
        "processing": {"ironic_wait": WAIT, "store_data": "database", **processing}})
