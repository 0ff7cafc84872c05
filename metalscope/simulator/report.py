"""What ``metalscope simulate-ramdisk`` prints: a line per node and a summary of the run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from metalscope.simulator.inventory import SimulatedNode
from metalscope.simulator.poster import PostResult


def format_result(node: SimulatedNode, result: PostResult) -> str:
    """One output line: node name, HTTP status (``-`` if none) and UUID or error message."""
    status = str(result.status) if result.status is not None else "-"
    outcome = result.uuid if result.ok else result.error
    return f"{node.name}\t{status}\t{outcome or ''}"


def summary(results: Sequence[PostResult]) -> str:
    """A one-line count of successes and failures with latency percentiles."""
    accepted = sum(result.ok for result in results)
    latencies = sorted(result.latency * 1000 for result in results)
    if len(latencies) > 1:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
    else:
        p50 = p95 = latencies[0]
    return (f"{len(results)} posted, {accepted} accepted, {len(results) - accepted} failed;"
            f" latency ms p50 {p50:.1f} p95 {p95:.1f} max {latencies[-1]:.1f}")
