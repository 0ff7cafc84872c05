"""MetalScope's own share of a callback's latency, read from its ``/metrics``.

The service accounts every ``POST /v1/continue``: the time waiting on Ironic, waiting on the
database, and the rest, its own work (``metalscope_callback_own_seconds`` and
``metalscope_callback_wait_seconds{on=...}``, see :mod:`metalscope.latency_share`). The
benchmark scrapes the histograms just before and after the processing phase; the difference
is that phase's callbacks, and nothing else (the start phase makes no callback). Upstream has
no counterpart: the figure is MetalScope's alone.

The p95 comes from the bucket counts, interpolated linearly inside the bucket it falls in
(as Prometheus' ``histogram_quantile``), so it is exact to a bucket's width: 0.5 ms up to
2 ms, 1 ms up to 5 ms, 2.5 ms up to 10 ms. The target (below 5 ms) is decided exactly,
without interpolation: 5 ms is a bucket bound, and the check is whether at least 95% of the
callbacks fell at or below it. Per-request values would need the service to hand each one
out (a response header, a log line) for no better verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

OWN = "metalscope_callback_own_seconds"
WAIT = "metalscope_callback_wait_seconds"
DURATION = "metalscope_callback_duration_seconds"
#: The finishing step after the answer (background; the ramdisk does not wait for it).
FINISH_OWN = "metalscope_finish_own_seconds"
FINISH_WAIT = "metalscope_finish_wait_seconds"
#: The target: the own share's p95 at C = 1 below this many seconds (a bucket bound).
TARGET_P95_S = 0.005
TARGET_CONCURRENCY = 1


class Snapshot:
    """The callback histograms at one instant: cumulative bucket counts and sums."""

    def __init__(self, text: str) -> None:
        self.buckets: dict[float, float] = {}
        self.sums: dict[str, float] = {}
        self.count = 0.0
        self.finishes = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == f"{OWN}_bucket":
                    self.buckets[float(sample.labels["le"])] = sample.value
                elif sample.name == f"{OWN}_count":
                    self.count = sample.value
                elif sample.name == f"{OWN}_sum":
                    self.sums["own"] = sample.value
                elif sample.name == f"{WAIT}_sum":
                    self.sums[sample.labels["on"]] = sample.value
                elif sample.name == f"{DURATION}_sum":
                    self.sums["total"] = sample.value
                elif sample.name == f"{FINISH_OWN}_count":
                    self.finishes = sample.value
                elif sample.name == f"{FINISH_OWN}_sum":
                    self.sums["finish_own"] = sample.value
                elif sample.name == f"{FINISH_WAIT}_sum":
                    self.sums[f"finish_{sample.labels['on']}"] = sample.value


def scrape(url: str) -> Snapshot:
    response = httpx.get(f"{url}/metrics", timeout=60)
    response.raise_for_status()
    return Snapshot(response.text)


def quantile(buckets: Mapping[float, float], fraction: float) -> float:
    """The ``fraction`` quantile of cumulative ``buckets`` (upper bound → count), linear
    inside its bucket; the largest finite bound if it falls in the +Inf bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return math.nan
    rank = fraction * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def share_between(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """The own share of the callbacks made between two scrapes: p50/p95 (interpolated), the
    fraction at or below the target's bound, mean seconds per callback by part, and the
    mean parts of the background finishing steps that ran in between."""
    buckets = {bound: count - before.buckets.get(bound, 0.0)
               for bound, count in after.buckets.items()}
    count = after.count - before.count
    means = {part: (after.sums.get(part, 0.0) - before.sums.get(part, 0.0)) / count
             if count else math.nan
             for part in ("own", "ironic", "database", "total")}
    finishes = after.finishes - before.finishes
    background = {part: (after.sums.get(f"finish_{part}", 0.0)
                         - before.sums.get(f"finish_{part}", 0.0)) / finishes
                  if finishes else math.nan
                  for part in ("own", "ironic", "database")}
    return {"callbacks": int(count),
            "finish_mean_s": background,
            "own_p50_s": quantile(buckets, 0.50),
            "own_p95_s": quantile(buckets, 0.95),
            "own_within_target": buckets.get(TARGET_P95_S, 0.0) / count if count else math.nan,
            "mean_s": means}


def own_share_text(runs: list[dict[str, Any]], name: str = "metalscope") -> str:
    """A row per run: the own share's p50/p95 beside the mean parts of a callback."""
    rows = []
    for run in runs:
        share = run.get(name, {}).get("own_share")
        if not share:
            continue
        means = share["mean_s"]
        rows.append(f"| N={run['nodes']} C={run['concurrency']} | {share['callbacks']} | "
                    f"{share['own_p50_s'] * 1e3:.2f} | {share['own_p95_s'] * 1e3:.2f} | "
                    f"{share['own_within_target']:.1%} | {means['own'] * 1e3:.2f} | "
                    f"{means['ironic'] * 1e3:.1f} | {means['database'] * 1e3:.2f} | "
                    f"{means['total'] * 1e3:.1f} | "
                    f"{share.get('finish_mean_s', {}).get('own', math.nan) * 1e3:.2f} |")
    if not rows:
        return ""
    head = ("MetalScope's own share of a /v1/continue (time not waiting on Ironic or the "
            "database; ms, p50/p95 interpolated from the histogram's buckets):\n"
            "| run | callbacks | own p50 | own p95 | own <= 5 ms | mean own | mean Ironic "
            "wait | mean database wait | mean total | mean own, finishing step after the "
            "answer |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    return head + "\n" + "\n".join(rows)
