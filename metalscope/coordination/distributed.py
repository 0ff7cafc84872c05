"""Locks and leadership that hold across instances, on top of a shared lock service.

:class:`DistributedCoordinator` takes a node lock in two steps: first the in-process lock
(so tasks of one instance queue up locally and never ask the shared service twice for the
same name), then the shared lock, by non-blocking attempts with back-off until the timeout.
Polling keeps a waiting request cancellable and costs no connection or thread while it waits.

The shared service is a :class:`SharedLocks`: database session locks (``database``) or a
tooz backend (``tooz_backend``). Locks held by an instance that dies are released by the
service itself (the database ends the session; tooz lets the lock expire), which is what
lets another instance take over the node.

Leadership is one more shared lock, ``leader``: a background task tries to take it every
``leader_interval`` seconds and checks that the session holding it is still alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from metalscope.coordination.base import NodeLock
from metalscope.coordination.local import LocalCoordinator

LOG = logging.getLogger(__name__)
LEADER = "leader"
FIRST_RETRY, MAX_RETRY = 0.05, 1.0


class SharedLocks(Protocol):
    """A lock service shared by every instance (non-blocking primitives only)."""

    #: Changes whenever the session holding this instance's locks was lost (and with it,
    #: every lock taken before).
    generation: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def try_lock(self, name: str) -> bool:
        """Take ``name`` if free; False when another instance holds it or on error."""

    async def unlock(self, name: str) -> None:
        """Give ``name`` back; harmless when the session was lost meanwhile."""

    async def alive(self) -> bool:
        """Whether the session holding the leader lock is still alive."""


class _SharedNodeLock:
    def __init__(self, owner: DistributedCoordinator, local: NodeLock, generation: int) -> None:
        self.uuid = local.uuid
        self._owner = owner
        self._local = local
        self._generation = generation
        self._released = False

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            await self._owner._unlock(self.uuid, self._generation)
        finally:
            await self._local.release()


class DistributedCoordinator:
    """Node locks and a leader shared by every instance using the same ``SharedLocks``."""

    def __init__(self, shared: SharedLocks, leader_interval: float = 5.0) -> None:
        self.shared = shared
        self.leader_interval = leader_interval
        self._local = LocalCoordinator()
        self._leader_generation: int | None = None
        self._leader_task: asyncio.Task[None] | None = None
        #: Whether this instance stands for leader (an API-role process does not).
        self.campaign = True

    async def start(self) -> None:
        await self.shared.start()
        if not self.campaign:
            return
        await self.refresh_leadership()
        self._leader_task = asyncio.create_task(self._keep_leadership(), name="leadership")

    async def stop(self) -> None:
        if self._leader_task is not None:
            self._leader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leader_task
        if self.is_leader():
            with contextlib.suppress(Exception):
                await self.shared.unlock(LEADER)
        self._leader_generation = None
        await self.shared.stop()

    # -- node locks ---------------------------------------------------------------------------
    async def acquire(self, uuid: str, blocking: bool = True,
                      timeout: float | None = None) -> NodeLock | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        local = await self._local.acquire(uuid, blocking, timeout)
        if local is None:
            return None
        try:
            generation = await self._take_shared(uuid, blocking, deadline)
        except BaseException:
            await local.release()
            raise
        if generation is None:
            await local.release()
            return None
        return _SharedNodeLock(self, local, generation)

    async def _take_shared(self, uuid: str, blocking: bool, deadline: float | None) -> int | None:
        delay = FIRST_RETRY
        while True:
            generation = self.shared.generation
            if await self.shared.try_lock(uuid):
                return generation
            if not blocking:
                return None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                delay = min(delay, left)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, MAX_RETRY)

    async def _unlock(self, uuid: str, generation: int) -> None:
        if generation != self.shared.generation:
            LOG.warning("The lock of node %s was already lost with the coordination session",
                        uuid)
            return
        await self.shared.unlock(uuid)

    # -- leadership ---------------------------------------------------------------------------
    def is_leader(self) -> bool:
        return (self._leader_generation is not None
                and self._leader_generation == self.shared.generation)

    async def refresh_leadership(self) -> bool:
        """Check the leader lock is still ours, or try to take it; return whether we lead."""
        if self.is_leader() and not await self.shared.alive():
            LOG.error("Lost the leader lock with the coordination session")
            self._leader_generation = None
        if not self.is_leader():
            self._leader_generation = None
            generation = self.shared.generation
            if await self.shared.try_lock(LEADER):
                self._leader_generation = generation
                LOG.info("This instance is now the leader for periodic tasks")
        return self.is_leader()

    async def _keep_leadership(self) -> None:
        while True:
            await asyncio.sleep(self.leader_interval)
            try:
                await self.refresh_leadership()
            except Exception:
                LOG.exception("Leadership check failed")
