"""The ``log`` drift notifier: one INFO line per event."""

from __future__ import annotations

import logging

from metalscope import log_context
from metalscope.drift.events import DriftEvent
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)


class LogNotifier:
    queue_size = 10000

    async def notify(self, event: DriftEvent) -> None:
        with log_context.bound(event.node_uuid):
            LOG.info("Hardware drift on %s: %s", event.label(), event.summary)

    async def aclose(self) -> None:
        return None


def log_notifier(settings: Settings) -> LogNotifier:
    return LogNotifier()
