"""Figures of one run, the side-by-side tables and the issue's targets (ratios to upstream,
and MetalScope's own share of a callback, which has no upstream counterpart)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import own_share
from workload import ProcessingPhase, StartPhase

METALSCOPE, UPSTREAM = "metalscope", "upstream"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    digits: int = 2


METRICS = (
    Metric("start_nodes_per_s", "start-introspection throughput", "nodes/s", True, 1),
    Metric("continue_p50_s", "/v1/continue latency p50", "s", False, 3),
    Metric("continue_p95_s", "/v1/continue latency p95", "s", False, 3),
    Metric("end_to_end_nodes_per_s", "end-to-end processing throughput", "nodes/s", True, 1),
    Metric("inspector_cpu_s_per_node", "inspector CPU per node (processing)", "CPU-s", False, 4),
    Metric("inspector_cpu_s_per_node_total", "inspector CPU per node, start + processing",
           "CPU-s", False, 4),
    Metric("ironic_cpu_s_per_node", "Ironic CPU per node (processing)", "CPU-s", False, 4),
    Metric("ironic_calls_per_node_processing", "Ironic API calls per node, processing",
           "calls", False, 2),
    Metric("ironic_calls_per_node", "Ironic API calls per node, start + processing", "calls",
           False, 2),
    Metric("peak_rss_mib", "inspector peak RSS (all N in flight)", "MiB", False, 1),
    Metric("list_latency_s", "GET /v1/introspection?limit=1000, new connection", "s", False, 3),
)
RATIO_LEGEND = ("ratio = how many times better MetalScope is: MetalScope/upstream for "
                "throughputs, upstream/MetalScope for latencies, costs and memory")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.95 for p95)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def figures(nodes: int, start: StartPhase, processing: ProcessingPhase, peak_rss: int,
            list_seconds: float) -> dict[str, Any]:
    """Every figure of one inspector's run, as written to the JSON file."""
    latencies = [r.latency for r in processing.results]
    start_calls = start.costs.ironic_calls.get("total", 0)
    processing_calls = processing.costs.ironic_calls.get("total", 0)
    return {
        "start_nodes_per_s": nodes / start.seconds,
        "continue_p50_s": percentile(latencies, 0.50),
        "continue_p95_s": percentile(latencies, 0.95),
        "end_to_end_nodes_per_s": nodes / processing.seconds,
        "inspector_cpu_s_per_node": processing.costs.inspector_cpu / nodes,
        "inspector_cpu_s_per_node_total": (start.costs.inspector_cpu
                                           + processing.costs.inspector_cpu) / nodes,
        "ironic_cpu_s_per_node": processing.costs.ironic_cpu / nodes,
        "ironic_calls_per_node_processing": processing_calls / nodes,
        "ironic_calls_per_node": (start_calls + processing_calls) / nodes,
        "peak_rss_mib": peak_rss / 2**20,
        "list_latency_s": list_seconds,
        "details": _details(nodes, start, processing),
    }


def _details(nodes: int, start: StartPhase, processing: ProcessingPhase) -> dict[str, Any]:
    errors = [s["error"] for s in processing.final if s["error"]]
    failed_posts = [r for r in processing.results if not r.ok]
    return {
        "start_seconds": start.seconds,
        "start_request_p50_s": percentile(start.latencies, 0.50),
        "start_inspector_cpu_s_per_node": start.costs.inspector_cpu / nodes,
        "start_ironic_cpu_s_per_node": start.costs.ironic_cpu / nodes,
        "start_ironic_calls": start.costs.ironic_calls,
        "processing_seconds": processing.seconds,
        "inspector_system_cpu_s_per_node": processing.costs.inspector_system_cpu / nodes,
        "processing_ironic_calls": processing.costs.ironic_calls,
        "continue_retried": sum(1 for r in processing.results if r.attempts > 1),
        "continue_failed": len(failed_posts),
        "continue_failures_sample": [f"{r.status}: {r.error}" for r in failed_posts[:3]],
        "finished_with_error": len(errors),
        "unfinished": sum(1 for s in processing.final if not s["finished"]),
        "errors_sample": errors[:3],
    }


def ratio(metric: Metric, metalscope: float, upstream: float) -> float:
    better, worse = (metalscope, upstream) if metric.higher_is_better else (upstream, metalscope)
    return better / worse if worse else math.inf


def table(nodes: int, concurrency: int, results: dict[str, dict[str, Any]]) -> str:
    """One (N, C) run: a row per metric, both inspectors and the ratio."""
    head = f"N = {nodes}, concurrency = {concurrency}"
    rows = [("metric", "unit", "MetalScope", "upstream", "ratio")]
    for metric in METRICS:
        ms = results[METALSCOPE].get(metric.key, math.nan)  # older files lack newer figures
        up = results[UPSTREAM].get(metric.key, math.nan)
        rows.append((metric.label, metric.unit, f"{ms:.{metric.digits}f}",
                     f"{up:.{metric.digits}f}", f"{ratio(metric, ms, up):.2f}x"))
    return head + "\n" + _render(rows) + _problems(results)


def _problems(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name in (METALSCOPE, UPSTREAM):
        details = results[name]["details"]
        if details["continue_failed"] or details["finished_with_error"] or details["unfinished"]:
            lines.append(f"  ! {name}: {details['continue_failed']} callbacks failed, "
                         f"{details['finished_with_error']} introspections ended in error, "
                         f"{details['unfinished']} did not finish "
                         f"{details['errors_sample'] or details['continue_failures_sample']}")
    return "".join("\n" + line for line in lines)


def _render(rows: Sequence[Sequence[str]], text_columns: int = 2) -> str:
    """A Markdown table: the first ``text_columns`` left-aligned, the figures right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:text_columns], widths[:text_columns],
                                                          strict=True)]
        cells += [cell.rjust(width) for cell, width in
                  zip(row[text_columns:], widths[text_columns:], strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths[:text_columns])
                         + "|" + "|".join("-" * (w + 1) + ":" for w in widths[text_columns:])
                         + "|")
    return "\n".join(lines)


def ratio_summary(runs: Sequence[dict[str, Any]]) -> str:
    """Every run's ratios side by side: a row per metric, a column per (N, C)."""
    rows = [("ratio (times better)", *(f"N={r['nodes']} C={r['concurrency']}" for r in runs))]
    rows += [(m.label, *(f"{r['ratios'].get(m.key, math.nan):.2f}x" for r in runs))
             for m in METRICS]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join([row[0].ljust(widths[0])] + [
                 c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]) + " |"
             for row in rows]
    lines.insert(1, "|" + "-" * (widths[0] + 2) + "|"
                 + "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|")
    return "\n".join(lines)


def side_by_side(runs: Sequence[dict[str, Any]]) -> str:
    """Every run in one table: a row per metric, a column per (N, C), cells
    ``MetalScope / upstream (ratio)``; the README's form."""
    rows = [("MetalScope / upstream (times better)", "unit",
             *(f"N={r['nodes']} C={r['concurrency']}" for r in runs))]
    for metric in METRICS:
        cells = []
        for run in runs:
            ms = run[METALSCOPE].get(metric.key, math.nan)
            up = run[UPSTREAM].get(metric.key, math.nan)
            cells.append(f"{ms:.{metric.digits}f} / {up:.{metric.digits}f} "
                         f"({run['ratios'].get(metric.key, math.nan):.1f}x)")
        rows.append((metric.label, metric.unit, *cells))
    return _render(rows)


# -- targets ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A ratio MetalScope must reach, in the runs ``applies`` selects."""

    description: str
    metric: str
    needed: float  # the "× better" ratio required
    strict: bool = False  # True: the ratio must exceed ``needed``
    only_concurrency: int | None = None
    only_largest_nodes: bool = False


TARGETS = (
    Target("inspector CPU per node at most 1/4 of upstream's", "inspector_cpu_s_per_node", 4.0),
    Target("the same, start and processing together", "inspector_cpu_s_per_node_total", 4.0),
    Target("Ironic API calls per node in processing at most 1/2 of upstream's",
           "ironic_calls_per_node_processing", 2.0),
    Target("end-to-end nodes/s at least 2x upstream's", "end_to_end_nodes_per_s", 2.0),
    Target("peak RSS with the most introspections in flight below upstream's", "peak_rss_mib",
           1.0, strict=True, only_largest_nodes=True),
)


def _applies(target: Target, run: dict[str, Any], largest: int) -> bool:
    if target.only_concurrency is not None and run["concurrency"] != target.only_concurrency:
        return False
    return not target.only_largest_nodes or run["nodes"] == largest


def check_targets(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with its ratio in every run it applies to, and PASS/MISS (n/a: no run)."""
    by_key = {m.key: m for m in METRICS}
    largest = max((run["nodes"] for run in runs), default=0)
    checked = []
    for target in TARGETS:
        ratios = {f"N={run['nodes']} C={run['concurrency']}": run["ratios"][target.metric]
                  for run in runs
                  if _applies(target, run, largest) and target.metric in run["ratios"]}
        passed = [r > target.needed if target.strict else r >= target.needed
                  for r in ratios.values()]
        verdict = "n/a" if not ratios else "PASS" if all(passed) else "MISS"
        checked.append({"target": target.description, "metric": by_key[target.metric].label,
                        "needed_ratio": target.needed, "ratios": ratios, "verdict": verdict})
    checked.append(own_share_target(runs))
    return checked


def own_share_target(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """MetalScope's own share of a callback (no upstream counterpart, so no ratio): its p95
    below 5 ms at C = 1, decided on the bucket bound (at least 95% of the callbacks at or
    below 5 ms; see ``own_share``)."""
    shares = {f"N={run['nodes']} C={run['concurrency']}": run[METALSCOPE]["own_share"]
              for run in runs if run["concurrency"] == own_share.TARGET_CONCURRENCY
              and run.get(METALSCOPE, {}).get("own_share")}
    passed = [share["own_within_target"] >= 0.95 for share in shares.values()]
    return {"target": f"MetalScope's own share of a /v1/continue, p95 below "
                      f"{own_share.TARGET_P95_S * 1e3:g} ms at concurrency "
                      f"{own_share.TARGET_CONCURRENCY}",
            "metric": "own share p95 (s)", "needed_s": own_share.TARGET_P95_S,
            "values": {where: share["own_p95_s"] for where, share in shares.items()},
            "verdict": "n/a" if not shares else "PASS" if all(passed) else "MISS"}


def targets_text(checked: Sequence[dict[str, Any]]) -> str:
    lines = ["Targets (ratio = times better than upstream, in the same run):"]
    for item in checked:
        if "needed_s" in item:  # an absolute figure of MetalScope's, not a ratio
            values = ", ".join(f"{where} {value * 1e3:.2f} ms"
                               for where, value in item["values"].items())
            lines.append(f"  {item['verdict']:4}  {item['target']}: "
                         f"{values or 'no matching run'}")
            continue
        values = ", ".join(f"{where} {value:.2f}x" for where, value in item["ratios"].items())
        lines.append(f"  {item['verdict']:4}  {item['target']} (need {item['needed_ratio']:g}x): "
                     f"{values or 'no matching run'}")
    return "\n".join(lines)


def closed_loop_text(runs: Sequence[dict[str, Any]], concurrency: int = 64) -> str:
    """Why the latency ratio at a high concurrency follows the throughput ratio.

    The ramdisks form a closed loop: C callbacks are always in flight, so the mean latency is
    C divided by the throughput (Little's law) and the latency ratio can only follow the
    throughput ratio. The throughput is Ironic's: the share of Ironic's CPU each node costs
    bounds it, and that ratio is printed beside the other two.
    """
    keys = ("ironic_cpu_s_per_node", "end_to_end_nodes_per_s", "continue_p50_s",
            "continue_p95_s")
    labels = {m.key: m.label for m in METRICS}
    chosen = [run for run in runs if run["concurrency"] == concurrency]
    if not chosen:
        return ""
    rows = [("ratio (times better)", *(f"N={r['nodes']} C={r['concurrency']}" for r in chosen))]
    rows += [(labels[key], *(f"{r['ratios'].get(key, math.nan):.2f}x" for r in chosen))
             for key in keys]
    return (f"At C = {concurrency} the callbacks form a closed loop: mean latency = "
            f"{concurrency} / throughput,\nso the latency ratio follows the throughput ratio, "
            "which the Ironic CPU each node costs bounds:\n" + _render(rows, text_columns=1))
