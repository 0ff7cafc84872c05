"""A running ironic-inspector handed over to MetalScope and back, on PostgreSQL and MariaDB
(the story is in tests/integration/handover.py). Both services get the same
``[database]connection`` URL, with the drivers ironic-inspector's environment has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.upstream import upstream_database_url
from tests.integration.handover import Handover

pytestmark = pytest.mark.integration

FIRST_INDEX = {"postgresql": 10, "mariadb": 20}


def test_handover_and_back(scratch_database: ScratchDatabase, tmp_path: Path,
                           ironic: LocalIronic, make_node: Any, upstream_bin: Path) -> None:
    url = upstream_database_url(scratch_database.url)
    Handover(tmp_path, url, ironic, upstream_bin).run(
        make_node, first_index=FIRST_INDEX[scratch_database.kind])
