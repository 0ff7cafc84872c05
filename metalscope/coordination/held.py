"""Ownership of a node lock: exactly one holder releases it, at the end of its ``async with``.

:func:`take_lock` turns a coordinator's lock into a :class:`HeldLock`. The block that
holds it releases the lock when it ends, normally or by an exception, unless the lock was
handed off first: :meth:`HeldLock.hand_off` gives the lock to a new holder (typically a
background task, which then releases it with its own ``async with``), and
:meth:`HeldLock.with_record` does the same with the node's record read or written under
the lock, as a :class:`HeldNode`. A hold gives its lock away at most once; a hold that no
longer owns its lock cannot be entered.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from metalscope.coordination.base import Coordinator, NodeLock
from metalscope.storage.repository import NodeRecord


class LockNotHeld(RuntimeError):
    """A hold was used after its lock was handed off or released (a programming error)."""


class HeldLock:
    """The lock of node ``uuid``, owned by this object until released or handed off."""

    def __init__(self, lock: NodeLock) -> None:
        self.uuid = lock.uuid
        self._lock: NodeLock | None = lock
        self._entered = False

    @property
    def owned(self) -> bool:
        """Whether this hold still owns the lock (not released, not handed off)."""
        return self._lock is not None

    async def __aenter__(self) -> Self:
        if self._lock is None or self._entered:
            raise LockNotHeld(f"The lock of node {self.uuid} is not held by this holder")
        self._entered = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            await lock.release()

    def hand_off(self) -> HeldLock:
        """Give the lock to a new holder; this one will no longer release it."""
        return HeldLock(self._give())

    def with_record(self, record: NodeRecord) -> HeldNode:
        """Give the lock to a new holder that also carries the node's ``record``."""
        if record.uuid != self.uuid:
            raise ValueError(f"Record of node {record.uuid} given with the lock of {self.uuid}")
        return HeldNode(self._give(), record)

    def _give(self) -> NodeLock:
        lock, self._lock = self._lock, None
        if lock is None:
            raise LockNotHeld(f"The lock of node {self.uuid} was already released or handed off")
        return lock


class HeldNode(HeldLock):
    """A node's lock and its status record as read or written under that lock."""

    def __init__(self, lock: NodeLock, record: NodeRecord) -> None:
        super().__init__(lock)
        self.record = record

    def hand_off(self) -> HeldNode:
        """Give the lock, with the same record, to a new holder."""
        return HeldNode(self._give(), self.record)


async def take_lock(coordinator: Coordinator, uuid: str, *, blocking: bool = True,
                    timeout: float | None = None) -> HeldLock | None:
    """The node's lock, waited for up to ``timeout`` seconds (not at all unless
    ``blocking``); None when another holder keeps it."""
    lock = await coordinator.acquire(uuid, blocking=blocking, timeout=timeout)
    return None if lock is None else HeldLock(lock)
