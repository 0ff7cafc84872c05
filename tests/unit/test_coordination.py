"""DistributedCoordinator over an in-memory lock service shared by two "instances"."""

from __future__ import annotations

import asyncio

import pytest

from metalscope.coordination import LocalCoordinator
from metalscope.coordination.distributed import DistributedCoordinator
from metalscope.coordination.factory import create_coordinator
from metalscope.coordination.tooz_backend import ToozLocks
from metalscope.settings import load_settings
from metalscope.storage.session_locks import DatabaseLocks, advisory_key, named_lock

UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"


class Server:
    """The shared service: who holds which name."""

    def __init__(self) -> None:
        self.holders: dict[str, object] = {}


class MemoryLocks:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.generation = 0
        self.session_alive = True

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def try_lock(self, name: str) -> bool:
        return self.server.holders.setdefault(name, self) is self

    async def unlock(self, name: str) -> None:
        if self.server.holders.get(name) is self:
            del self.server.holders[name]

    async def alive(self) -> bool:
        return self.session_alive

    def lose_session(self) -> None:
        """What the server does when the connection drops: every lock goes."""
        for name in [n for n, holder in self.server.holders.items() if holder is self]:
            del self.server.holders[name]
        self.generation += 1


def instances(count: int = 2) -> tuple[Server, list[DistributedCoordinator]]:
    server = Server()
    return server, [DistributedCoordinator(MemoryLocks(server), leader_interval=3600)
                    for _ in range(count)]


async def test_a_node_lock_excludes_other_instances() -> None:
    _, (a, b) = instances()
    lock = await a.acquire(UUID)
    assert lock is not None
    assert await b.acquire(UUID, blocking=False) is None
    assert await b.acquire(UUID, timeout=0.2) is None
    await lock.release()
    other = await b.acquire(UUID, blocking=False)
    assert other is not None
    await other.release()
    await other.release()  # twice is harmless


async def test_a_waiting_instance_gets_the_lock_when_released() -> None:
    _, (a, b) = instances()
    lock = await a.acquire(UUID)
    assert lock is not None
    waiter = asyncio.create_task(b.acquire(UUID, timeout=5))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await lock.release()
    taken = await asyncio.wait_for(waiter, 5)
    assert taken is not None
    await taken.release()


async def test_tasks_of_one_instance_queue_locally() -> None:
    server, (a, _) = instances()
    first = await a.acquire(UUID)
    assert first is not None and await a.acquire(UUID, blocking=False) is None
    await first.release()
    assert UUID not in server.holders


async def test_a_cancelled_wait_leaves_nothing_held() -> None:
    server, (a, b) = instances()
    lock = await a.acquire(UUID)
    assert lock is not None
    waiter = asyncio.create_task(b.acquire(UUID))
    await asyncio.sleep(0.1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await lock.release()
    assert UUID not in server.holders
    again = await b.acquire(UUID, blocking=False)
    assert again is not None


async def test_one_leader_and_hand_over_when_it_stops() -> None:
    _, (a, b) = instances()
    await a.start()
    await b.start()
    assert a.is_leader() and not b.is_leader()
    await a.stop()
    assert await b.refresh_leadership()


async def test_a_lost_session_loses_leadership_and_locks() -> None:
    server, (a, b) = instances()
    await a.start()
    lock = await a.acquire(UUID)
    assert lock is not None and a.is_leader()
    shared = a.shared
    assert isinstance(shared, MemoryLocks)
    shared.lose_session()
    assert not a.is_leader()
    taken = await b.acquire(UUID, blocking=False)  # the server freed it
    assert taken is not None
    await lock.release()  # an old-generation handle does not free b's lock
    assert server.holders[UUID] is b.shared
    await b.start()
    assert b.is_leader() and not await a.refresh_leadership()


async def test_leadership_checks_the_session() -> None:
    """A leader whose session is reported dead steps down, and someone else may lead."""
    server, (a, b) = instances()
    await a.start()
    shared = a.shared
    assert isinstance(shared, MemoryLocks)
    shared.session_alive = False
    server.holders["leader"] = b.shared  # the server gave the lock away with the session
    assert not await a.refresh_leadership()
    assert await b.refresh_leadership()


def test_lock_names_are_stable_and_scoped() -> None:
    assert advisory_key(UUID) == advisory_key(UUID)
    assert -2**63 <= advisory_key(UUID) < 2**63
    assert advisory_key(UUID) != advisory_key("leader")
    name = named_lock("inspector", UUID)
    assert len(name) <= 64 and name.startswith("metalscope.")
    assert name != named_lock("other_db", UUID)


@pytest.mark.parametrize(("coordination", "database", "kind"), [
    ("", "sqlite:////tmp/x.sqlite", LocalCoordinator),
    ("memcached://localhost:11211", "sqlite:////tmp/x.sqlite", LocalCoordinator),
    ("", "postgresql://u@127.0.0.1/db", DatabaseLocks),
    ("memcached://localhost:11211", "mysql+pymysql://u@127.0.0.1/db", DatabaseLocks),
    ("redis://127.0.0.1:6379", "postgresql://u@127.0.0.1/db", ToozLocks),
    ("mysql://u@127.0.0.1/locks", "sqlite:////tmp/x.sqlite", DatabaseLocks),
])
def test_factory_choice(coordination: str, database: str, kind: type) -> None:
    settings = load_settings(overrides={"coordination": {"backend_url": coordination},
                                        "database": {"connection": database}})
    coordinator = create_coordinator(settings)
    if kind is LocalCoordinator:
        assert isinstance(coordinator, LocalCoordinator)
    else:
        assert isinstance(coordinator, DistributedCoordinator)
        assert isinstance(coordinator.shared, kind)


def test_factory_uses_upstream_leader_interval_and_host() -> None:
    """``[DEFAULT]leader_election_interval`` paces the leadership check (upstream's default
    10 s) and ``[DEFAULT]host`` names this instance among a tooz group's members."""
    settings = load_settings(overrides={
        "coordination": {"backend_url": "redis://127.0.0.1:6379"},
        "DEFAULT": {"host": "inspector-3.example.org"}})
    coordinator = create_coordinator(settings)
    assert isinstance(coordinator, DistributedCoordinator)
    assert coordinator.leader_interval == 10
    assert isinstance(coordinator.shared, ToozLocks)
    assert coordinator.shared.member.startswith("metalscope.inspector-3.example.org.")
    faster = load_settings(overrides={"DEFAULT": {"leader_election_interval": 3},
                                      "database": {"connection": "postgresql://u@127.0.0.1/db"}})
    assert create_coordinator(faster).leader_interval == 3  # type: ignore[attr-defined]


async def test_an_instance_that_does_not_campaign_never_leads() -> None:
    _, (api, conductor) = instances()
    api.campaign = False
    await api.start()
    await conductor.start()
    assert not api.is_leader() and conductor.is_leader()
    lock = await api.acquire(UUID, blocking=False)
    assert lock is not None and await conductor.acquire(UUID, blocking=False) is None
    await lock.release()
    await api.stop()
    await conductor.stop()


def test_the_factory_leaves_leadership_out_on_request() -> None:
    settings = load_settings(overrides={"database": {"connection": "postgresql://h/db"}})
    coordinator = create_coordinator(settings, leadership=False)
    assert isinstance(coordinator, DistributedCoordinator) and not coordinator.campaign
    assert isinstance(create_coordinator(load_settings(), leadership=False), LocalCoordinator)


async def test_a_free_local_lock_is_taken_without_yielding_to_the_loop() -> None:
    """Uncontended, the lock is taken at once: nothing else runs meanwhile (a callback's
    lookup does not wait behind other work for a lock nobody holds)."""
    coordinator = LocalCoordinator()
    ran: list[str] = []
    asyncio.get_running_loop().call_soon(ran.append, "other work")
    lock = await coordinator.acquire(UUID, timeout=1)
    assert lock is not None and ran == []
    waiter = asyncio.create_task(coordinator.acquire(UUID, timeout=5))
    await asyncio.sleep(0.01)
    assert not waiter.done()  # held: the second waits, with its timeout
    late = asyncio.create_task(coordinator.acquire(UUID, timeout=5))
    await asyncio.sleep(0.01)
    await lock.release()
    second = await waiter
    assert second is not None and not late.done()  # first come, first served
    await second.release()
    third = await late
    assert third is not None
    await third.release()
    assert await coordinator.acquire(UUID, blocking=False) is not None
