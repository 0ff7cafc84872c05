"""A running ironic-inspector handed over to MetalScope and back, on SQLite (the story is in
handover.py; server_databases/test_upstream_handover.py tells it on PostgreSQL and MariaDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metalscope.testing.ironic import LocalIronic
from tests.integration.handover import Handover

pytestmark = pytest.mark.integration


def test_handover_and_back(tmp_path: Path, ironic: LocalIronic, make_node: Any,
                           upstream_bin: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inspector.sqlite'}"
    Handover(tmp_path, url, ironic, upstream_bin).run(make_node, first_index=0)
