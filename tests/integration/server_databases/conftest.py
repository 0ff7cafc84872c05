"""Fixtures on the PostgreSQL and MariaDB servers: a fresh scratch database per test.

Locally a server that does not answer skips its tests; under CI (``CI`` set) it fails
them, since ``.ci/run`` starts both services.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from metalscope.testing.databases import ScratchDatabase, server_problem

SERVERS = ["postgresql", "mariadb"]


def _require(kind: str) -> None:
    problem = server_problem(kind)
    if problem is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"database server unavailable under CI: {problem}", pytrace=False)
    pytest.skip(f"database server unavailable: {problem}")


@pytest.fixture(params=SERVERS)
def server_kind(request: pytest.FixtureRequest) -> str:
    kind = str(request.param)
    _require(kind)
    return kind


@pytest.fixture
def scratch_database(server_kind: str) -> Iterator[ScratchDatabase]:
    """An empty database on each server in turn (the test runs once per server)."""
    with ScratchDatabase.create(server_kind) as database:
        yield database
