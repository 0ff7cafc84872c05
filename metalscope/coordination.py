"""Per-node locks and leadership.

A :class:`Coordinator` hands out per-node locks as :class:`NodeLock` handles. A handle can
be released by another task than the one that acquired it: abort and reapply take the lock
in the request and hand it to their background work, and ``/v1/continue`` keeps it until
the background finish step. The in-process coordinator serves a single instance; the
distributed ones (tooz) plug in behind the same protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from metalscope.errors import NodeLocked


class NodeLock(Protocol):
    uuid: str

    async def release(self) -> None:
        """Release the lock; releasing twice is harmless."""


class Coordinator(Protocol):
    async def acquire(self, uuid: str, blocking: bool = True,
                      timeout: float | None = None) -> NodeLock | None:
        """Take the node's lock; None when not blocking (or timed out) and it is held."""

    def is_leader(self) -> bool:
        """Whether this instance runs the leader-only periodic tasks."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _LocalLock:
    def __init__(self, owner: LocalCoordinator, uuid: str, lock: asyncio.Lock) -> None:
        self.uuid = uuid
        self._owner = owner
        self._lock = lock
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            self._owner._release(self.uuid, self._lock)


class LocalCoordinator:
    """Locks inside one process; this instance is always the leader."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}

    async def acquire(self, uuid: str, blocking: bool = True,
                      timeout: float | None = None) -> NodeLock | None:
        lock = self._locks.setdefault(uuid, asyncio.Lock())
        if not blocking:
            if lock.locked():
                return None
            await lock.acquire()
            return _LocalLock(self, uuid, lock)
        self._waiters[uuid] = self._waiters.get(uuid, 0) + 1
        try:
            await asyncio.wait_for(lock.acquire(), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._waiters[uuid] -= 1
        return _LocalLock(self, uuid, lock)

    def _release(self, uuid: str, lock: asyncio.Lock) -> None:
        lock.release()
        if not lock.locked() and not self._waiters.get(uuid):
            self._locks.pop(uuid, None)
            self._waiters.pop(uuid, None)

    def is_leader(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


@contextlib.asynccontextmanager
async def node_lock(coordinator: Coordinator, uuid: str, timeout: float | None = None,
                    message: str = "Node is locked, please, retry later") -> AsyncIterator[NodeLock]:
    """``async with`` form: wait (up to ``timeout``) for the lock, release it on exit."""
    lock = await coordinator.acquire(uuid, blocking=True, timeout=timeout)
    if lock is None:
        raise NodeLocked(message)
    try:
        yield lock
    finally:
        await lock.release()
