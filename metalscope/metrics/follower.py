"""The follower's instruments (``metalscope_follower_*``), registered on an instance's
registry (:class:`~metalscope.metrics.Metrics`) by the follower that counts in them.

Label values are bounded: poll results are :data:`POLL_RESULTS`, inventory failures
:data:`INVENTORY_FAILURES`, sources the follower's few version sources.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from metalscope.metrics.registry import PREFIX

#: How a poll ended: every step done, or stopped by Ironic (no answer, 401, 403, another
#: error status) or by something else.
POLL_RESULTS = ("ok", "unreachable", "unauthorized", "forbidden", "ironic_error", "error")
#: Why an inventory was not read: Ironic keeps none (404), or another error.
INVENTORY_FAILURES = ("missing", "error")
#: Seconds from Ironic's inspection_finished_at to the stored version.
LAG_BUCKETS = (1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0,
               1800.0, 3600.0)


class FollowerMetrics:
    """Counters of the polls, the versions recorded and the failures, and the delay from
    Ironic's inspection to the stored version."""

    def __init__(self, registry: CollectorRegistry) -> None:
        name = f"{PREFIX}_follower"
        self._polls = Counter(f"{name}_polls_total",
                              "Polls of Ironic's own inspections, by result", ["result"],
                              registry=registry)
        for result in POLL_RESULTS:
            self._polls.labels(result)
        self._versions = Counter(f"{name}_versions_total",
                                 "Inventories of Ironic's inspections recorded as history "
                                 "versions, by source", ["source"], registry=registry)
        self._failures = Counter(f"{name}_inventory_failures_total",
                                 "Inventory reads that failed, by reason (missing: Ironic "
                                 "keeps none; error: another answer)", ["reason"],
                                 registry=registry)
        for reason in INVENTORY_FAILURES:
            self._failures.labels(reason)
        self._given_up = Counter(f"{name}_inventories_given_up_total",
                                 "Inspections whose inventory Ironic never served after "
                                 "every attempt", registry=registry)
        self._deleted = Counter(f"{name}_nodes_deleted_total",
                                "Nodes found deleted from Ironic and marked (history kept)",
                                registry=registry)
        self._rule_edits_refused = Counter(
            f"{name}_rule_edits_refused_total",
            "Rule edits the follower did not send to Ironic (only traits, extra and "
            "maintenance are changed)", registry=registry)
        self._lag = Histogram(f"{name}_delay_seconds",
                              "From Ironic's inspection_finished_at to the stored version",
                              buckets=LAG_BUCKETS, registry=registry)
        self._pending = Gauge(f"{name}_pending_inventories",
                              "Inventories queued and not read yet, at the end of the last "
                              "poll", registry=registry)
        self._backoff = Gauge(f"{name}_backoff_seconds",
                              "Seconds until the next poll while Ironic fails (0: polling "
                              "normally)", registry=registry)
        self._watermark = Gauge(f"{name}_watermark_timestamp_seconds",
                                "Ironic's newest inspection_finished_at queued (Unix time)",
                                registry=registry)

    def poll(self, result: str) -> None:
        self._polls.labels(result).inc()

    def version_recorded(self, source: str, delay: float) -> None:
        self._versions.labels(source).inc()
        self._lag.observe(max(delay, 0.0))

    def inventory_failed(self, reason: str) -> None:
        self._failures.labels(reason).inc()

    def inventory_given_up(self) -> None:
        self._given_up.inc()

    def nodes_deleted(self, count: int) -> None:
        self._deleted.inc(count)

    def rule_edits_refused(self, count: int) -> None:
        self._rule_edits_refused.inc(count)

    def pending(self, count: int) -> None:
        self._pending.set(count)

    def backoff(self, seconds: float) -> None:
        self._backoff.set(seconds)

    def watermark(self, unix_time: float) -> None:
        self._watermark.set(unix_time)
