"""Hardware history seeded straight through the repository, for the API and CLI tests."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from metalscope.settings import Settings
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.factories import end_introspection, inventory, start_introspection

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def processed(memory_mb: int, disks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = inventory(memory={"physical_mb": memory_mb, "total": memory_mb * 1024 * 1024})
    if disks is not None:
        data["disks"] = disks
    return {"inventory": data, "memory_mb": memory_mb}


async def _seed(url: str, uuid: str, documents: list[dict[str, Any]]) -> None:
    repo = Repository(create_engine(url))
    try:
        await start_introspection(repo, uuid, [])
        await end_introspection(repo, uuid)
        for n, document in enumerate(documents):
            await repo.record_version(
                uuid, started_at=T0 + datetime.timedelta(days=n),
                finished_at=T0 + datetime.timedelta(days=n, minutes=5), source="inband",
                processed=document, unprocessed={"raw": n}, error=None,
                summary=f"summary {n + 1}", changed=None if n == 0 else True)
    finally:
        await repo.engine.dispose()


def seed(settings: Settings, uuid: str, documents: list[dict[str, Any]]) -> None:
    asyncio.run(_seed(settings.database.connection, uuid, documents))
