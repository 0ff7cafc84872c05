"""A callback with 33,000 MACs on SQLite, PostgreSQL and MariaDB: 400, never 500.

Each lookup MAC used to be one bound parameter of the lookup query; PostgreSQL refuses a
statement with more than 32767, so such a callback got a 500. ``metalscope serve`` runs
here for real on each database, in two configurations: the default one, where the
``validate_interfaces`` hook refuses the inventory (``[processing]max_interfaces`` = 1024),
and one whose ``max_interfaces`` lets the hook pass 33,000 interfaces, where the lookup's
own ceiling (30,000) refuses them before the query. The service answers normally after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_fleet, ramdisk_data
from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.service import LocalMetalScope, free_port
from tests.integration.server_databases.conftest import _require

pytestmark = pytest.mark.integration

COUNT = 33_000


def hostile_callback() -> dict[str, Any]:
    """A well-formed callback whose inventory lists 33,000 interfaces with distinct MACs."""
    interfaces = [{"name": f"eth{i}", "mac_address": _mac(i),
                   "ipv4_address": f"10.{i >> 16}.{i >> 8 & 0xFF}.{i & 0xFF}"}
                  for i in range(COUNT)]
    return {"inventory": {"interfaces": interfaces, "bmc_address": "192.0.2.99",
                          "cpu": {"count": 1, "architecture": "x86_64"},
                          "memory": {"physical_mb": 1024}, "disks": []}}


def _mac(number: int) -> str:
    value = 0x020000000000 + number
    return ":".join(f"{value >> shift & 0xFF:02x}" for shift in range(40, -8, -8))


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind in turn (the servers' are scratch databases)."""
    kind = str(request.param)
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'metalscope.sqlite'}"
        return
    _require(kind)
    with ScratchDatabase.create(kind) as database:
        yield database.url


@pytest.mark.parametrize(("max_interfaces", "reason"), [
    (1024, "Preprocessing hook validate_interfaces: The ramdisk reported 33000 network "
           "interfaces, more than the 1024 accepted ([processing]max_interfaces)"),
    (40000, "Look up error: The ramdisk reported 33000 network interfaces, more than the "
            "30000 accepted ([processing]max_interfaces)"),
])
def test_33000_macs(database_url: str, tmp_path: Path, max_interfaces: int,
                    reason: str) -> None:
    """400 with the reason, on every database; then the service still answers."""
    # No Ironic is needed: these callbacks are refused before anything asks it.
    service = LocalMetalScope(tmp_path / "service", f"http://127.0.0.1:{free_port()}", options={
        "database": {"connection": database_url},
        "processing": {"max_interfaces": max_interfaces}})
    with service, httpx.Client(base_url=service.url, timeout=60) as client:
        started = time.monotonic()
        response = client.post("/v1/continue", json=hostile_callback())
        elapsed = time.monotonic() - started
        assert response.status_code == 400, response.text
        assert reason in response.json()["error"]["message"]
        assert elapsed < 30
        assert client.get("/").status_code == 200
        assert client.get("/v1/introspection").status_code == 200
        ordinary = client.post("/v1/continue", json=ramdisk_data(make_fleet(7, 1)[0]))
        assert ordinary.status_code == 400
        assert "Could not find a node" in ordinary.json()["error"]["message"]
    assert "Traceback" not in service.log_tail(lines=10_000)

