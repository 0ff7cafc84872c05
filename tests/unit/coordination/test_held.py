"""HeldLock and HeldNode: who releases a node lock, and when."""

from __future__ import annotations

import asyncio

import pytest

from metalscope.coordination import (
    HeldLock,
    HeldNode,
    LocalCoordinator,
    LockNotHeld,
    NodeLock,
    take_lock,
)
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord

UUID = "6e2fd6ae-5b3c-4a52-b0c5-8d4bd6c3a2f1"


class CountingLock:
    """A NodeLock that counts its releases."""

    def __init__(self, uuid: str = UUID) -> None:
        self.uuid = uuid
        self.releases = 0

    async def release(self) -> None:
        self.releases += 1


def record(uuid: str = UUID, state: State = State.WAITING) -> NodeRecord:
    return NodeRecord(uuid, state, None, None, None, True, "token")


async def is_free(coordinator: LocalCoordinator) -> bool:
    lock = await coordinator.acquire(UUID, blocking=False)
    if lock is None:
        return False
    await lock.release()
    return True


def test_counting_lock_is_a_node_lock() -> None:
    lock: NodeLock = CountingLock()
    assert lock.uuid == UUID


async def test_released_on_exit() -> None:
    lock = CountingLock()
    async with HeldLock(lock) as held:
        assert held.owned and held.uuid == UUID and lock.releases == 0
    assert lock.releases == 1 and not held.owned


async def test_released_on_exception() -> None:
    lock = CountingLock()
    with pytest.raises(ValueError, match="boom"):
        async with HeldLock(lock):
            raise ValueError("boom")
    assert lock.releases == 1


async def test_released_on_cancellation() -> None:
    coordinator = LocalCoordinator()
    held = await take_lock(coordinator, UUID)
    assert held is not None
    entered = asyncio.Event()

    async def hold_forever() -> None:
        async with held:
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold_forever())
    await entered.wait()
    assert not await is_free(coordinator)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await is_free(coordinator)


async def test_hand_off_moves_the_release_to_the_new_owner() -> None:
    coordinator = LocalCoordinator()
    held = await take_lock(coordinator, UUID)
    assert held is not None
    finished = asyncio.Event()

    async def background(owner: HeldLock) -> None:
        async with owner:
            await finished.wait()

    async with held:
        task = asyncio.create_task(background(held.hand_off()))
        assert not held.owned
    await asyncio.sleep(0)
    assert not await is_free(coordinator)  # the request's block ended: still held
    finished.set()
    await task
    assert await is_free(coordinator)


async def test_hand_off_after_exit_of_the_new_owner_on_error() -> None:
    lock = CountingLock()
    async with HeldLock(lock) as held:
        owner = held.hand_off()
    assert lock.releases == 0
    with pytest.raises(RuntimeError):
        async with owner:
            raise RuntimeError("background failed")
    assert lock.releases == 1


async def test_double_release_is_harmless() -> None:
    coordinator = LocalCoordinator()
    held = await take_lock(coordinator, UUID)
    assert held is not None
    async with held:
        pass
    await held.__aexit__(None, None, None)
    assert await is_free(coordinator)
    other = await take_lock(coordinator, UUID, blocking=False)
    assert other is not None
    await held.__aexit__(None, None, None)  # the old hold cannot free the new holder's lock
    assert not await is_free(coordinator)
    async with other:
        pass


async def test_a_hand_off_happens_once() -> None:
    held = HeldLock(CountingLock())
    held.hand_off()
    with pytest.raises(LockNotHeld):
        held.hand_off()
    with pytest.raises(LockNotHeld):
        held.with_record(record())


async def test_a_handed_off_hold_cannot_be_entered() -> None:
    held = HeldLock(CountingLock())
    owner = held.hand_off()
    with pytest.raises(LockNotHeld):
        async with held:
            pass
    async with owner:
        pass
    with pytest.raises(LockNotHeld):  # the new owner's hold is used once
        async with owner:
            pass


async def test_no_hand_off_after_release() -> None:
    lock = CountingLock()
    async with HeldLock(lock) as held:
        pass
    with pytest.raises(LockNotHeld):
        held.hand_off()
    assert lock.releases == 1


async def test_with_record_carries_the_record() -> None:
    lock = CountingLock()
    async with HeldLock(lock) as held:
        node = held.with_record(record())
    assert isinstance(node, HeldNode) and node.record == record() and lock.releases == 0
    async with node:
        moved = node.hand_off()
        assert moved.record == record()
    assert lock.releases == 0
    async with moved:
        pass
    assert lock.releases == 1


def test_with_record_of_another_node_refused() -> None:
    held = HeldLock(CountingLock())
    with pytest.raises(ValueError):
        held.with_record(record(uuid="0a2b7b0e-96a4-4bfe-bd70-2a0f1b6b7a01"))
    assert held.owned


async def test_take_lock_when_held_elsewhere() -> None:
    coordinator = LocalCoordinator()
    first = await take_lock(coordinator, UUID)
    assert first is not None
    async with first:
        assert await take_lock(coordinator, UUID, blocking=False) is None
        assert await take_lock(coordinator, UUID, timeout=0.05) is None
    second = await take_lock(coordinator, UUID, blocking=False)
    assert second is not None
    async with second:
        pass
