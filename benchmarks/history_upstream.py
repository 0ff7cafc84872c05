"""Upstream ironic-inspector 12.5.0's own bytes for the benchmark's inventories: a real run.

A real Ironic (fake hardware) and upstream ironic-inspector (SQLite, ``store_data =
database``, its six default hooks) start; the machines are enrolled, introspected with
``manage_boot=false`` and their ramdisk documents posted to ``/v1/continue``. The rows
upstream wrote in ``introspection_data`` are then read back: their byte sizes, and the two
documents themselves, which MetalScope's codec then stores (the same data, exactly).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from inspectors import UpstreamInspector
from workload import INSPECTOR_VERSION, enroll_fleet

from metalscope.simulator.inventory import SimulatedNode, ramdisk_data
from metalscope.testing.ironic import LocalIronic

FINISH_TIMEOUT = 120.0


@dataclass(frozen=True)
class UpstreamRows:
    """What upstream stored for one machine."""

    processed: dict[str, Any]
    unprocessed: dict[str, Any]
    #: Bytes of the two ``introspection_data.data`` values as stored.
    stored_bytes: int


def upstream_rows(ironic_bin: Path, machines: Sequence[SimulatedNode]) -> list[UpstreamRows]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "ironic").mkdir()
        (work / "inspector").mkdir()
        with LocalIronic(work / "ironic", ironic_bin) as ironic:
            uuids = asyncio.run(enroll_fleet(ironic.url, str(ironic.api_version), machines))
            inspector = UpstreamInspector(work / "inspector", ironic.url, ironic_bin)
            inspector.start()
            try:
                asyncio.run(_introspect(inspector.url, uuids, machines))
            finally:
                inspector.stop()
            return [_rows(work / "inspector" / "inspector.sqlite", uuid) for uuid in uuids]


async def _introspect(url: str, uuids: Sequence[str], machines: Sequence[SimulatedNode]) -> None:
    async with httpx.AsyncClient(base_url=url, headers=INSPECTOR_VERSION, timeout=120) as client:
        for uuid, machine in zip(uuids, machines, strict=True):
            (await client.post(f"/v1/introspection/{uuid}",
                               params={"manage_boot": "false"})).raise_for_status()
            await _wait(client, uuid, lambda s: s["state"] == "waiting")
            (await client.post("/v1/continue", json=ramdisk_data(machine))).raise_for_status()
            status = await _wait(client, uuid, lambda s: s["finished"])
            if status.get("error"):
                raise RuntimeError(f"upstream failed on {machine.name}: {status['error']}")


async def _wait(client: httpx.AsyncClient, uuid: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + FINISH_TIMEOUT
    while time.monotonic() < deadline:
        status: dict[str, Any] = (await client.get(f"/v1/introspection/{uuid}")).json()
        if done(status):
            return status
        await asyncio.sleep(0.2)
    raise RuntimeError(f"upstream did not get node {uuid} there in {FINISH_TIMEOUT} s")


def _rows(database: Path, uuid: str) -> UpstreamRows:
    with sqlite3.connect(database) as conn:
        rows = dict(conn.execute("SELECT processed, data FROM introspection_data WHERE uuid = ?",
                                 (uuid,)).fetchall())
    processed, unprocessed = rows[1], rows[0]
    return UpstreamRows(json.loads(processed), json.loads(unprocessed),
                        len(processed.encode()) + len(unprocessed.encode()))
