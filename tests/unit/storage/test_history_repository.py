"""Hardware history in the repository, on SQLite: numbering, listing, reading, pruning."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import sqlalchemy as sa

from metalscope.storage import tables as t
from metalscope.storage.history import Retention
from metalscope.storage.repository import Repository, utcnow

UUID = "3f0b7d2e-1c1b-4a55-8d6e-0c3a8c1e9a01"
OTHER = "9d4e6a10-5b7c-4f31-a2d8-6e1f0b3c7d22"


def processed(n: int) -> dict[str, Any]:
    return {"inventory": {"memory": {"physical_mb": 1024 * n}, "disks": [{"name": "/dev/sda"}]},
            "all_interfaces": {"eth0": {"mac": "52:54:00:00:00:01"}}, "n": n}


def unprocessed(n: int) -> dict[str, Any]:
    return {"inventory": processed(n)["inventory"], "logs": "b64" * 5, "error": None}


async def record(repo: Repository, uuid: str = UUID, n: int = 1,
                 finished_at: datetime.datetime | None = None) -> int:
    return await repo.record_version(
        uuid, started_at=None, finished_at=finished_at or utcnow(), source="inband",
        processed=processed(n), unprocessed=unprocessed(n), error=None,
        summary=f"change {n}", changed=n > 1)


async def test_versions_count_from_one_per_node(repo: Repository) -> None:
    assert [await record(repo, n=n) for n in (1, 2, 3)] == [1, 2, 3]
    assert await record(repo, OTHER) == 1


async def test_a_version_reads_back_as_recorded(repo: Repository) -> None:
    finished = utcnow()
    await record(repo, n=1, finished_at=finished)
    await record(repo, n=2)
    stored = await repo.get_version(UUID, 1)
    assert stored is not None
    assert (stored.processed, stored.unprocessed) == (processed(1), unprocessed(1))
    assert (stored.finished_at, stored.summary, stored.changed) == (finished, "change 1", False)
    assert stored.source == "inband" and stored.stored_bytes > 0
    latest = await repo.latest_version(UUID)
    assert latest is not None and latest.version == 2 and latest.processed == processed(2)


async def test_missing_versions_are_none(repo: Repository) -> None:
    await record(repo)
    assert await repo.get_version(UUID, 2) is None
    assert await repo.get_version(OTHER, 1) is None
    assert await repo.latest_version(OTHER) is None


async def test_a_version_without_unprocessed_data(repo: Repository) -> None:
    await repo.record_version(UUID, started_at=None, finished_at=utcnow(), source="inband",
                              processed=processed(1), unprocessed=None, error="boom",
                              summary=None, changed=None)
    stored = await repo.get_version(UUID, 1)
    assert stored is not None and stored.unprocessed is None and stored.error == "boom"


async def test_listing_is_newest_first_and_pages_by_marker(repo: Repository) -> None:
    for n in range(1, 6):
        await record(repo, n=n)
    assert [v.version for v in await repo.list_versions(UUID)] == [5, 4, 3, 2, 1]
    assert [v.version for v in await repo.list_versions(UUID, limit=2)] == [5, 4]
    assert [v.version for v in await repo.list_versions(UUID, limit=2, marker=4)] == [3, 2]
    assert await repo.list_versions(OTHER) == []


async def test_recording_keeps_the_newest_max_versions(repo: Repository) -> None:
    repo.retention = Retention(max_versions=3, max_age=None)
    for n in range(1, 6):
        await record(repo, n=n)
    assert [v.version for v in await repo.list_versions(UUID)] == [5, 4, 3]
    assert await record(repo, n=6) == 6  # numbering goes on past pruned versions


async def test_no_limit_keeps_everything(repo: Repository) -> None:
    repo.retention = Retention(max_versions=0, max_age=None)
    for n in range(1, 13):
        await record(repo, n=n)
    assert len(await repo.list_versions(UUID)) == 12


async def test_age_pruning_spares_the_newest_version_of_a_known_node(repo: Repository) -> None:
    repo.retention = Retention(max_versions=0, max_age=None)
    old = utcnow() - datetime.timedelta(days=400)
    await repo.start_introspection(UUID, True, [], None)
    for n in (1, 2):
        await record(repo, UUID, n, finished_at=old)
        await record(repo, OTHER, n, finished_at=old)
    pruned = await repo.prune_history(None, max_versions=0,
                                      max_age=datetime.timedelta(days=365))
    assert pruned == 3
    assert [v.version for v in await repo.list_versions(UUID)] == [2]
    assert await repo.list_versions(OTHER) == []  # no status record: forgotten


async def test_recording_applies_the_age_limit(repo: Repository) -> None:
    repo.retention = Retention(max_versions=10, max_age=datetime.timedelta(days=30))
    await repo.start_introspection(UUID, True, [], None)
    await record(repo, n=1, finished_at=utcnow() - datetime.timedelta(days=31))
    await record(repo, n=2)
    assert [v.version for v in await repo.list_versions(UUID)] == [2]


async def test_history_outlives_the_status_record(repo: Repository) -> None:
    record_ = await repo.start_introspection(UUID, True, [], None)
    await record(repo)
    await repo.start_introspection(UUID, True, [], record_)
    await repo.delete_node(UUID)
    assert [v.version for v in await repo.list_versions(UUID)] == [1]


async def test_concurrent_versions_of_one_node_get_distinct_numbers(repo: Repository) -> None:
    numbers = await asyncio.gather(*(record(repo, n=n) for n in range(1, 7)))
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    async with repo.engine.connect() as conn:
        rows = (await conn.execute(sa.select(t.introspection_history.c.version))).scalars()
        assert sorted(rows) == [1, 2, 3, 4, 5, 6]
