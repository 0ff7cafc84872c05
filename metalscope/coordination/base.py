"""What every coordinator offers: per-node locks, leadership, and a context-manager form.

A :class:`Coordinator` hands out per-node locks as :class:`NodeLock` handles. A handle can
be released by another task than the one that acquired it: abort and reapply take the lock
in the request and hand it to their background work, and ``/v1/continue`` keeps it until
the background finish step.
"""

from __future__ import annotations

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
