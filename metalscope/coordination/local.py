"""Locks inside one process: the coordinator of a single instance (SQLite, no backend)."""

from __future__ import annotations

import asyncio

from metalscope.coordination.base import NodeLock


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
        if not lock.locked() and not self._waiters.get(uuid):
            # Free and nobody queued: taken at once, without a trip through the event loop.
            await lock.acquire()
            return _LocalLock(self, uuid, lock)
        self._waiters[uuid] = self._waiters.get(uuid, 0) + 1
        try:
            await asyncio.wait_for(lock.acquire(), timeout)
        except TimeoutError:
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
