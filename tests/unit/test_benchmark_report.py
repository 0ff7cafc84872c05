"""The side-by-side benchmark's own parts: Ironic call counting, percentiles, ratios,
targets."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from ironic_calls import call_name, count_calls
from report import METRICS, check_targets, closed_loop_text, percentile, ratio
from workload import last_finished

UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
BY_KEY = {metric.key: metric for metric in METRICS}


@pytest.mark.parametrize(("method", "target", "name"), [
    ("GET", f"/v1/nodes/{UUID}", "GET /v1/nodes/{uuid}"),
    ("GET", f"/v1/ports/detail?node={UUID}&limit=10", "GET /v1/ports/detail?limit&node"),
    ("GET", "/v1/ports?address=52%3A54%3A00%3Aab%3Acd%3Aef", "GET /v1/ports?address"),
    ("PUT", f"/v1/nodes/{UUID}/traits/CUSTOM_X", "PUT /v1/nodes/{uuid}/traits/CUSTOM_X"),
])
def test_call_names_erase_identifiers(method: str, target: str, name: str) -> None:
    assert call_name(method, target) == name


def test_calls_counted_from_ironics_request_log() -> None:
    log = (b"2026-11-29 06:00:26.655 31592 INFO ironic.api [None req-1 - - - - - -] 127.0.0.1 - "
           b"GET /v1/ports/detail?node=" + UUID.encode() + b" - 200 (42.45ms)\n"
           b"2026-11-29 06:00:26.700 31592 INFO ironic.conductor.manager [-] Node updated\n"
           b"2026-11-29 06:00:26.701 31592 INFO ironic.api [None req-2 - - - - - -] 127.0.0.1 - "
           b"PATCH /v1/nodes/" + UUID.encode() + b" - 200 (80.01ms)\n")
    assert count_calls(log) == {"total": 2, "by_call": {"GET /v1/ports/detail?node": 1,
                                                        "PATCH /v1/nodes/{uuid}": 1}}


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert math.isnan(percentile([], 0.5))


def test_ratio_is_times_better_either_way() -> None:
    assert ratio(BY_KEY["end_to_end_nodes_per_s"], 12.0, 4.0) == 3.0
    assert ratio(BY_KEY["continue_p95_s"], 2.0, 10.0) == 5.0
    assert ratio(BY_KEY["continue_p95_s"], 0.0, 1.0) == math.inf


def run(nodes: int, concurrency: int, **ratios: float) -> dict[str, object]:
    return {"nodes": nodes, "concurrency": concurrency, "ratios": ratios}


def test_targets_apply_to_their_runs_only() -> None:
    runs = [run(200, 16, continue_p95_s=2.0, peak_rss_mib=0.9),
            run(1000, 64, continue_p95_s=6.0, peak_rss_mib=1.1)]
    verdicts = {t["metric"]: t for t in check_targets(runs)}
    p95 = verdicts[BY_KEY["continue_p95_s"].label]
    assert p95["verdict"] == "PASS" and list(p95["ratios"]) == ["N=1000 C=64"]
    rss = verdicts[BY_KEY["peak_rss_mib"].label]
    assert rss["verdict"] == "PASS" and list(rss["ratios"]) == ["N=1000 C=64"]
    assert verdicts[BY_KEY["inspector_cpu_s_per_node"].label]["verdict"] == "n/a"


def test_last_finished_reads_both_timestamp_styles() -> None:
    final = [{"finished_at": "2026-01-01T00:00:01"},  # upstream: naive UTC
             {"finished_at": "2026-01-01T00:00:03.500000+00:00"}]
    assert last_finished(final) == 1767225603.5
    assert last_finished([*final, {"finished_at": None}]) is None


def test_closed_loop_table_sets_the_latency_ratio_beside_ironic_cost() -> None:
    runs = [run(200, 16, continue_p95_s=2.8),
            run(200, 64, ironic_cpu_s_per_node=3.5, end_to_end_nodes_per_s=3.6,
                continue_p50_s=3.3, continue_p95_s=3.4)]
    text = closed_loop_text(runs)
    assert "N=200 C=64" in text and "N=200 C=16" not in text
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if "|" in line}
    assert "3.50x" in lines[BY_KEY["ironic_cpu_s_per_node"].label]
    assert "3.40x" in lines[BY_KEY["continue_p95_s"].label]
    assert closed_loop_text([run(200, 16)]) == ""
