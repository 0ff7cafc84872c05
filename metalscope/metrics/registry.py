"""The instruments of one MetalScope instance, each behind a method named for the event.

Label values are bounded: failure reasons are :class:`FailureReason` classes, Ironic calls
a fixed set of names (``ironic_client.call_name``), status classes ``2xx``..``5xx`` or
``unreachable``, rules their UUID (as many as there are rules), drift notifiers the names
of ``[drift]notifiers``, states those of the state machine.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from metalscope import __version__, latency_share
from metalscope.metrics.reasons import FailureReason
from metalscope.state_machine import State

PREFIX = "metalscope"
#: Seconds: a callback takes tens of milliseconds, a slow Ironic or large body seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Seconds: the inspector's own share of a callback is a few milliseconds, its waits more.
SHARE_BUCKETS = (0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015,
                 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Seconds: a full PXE filter sync lists every Ironic port.
SYNC_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


#: The results of an out-of-band collection (the label of its counter).
OUT_OF_BAND_RESULTS = ("success", "failed", "timeout", "aborted")


class RuleLike(Protocol):
    @property
    def uuid(self) -> str: ...


def status_class(status: int | None) -> str:
    """``2xx``..``5xx`` for an answer, ``unreachable`` when none came."""
    return "unreachable" if status is None else f"{status // 100}xx"


class _StateCounts:
    """The ``metalscope_introspections`` gauge, from the counts the scrape read (set only
    while :func:`~metalscope.metrics.render` writes the text)."""

    def __init__(self) -> None:
        self.counts: Mapping[str, int] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.counts is None:
            return
        family = GaugeMetricFamily(
            f"{PREFIX}_introspections",
            "Introspection status records by state, read from the shared database at "
            "scrape time (the same on every instance)", labels=["state"])
        known = [state.value for state in State]
        for state in [*known, *sorted(set(self.counts) - set(known))]:
            family.add_metric([state], self.counts.get(state, 0))
        yield family


class Metrics:
    """Counters, gauges and histograms of one instance, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.states = _StateCounts()
        self.registry.register(self.states)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._build()
        self._introspection()
        self._ironic()
        self._pxe_filter()
        self._drift()

    def _build(self) -> None:
        info = Info(f"{PREFIX}_build", "The MetalScope version and the Python running it",
                    registry=self.registry)
        info.info({"version": __version__, "python": platform.python_version(),
                   "implementation": platform.python_implementation()})

    def _introspection(self) -> None:
        r = self.registry
        self._started = Counter(f"{PREFIX}_introspections_started_total",
                                "Introspections started (accepted starts)", registry=r)
        self._finished = Counter(f"{PREFIX}_introspections_finished_total",
                                 "Introspections and reapplies that ended in finished",
                                 registry=r)
        self._failed = Counter(f"{PREFIX}_introspections_failed_total",
                               "Introspections and reapplies that ended in error, by reason "
                               "class", ["reason"], registry=r)
        for reason in FailureReason:
            self._failed.labels(reason.value)
        self._callback = Histogram(f"{PREFIX}_callback_duration_seconds",
                                   "Ramdisk callbacks (POST /v1/continue), from the request to "
                                   "its answer", buckets=REQUEST_BUCKETS, registry=r)
        self._callback_own, self._callback_wait = self._share_histograms(
            "callback", "Ramdisk callbacks")
        self._finish_own, self._finish_wait = self._share_histograms(
            "finish", "Finishing steps run in the background after a callback's answer "
            "(summary, version, the move to finished, PXE filter)")
        self._processing = Histogram(f"{PREFIX}_processing_duration_seconds",
                                     "Processing of ramdisk data (hooks, stored data, rules and "
                                     "the Ironic update) for callbacks and reapplies",
                                     buckets=REQUEST_BUCKETS, registry=r)
        self._rules = Counter(f"{PREFIX}_rule_matches_total",
                              "Processings in which the rule matched (and its actions ran)",
                              ["rule"], registry=r)
        self._out_of_band = Counter(f"{PREFIX}_out_of_band_collections_total",
                                    "Out-of-band collections from a BMC over Redfish, by "
                                    "result (success, failed, timeout, aborted)", ["result"],
                                    registry=r)
        for result in OUT_OF_BAND_RESULTS:
            self._out_of_band.labels(result)
        self._out_of_band_time = Histogram(f"{PREFIX}_out_of_band_collection_duration_seconds",
                                           "Out-of-band collections from a BMC, from the slot "
                                           "taken to the data read", buckets=SYNC_BUCKETS,
                                           registry=r)
        self._retries = Counter(f"{PREFIX}_database_transaction_retries_total",
                                "Database transactions run again after the database shed them "
                                "(deadlock, serialisation failure, locked SQLite file)",
                                registry=r)

    def _share_histograms(self, name: str, what: str) -> tuple[Histogram, Histogram]:
        """The own-share and wait histograms of one kind of work (see ``latency_share``)."""
        own = Histogram(f"{PREFIX}_{name}_own_seconds",
                        f"{what}: the part of their duration not spent waiting on Ironic or "
                        "the database (the inspector's own work)", buckets=SHARE_BUCKETS,
                        registry=self.registry)
        wait = Histogram(f"{PREFIX}_{name}_wait_seconds",
                         f"{what}: time spent waiting on Ironic (requests, retries and their "
                         "back-off), on the database (connections, statements, commits) or, "
                         "for background work, for the requests running to wait",
                         ["on"], buckets=SHARE_BUCKETS, registry=self.registry)
        for kind in latency_share.KINDS:
            wait.labels(kind)
        return own, wait

    def _ironic(self) -> None:
        self._ironic_latency = Histogram(f"{PREFIX}_ironic_request_duration_seconds",
                                         "Requests to the Ironic API, by call (every attempt)",
                                         ["call"], buckets=REQUEST_BUCKETS,
                                         registry=self.registry)
        self._ironic_errors = Counter(f"{PREFIX}_ironic_request_errors_total",
                                      "Requests to Ironic answered with an error status or not "
                                      "answered, by call and status class",
                                      ["call", "status"], registry=self.registry)

    def _pxe_filter(self) -> None:
        self._pxe_sync = Histogram(f"{PREFIX}_pxe_filter_sync_duration_seconds",
                                   "Full PXE filter syncs (Ironic's ports listed, the "
                                   "difference applied)", buckets=SYNC_BUCKETS,
                                   registry=self.registry)
        self._pxe_macs = Gauge(f"{PREFIX}_pxe_filter_macs",
                               "Ironic MACs by the PXE filter's verdict at the last full sync",
                               ["verdict"], registry=self.registry)

    def _drift(self) -> None:
        self._drift_emitted = Counter(f"{PREFIX}_drift_events_total",
                                      "Hardware drift events found", registry=self.registry)
        self._drift_deliveries = Counter(f"{PREFIX}_drift_deliveries_total",
                                         "Drift event deliveries by notifier and result "
                                         "(queued, delivered, failed, dropped)",
                                         ["notifier", "result"], registry=self.registry)

    # -- introspections ---------------------------------------------------------------------
    def introspection_started(self) -> None:
        self._started.inc()

    def introspection_finished(self) -> None:
        self._finished.inc()

    def introspection_failed(self, reason: FailureReason) -> None:
        self._failed.labels(reason.value).inc()

    def callback_timer(self, listener: latency_share.Listener | None = None,
                       ) -> AbstractContextManager[latency_share.Share]:
        """Times a ramdisk callback (``with metrics.callback_timer(): ...``) and accounts
        its latency share: one observation each of its duration, own share and waits;
        ``listener`` (the instance's foreground) follows when it runs."""
        return latency_share.accounted(self.callback_observed, listener)

    def callback_observed(self, share: latency_share.Share) -> None:
        """A callback ended: its total, own share and waits (own + waits = total)."""
        self._callback.observe(share.total)
        self._callback_own.observe(share.own)
        for kind, seconds in share.waits().items():
            self._callback_wait.labels(kind).observe(seconds)

    def finish_timer(self) -> AbstractContextManager[latency_share.Share]:
        """Accounts a background finishing step as :meth:`callback_timer` does a callback."""
        return latency_share.accounted(self.finish_observed)

    def finish_observed(self, share: latency_share.Share) -> None:
        self._finish_own.observe(share.own)
        for kind, seconds in share.waits().items():
            self._finish_wait.labels(kind).observe(seconds)

    def processing_timer(self) -> AbstractContextManager[object]:
        return self._processing.time()

    def rules_matched(self, rules: Iterable[RuleLike]) -> None:
        for rule in rules:
            self._rules.labels(rule.uuid).inc()

    def out_of_band_collection(self, result: str, seconds: float | None = None) -> None:
        """One out-of-band collection ended with ``result`` (one of ``OUT_OF_BAND_RESULTS``)
        after ``seconds`` (None when it never ran to an end)."""
        self._out_of_band.labels(result).inc()
        if seconds is not None:
            self._out_of_band_time.observe(seconds)

    def transaction_retried(self) -> None:
        self._retries.inc()

    # -- Ironic -----------------------------------------------------------------------------
    def ironic_request(self, call: str, seconds: float, status: int | None) -> None:
        """One request to Ironic: its latency, and an error when the answer is not 2xx/3xx."""
        self._ironic_latency.labels(call).observe(seconds)
        if status is None or status >= 400:
            self._ironic_errors.labels(call, status_class(status)).inc()

    # -- PXE filter -------------------------------------------------------------------------
    def pxe_filter_sync_timer(self) -> AbstractContextManager[object]:
        return self._pxe_sync.time()

    def pxe_filter_macs(self, allowed: int, denied: int) -> None:
        self._pxe_macs.labels("allow").set(allowed)
        self._pxe_macs.labels("deny").set(denied)

    # -- drift ------------------------------------------------------------------------------
    def drift_event(self) -> None:
        self._drift_emitted.inc()

    def drift_delivery(self, notifier: str, result: str) -> None:
        self._drift_deliveries.labels(notifier, result).inc()
