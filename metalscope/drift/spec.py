"""The drift notifier contract (entry-point group ``metalscope.drift_notifiers``)."""

from __future__ import annotations

from typing import Protocol

from metalscope.drift.events import DriftEvent


class DriftNotifier(Protocol):
    """Tells something outside MetalScope about a drift event.

    An entry point of ``metalscope.drift_notifiers`` is a factory called with the
    :class:`~metalscope.settings.Settings`; it raises ConfigurationError for options it
    cannot work with. The dispatcher (:mod:`metalscope.drift.dispatcher`) calls
    :meth:`notify` for one event at a time per notifier, in a background task.
    """

    #: How many events may wait for this notifier; past it the oldest is dropped.
    queue_size: int

    async def notify(self, event: DriftEvent) -> None:
        """Deliver one event (retrying as the notifier sees fit); raise when it is given up."""

    async def aclose(self) -> None:
        """Release what the notifier holds open (connections)."""
