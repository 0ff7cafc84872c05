"""What every coordinator offers: per-node locks and leadership.

A :class:`Coordinator` hands out per-node locks as :class:`NodeLock` handles. A handle can
be released by another task than the one that acquired it: abort and reapply take the lock
in the request and hand it to their background work, and ``/v1/continue`` keeps it until
the background finish step. Code outside this package holds a handle through
:class:`~metalscope.coordination.held.HeldLock`, which decides who releases it.
"""

from __future__ import annotations

from typing import Protocol


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
