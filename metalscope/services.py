"""The long-lived services one MetalScope instance runs with, built once at start-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metalscope import latency_share
from metalscope.auth import AccessControl, NoAuth
from metalscope.body_budget import BodyBudget
from metalscope.coordination import Coordinator
from metalscope.drift.dispatcher import DriftDispatcher
from metalscope.extensions import ExtensionRegistry
from metalscope.foreground import Foreground
from metalscope.json_parsing import JsonParser
from metalscope.metrics import Metrics
from metalscope.out_of_band_runs import OutOfBandRuns
from metalscope.pxe_filter.base import PXEFilter
from metalscope.settings import Settings
from metalscope.storage.data_store import DataStore
from metalscope.storage.repository import Repository

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)


class BootPacer:
    """Spaces managed reboots ``introspection_delay`` seconds apart (spec 10.5)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = asyncio.Lock()
        self._last = 0.0

    async def wait_turn(self) -> None:
        if self.delay <= 0:
            return
        async with self._lock:
            pause = self._last + self.delay - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self._last = time.monotonic()


@dataclass
class BackgroundWork:
    """Fire-and-forget tasks that are tracked, logged when they fail and awaited at shutdown."""

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        with latency_share.detached():  # its waits are not those of the request spawning it
            task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOG.error("Background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float | None = 30,
                    interrupt: asyncio.Event | None = None) -> None:
        """Wait up to ``timeout`` seconds (None: no limit), or until ``interrupt`` is set,
        for the tasks; then cancel those still running and wait for them to unwind (their
        locks are released on the way). Work cancelled here is taken up again by the
        recovery at the next start."""
        if self.tasks:
            waiters: set[asyncio.Future[Any]] = {
                asyncio.ensure_future(asyncio.wait(list(self.tasks)))}
            if interrupt is not None:
                waiters.add(asyncio.ensure_future(interrupt.wait()))
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        left = list(self.tasks)
        if not left:
            return
        LOG.warning("Cancelling %d background task(s) still running: %s", len(left),
                    ", ".join(sorted(task.get_name() for task in left)))
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=5)


@dataclass
class Services:
    settings: Settings
    repo: Repository
    ironic: IronicClient
    coordinator: Coordinator
    extensions: ExtensionRegistry
    pxe_filter: PXEFilter
    data_store: DataStore
    pacer: BootPacer
    auth: AccessControl = field(default_factory=NoAuth)
    background: BackgroundWork = field(default_factory=BackgroundWork)
    #: Memory that callback and reapply bodies may take at once (body_budget.py).
    body_budget: BodyBudget = field(default_factory=lambda: BodyBudget(64 * 2**20, 10.0))
    #: Parses request bodies on the loop or on its worker thread (json_parsing.py).
    json_parser: JsonParser = field(default_factory=JsonParser)
    #: Hardware drift events to the notifiers of ``[drift]notifiers`` (none by default).
    drift: DriftDispatcher = field(default_factory=lambda: DriftDispatcher({}))
    #: The Prometheus metrics of this instance (``/metrics``, :mod:`metalscope.metrics`).
    metrics: Metrics = field(default_factory=Metrics)
    #: Out-of-band collections running here, bounded by ``[redfish]max_concurrent``.
    out_of_band: OutOfBandRuns = field(default_factory=OutOfBandRuns)
    #: The requests running their own code; background steps wait for none (foreground.py).
    foreground: Foreground = field(default_factory=Foreground)
