"""The drift notifiers named by ``[drift]notifiers``, built from the entry-point group
``metalscope.drift_notifiers`` (built-ins: ``log``, :mod:`~metalscope.drift.log_notifier`;
``webhook``, :mod:`~metalscope.drift.webhook`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from metalscope.drift.dispatcher import DriftDispatcher
from metalscope.drift.spec import DriftNotifier
from metalscope.metrics import Metrics
from metalscope.plugin_group import PluginGroup
from metalscope.settings import Settings


def _unknown(name: str, available: Sequence[str]) -> str:
    return (f"[drift]notifiers names {name}, which is not a drift notifier; available: "
            f"{', '.join(available) or 'none'}")


DRIFT_NOTIFIERS: PluginGroup[DriftNotifier] = PluginGroup(
    "metalscope.drift_notifiers", "Drift notifier", DriftNotifier, _unknown)


def create_notifiers(settings: Settings) -> dict[str, DriftNotifier]:
    """Every notifier ``[drift]notifiers`` names, once each, in its order. (When one
    fails to build, those built before it have opened nothing yet: nothing to close.)"""
    names = dict.fromkeys(name.strip() for name in settings.drift.notifiers if name.strip())
    return {name: DRIFT_NOTIFIERS.create(name, settings) for name in names}


def check_drift_settings(settings: Settings) -> None:
    """Refuse, before anything starts, a notifier that is not installed or whose options
    cannot work (webhook without URL or secret...); what was built is closed again."""
    for notifier in create_notifiers(settings).values():
        asyncio.run(notifier.aclose())


def create_dispatcher(settings: Settings, metrics: Metrics | None = None) -> DriftDispatcher:
    """The dispatcher over the notifiers ``[drift]notifiers`` names, counting in ``metrics``."""
    return DriftDispatcher(create_notifiers(settings),
                           shutdown_timeout=settings.drift.shutdown_timeout, metrics=metrics)
