"""The out-of-band collections one instance runs: how many may read BMCs at once
(``[redfish]max_concurrent``), the task of each node (so that an abort cancels it), and the
collector they call (by default the Redfish one; tests give their own)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from metalscope.settings.redfish import RedfishSection

#: Reads a node's hardware from its BMC: the Ironic node (with its ``driver_info``) and
#: the ``[redfish]`` settings → introspection data in the ramdisk's format.
Collector = Callable[[Mapping[str, Any], RedfishSection], Awaitable[dict[str, Any]]]


class OutOfBandRuns:
    """The out-of-band collections of this instance."""

    def __init__(self, limit: int = 8, collector: Collector | None = None) -> None:
        #: Taken for the time a collection reads the BMC.
        self.slots = asyncio.Semaphore(max(1, limit))
        #: None: the Redfish collector (``operations.out_of_band.collect_from_bmc``).
        self.collect = collector
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._aborted: set[str] = set()

    def add(self, uuid: str, task: asyncio.Task[Any]) -> None:
        self._tasks[uuid] = task
        task.add_done_callback(lambda done: self._forget(uuid, done))

    def _forget(self, uuid: str, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(uuid) is task:
            del self._tasks[uuid]
            self._aborted.discard(uuid)

    def collected(self, uuid: str) -> None:
        """The node's collection is over: its processing is not cancelled by an abort (which
        then gets 409, as during a callback's processing)."""
        self._tasks.pop(uuid, None)
        self._aborted.discard(uuid)

    def running(self, uuid: str) -> bool:
        return uuid in self._tasks

    def abort(self, uuid: str) -> bool:
        """Cancel the node's collection (not its processing), marked as aborted: the run
        then aborts the introspection itself, with the lock it holds. False when no
        collection of the node runs here."""
        task = self._tasks.get(uuid)
        if task is None or task.done():
            return False
        self._aborted.add(uuid)
        task.cancel()
        return True

    def abort_requested(self, uuid: str) -> bool:
        """Whether the cancellation of the node's collection is an abort (not a shutdown)."""
        return uuid in self._aborted
