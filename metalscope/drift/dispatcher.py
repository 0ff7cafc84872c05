"""DriftDispatcher: drift events handed to every notifier in the background.

:meth:`DriftDispatcher.emit` only queues: each notifier has its own bounded queue (its
``queue_size``; when full the oldest event is dropped, with a warning) and at most one
worker task, started when an event arrives and ended when the queue is empty, which
delivers the events one at a time. A slow or failing notifier therefore delays only
itself, and processing never waits for a notifier. :meth:`DriftDispatcher.aclose` (at
shutdown) lets the workers deliver what is queued for up to ``shutdown_timeout`` seconds,
then cancels them and logs every event left undelivered.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Mapping

from metalscope import log_context
from metalscope.drift.events import DriftEvent
from metalscope.drift.spec import DriftNotifier
from metalscope.metrics import Metrics

LOG = logging.getLogger(__name__)


class _Lane:
    """One notifier's queue and worker."""

    def __init__(self, name: str, notifier: DriftNotifier, metrics: Metrics) -> None:
        self.name = name
        self.notifier = notifier
        self.metrics = metrics
        self.queue: deque[DriftEvent] = deque()
        self.current: DriftEvent | None = None
        self.worker: asyncio.Task[None] | None = None

    def put(self, event: DriftEvent) -> None:
        if len(self.queue) >= max(1, self.notifier.queue_size):
            dropped = self.queue.popleft()
            LOG.warning("Drift notifier %s: %d event(s) already waiting, dropping the oldest "
                        "(delivery %s, %s)", self.name, len(self.queue) + 1,
                        dropped.delivery_id, dropped.label())
            self.metrics.drift_delivery(self.name, "dropped")
        self.queue.append(event)
        self.metrics.drift_delivery(self.name, "queued")
        if self.worker is None or self.worker.done():
            # A fresh context: the worker outlives the request or processing that emitted.
            self.worker = asyncio.get_running_loop().create_task(
                self._run(), name=f"drift notifier {self.name}", context=contextvars.Context())

    async def _run(self) -> None:
        while self.queue:
            self.current = self.queue.popleft()
            try:
                await self._deliver(self.current)
            finally:
                self.current = None

    async def _deliver(self, event: DriftEvent) -> None:
        with log_context.bound(event.node_uuid):
            try:
                await self.notifier.notify(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                LOG.warning("Drift notifier %s gave up delivery %s (%s): %s", self.name,
                            event.delivery_id, event.label(), exc)
                self.metrics.drift_delivery(self.name, "failed")
            else:
                self.metrics.drift_delivery(self.name, "delivered")

    def undelivered(self) -> list[DriftEvent]:
        return ([self.current] if self.current is not None else []) + list(self.queue)


class DriftDispatcher:
    """Hands drift events to the notifiers (see the module's documentation)."""

    def __init__(self, notifiers: Mapping[str, DriftNotifier], *,
                 shutdown_timeout: float = 10.0, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics()
        self.lanes = [_Lane(name, notifier, self.metrics) for name, notifier in notifiers.items()]
        self.shutdown_timeout = shutdown_timeout
        self.closed = False

    @property
    def names(self) -> list[str]:
        return [lane.name for lane in self.lanes]

    def emit(self, event: DriftEvent) -> None:
        """Queue ``event`` for every notifier; never blocks, never raises."""
        self.metrics.drift_event()
        for lane in self.lanes:
            try:
                if self.closed:
                    LOG.warning("Drift event %s (%s) arrived after shutdown began; not "
                                "delivered by %s", event.delivery_id, event.label(), lane.name)
                    continue
                lane.put(event)
            except Exception:  # emit must not fail the processing that found the drift
                LOG.exception("Drift notifier %s could not queue delivery %s", lane.name,
                              event.delivery_id)

    async def aclose(self) -> None:
        """Deliver what is queued within ``shutdown_timeout`` seconds, cancel the rest (logged),
        then close the notifiers."""
        self.closed = True
        workers = [lane.worker for lane in self.lanes
                   if lane.worker is not None and not lane.worker.done()]
        if workers and self.shutdown_timeout > 0:
            await asyncio.wait(workers, timeout=self.shutdown_timeout)
        for lane in self.lanes:
            await self._stop(lane)

    async def _stop(self, lane: _Lane) -> None:
        left = lane.undelivered()
        if lane.worker is not None and not lane.worker.done():
            lane.worker.cancel()
            await asyncio.wait([lane.worker])
        if left:
            LOG.warning("Drift notifier %s: %d event(s) not delivered at shutdown: %s",
                        lane.name, len(left),
                        "; ".join(f"delivery {e.delivery_id} ({e.label()})" for e in left))
        lane.queue.clear()
        try:
            await lane.notifier.aclose()
        except Exception:
            LOG.exception("Drift notifier %s failed to close", lane.name)
