"""The follower as a periodic duty: a poll every ``poll_interval`` on the leader, longer
waits while Ironic fails.

Only the leader polls (``[coordination]``: with several instances on one database, the
holder of the leader lock), so instances never read the same page twice; a leader change
during a poll is safe as well: the queue and the watermark are compare-and-set, a node is
recorded under its lock and its inspection recorded once (``record.py``).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable

from metalscope.errors import IronicError
from metalscope.follower import backoff
from metalscope.follower.poll import PollConfig, Poller, PollReport
from metalscope.follower.record import InventoryRecorder
from metalscope.metrics.follower import FollowerMetrics
from metalscope.services import Services
from metalscope.storage.follower import FollowerStore

LOG = logging.getLogger(__name__)


class Follower:
    """Runs the polls of ``poller`` and spaces them out after failures."""

    def __init__(self, poller: Poller, is_leader: Callable[[], bool],
                 metrics: FollowerMetrics | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.poller = poller
        self.is_leader = is_leader
        self.metrics = metrics
        self.monotonic = monotonic
        #: Polls in a row that Ironic failed.
        self.failures = 0
        self._resume_at = 0.0

    @property
    def config(self) -> PollConfig:
        return self.poller.config

    async def run_round(self) -> PollReport | None:
        """A poll, unless this instance is not the leader or waits after failures; None
        when no poll ran. Never raises for Ironic's failures (they are logged, counted and
        waited out)."""
        if not self.is_leader() or self.monotonic() < self._resume_at:
            return None
        try:
            report = await self.poller.poll()
        except IronicError as exc:
            self._failed(backoff.poll_failure(exc) or "ironic_error", exc)
            return None
        except Exception:
            self._count("error")
            raise
        if self.failures:
            LOG.info("Following Ironic: Ironic answers again after %d failed polls",
                     self.failures)
        self.failures = 0
        self._resume_at = 0.0
        if self.metrics is not None:
            self.metrics.backoff(0)
        self._count("ok")
        if str(report):
            LOG.info("Following Ironic: %s", report)
        return report

    def _failed(self, result: str, exc: IronicError) -> None:
        self.failures += 1
        self._count(result)
        wait = backoff.delay(self.failures, self.config.poll_interval, self.config.max_backoff)
        # Rounds come every poll interval: the first round at ``wait`` or later polls.
        self._resume_at = self.monotonic() + wait - self.config.poll_interval / 2
        if self.metrics is not None:
            self.metrics.backoff(wait)
        LOG.error("%s; next poll in %.0f s", backoff.explain(result, exc), wait)

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.poll(result)


def follower_of(svc: Services, clock: Callable[[], datetime.datetime] | None = None,
                ) -> Follower:
    """The follower of ``[follower]`` over an instance's services (its metrics registered
    on the instance's registry)."""
    section = svc.settings.follower
    config = PollConfig(poll_interval=section.poll_interval, page_size=section.page_size,
                        backfill_per_poll=section.backfill_per_poll,
                        max_backoff=section.max_backoff)
    metrics = FollowerMetrics(svc.metrics.registry)
    store = FollowerStore(svc.repo.engine, on_retry=svc.repo.on_retry)
    recorder = InventoryRecorder(svc, store, metrics)
    poller = Poller(svc.ironic, store, recorder, config, metrics, clock)
    return Follower(poller, svc.coordinator.is_leader, metrics)
