"""Shared locks on the real servers: PostgreSQL and MariaDB session locks, tooz on Redis.

Two lock clients stand for two instances. Killing a client's session on the server, as
the death of its instance would, frees its locks for the other one.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from metalscope.coordination.distributed import DistributedCoordinator
from metalscope.coordination.tooz_backend import ToozLocks
from metalscope.storage.session_locks import DatabaseLocks
from metalscope.testing.databases import ScratchDatabase

UUID = "44444444-4444-4444-8444-444444444444"
REDIS_URL = os.environ.get("METALSCOPE_TEST_REDIS_URL", "redis://127.0.0.1:6379")


async def _kill_session(kind: str, killer: DatabaseLocks, victim: DatabaseLocks) -> None:
    """End ``victim``'s session from another one, as the server does when a client dies."""
    import sqlalchemy as sa

    victim_id = await victim._scalar(sa.text(
        "SELECT pg_backend_pid()" if kind == "postgresql" else "SELECT CONNECTION_ID()"), {})
    statement = ("SELECT pg_terminate_backend(:id)" if kind == "postgresql"
                 else "KILL CONNECTION :id")
    async with killer._mutex:
        conn = await killer._connection()
        await conn.execute(sa.text(statement), {"id": victim_id})


async def _eventually(try_lock: object, name: str, seconds: float = 10) -> bool:
    """The server ends a killed session asynchronously: try again for a few seconds."""
    for _ in range(int(seconds / 0.1)):
        if await try_lock(name):  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_database_locks_exclude_and_die_with_the_session(
        scratch_database: ScratchDatabase) -> None:
    a, b = DatabaseLocks(scratch_database.url), DatabaseLocks(scratch_database.url)
    await a.start()
    await b.start()
    try:
        assert await a.try_lock(UUID)
        assert not await b.try_lock(UUID)
        await a.unlock(UUID)
        assert await b.try_lock(UUID)
        assert not await a.try_lock(UUID)
        generation = b.generation
        await _kill_session(scratch_database.kind, a, b)
        assert await _eventually(a.try_lock, UUID), "the killed session's lock is freed"
        assert not await b.alive() and b.generation == generation + 1
        assert not await b.try_lock(UUID)  # b reconnected: a new session, still excluded
        await a.unlock(UUID)
        assert await b.try_lock(UUID)
    finally:
        await a.stop()
        await b.stop()


async def test_coordinators_over_the_database(scratch_database: ScratchDatabase) -> None:
    """Node locks and a single leader across two coordinators; the leader's death hands over."""
    a = DistributedCoordinator(DatabaseLocks(scratch_database.url), leader_interval=3600)
    b = DistributedCoordinator(DatabaseLocks(scratch_database.url), leader_interval=3600)
    await a.start()
    await b.start()
    try:
        assert a.is_leader() and not b.is_leader()
        lock = await a.acquire(UUID)
        assert lock is not None
        waiter = asyncio.create_task(b.acquire(UUID, timeout=10))
        await asyncio.sleep(0.3)
        assert not waiter.done()
        assert isinstance(a.shared, DatabaseLocks) and isinstance(b.shared, DatabaseLocks)
        await _kill_session(scratch_database.kind, b.shared, a.shared)
        taken = await asyncio.wait_for(waiter, 10)
        assert taken is not None
        assert await b.refresh_leadership()
        assert not await a.refresh_leadership()  # a notices its session is gone
        await lock.release()  # a stale handle: must not free b's lock
        assert await a.acquire(UUID, blocking=False) is None
        await taken.release()
    finally:
        await a.stop()
        await b.stop()


def require_redis() -> None:
    """Skip without Redis locally; fail under CI, where .ci/run starts it."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"Redis unavailable under CI: {exc}", pytrace=False)
        pytest.skip(f"Redis unavailable at {REDIS_URL}: {exc}")


@pytest.fixture
def redis_url() -> str:
    require_redis()
    return REDIS_URL


async def test_tooz_redis_locks_and_leader(redis_url: str) -> None:
    prefix = os.urandom(4).hex()
    uuid = f"{prefix}-{UUID}"
    a = DistributedCoordinator(ToozLocks(redis_url, member="a"), leader_interval=3600)
    b = DistributedCoordinator(ToozLocks(redis_url, member="b"), leader_interval=3600)
    await a.start()
    await b.start()
    try:
        assert a.is_leader() != b.is_leader()
        lock = await a.acquire(uuid)
        assert lock is not None
        assert await b.acquire(uuid, blocking=False) is None
        waiter = asyncio.create_task(b.acquire(uuid, timeout=10))
        await asyncio.sleep(0.2)
        await lock.release()
        taken = await asyncio.wait_for(waiter, 10)
        assert taken is not None
        await taken.release()
        leader, other = (a, b) if a.is_leader() else (b, a)
        await leader.stop()
        assert await other.refresh_leadership()
    finally:
        await a.stop()
        await b.stop()


async def test_unreachable_tooz_backend_refuses_to_start() -> None:
    from metalscope.errors import ConfigurationError

    locks = ToozLocks("redis://127.0.0.1:1/?socket_connect_timeout=1", start_timeout=2)
    with pytest.raises(ConfigurationError, match="Cannot start the coordination backend"):
        await locks.start()
    await locks.stop()
