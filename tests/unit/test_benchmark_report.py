"""The side-by-side benchmark's own parts: Ironic call counting, percentiles, ratios,
targets."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from ironic_calls import call_name, count_calls
from own_share import Snapshot, own_share_text, quantile, share_between
from report import METRICS, check_targets, closed_loop_text, percentile, ratio, targets_text
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
    # The end-to-end p95 is information only: the ratio has no target any more.
    assert BY_KEY["continue_p95_s"].label not in verdicts
    rss = verdicts[BY_KEY["peak_rss_mib"].label]
    assert rss["verdict"] == "PASS" and list(rss["ratios"]) == ["N=1000 C=64"]
    assert verdicts[BY_KEY["inspector_cpu_s_per_node"].label]["verdict"] == "n/a"
    assert verdicts["own share p95 (s)"]["verdict"] == "n/a"  # no run at C = 1


def with_share(nodes: int, concurrency: int, within: float, p95: float) -> dict[str, object]:
    share = {"callbacks": 10, "own_p50_s": p95 / 2, "own_p95_s": p95,
             "own_within_target": within,
             "mean_s": {"own": p95 / 2, "ironic": 0.1, "database": 0.001, "total": 0.2}}
    return {**run(nodes, concurrency), "metalscope": {"own_share": share}}


def test_own_share_target_at_concurrency_one_only() -> None:
    runs = [with_share(200, 1, within=0.96, p95=0.0049), with_share(200, 64, 0.2, 0.03)]
    [target] = [t for t in check_targets(runs) if "needed_s" in t]
    assert target["verdict"] == "PASS" and list(target["values"]) == ["N=200 C=1"]
    runs = [with_share(200, 1, within=0.94, p95=0.0051)]
    [target] = [t for t in check_targets(runs) if "needed_s" in t]
    assert target["verdict"] == "MISS"
    assert "N=200 C=1 5.10 ms" in targets_text(check_targets(runs))
    assert "| N=200 C=1 | 10 |" in own_share_text(runs)


def test_quantile_from_histogram_buckets() -> None:
    buckets = {0.001: 10.0, 0.002: 50.0, 0.005: 90.0, 0.01: 100.0, math.inf: 100.0}
    assert quantile(buckets, 0.5) == pytest.approx(0.002)
    assert quantile(buckets, 0.95) == pytest.approx(0.0075)  # halfway through (5, 10] ms
    assert quantile(buckets, 0.05) == pytest.approx(0.0005)
    assert quantile({0.001: 0.0, math.inf: 2.0}, 0.95) == 0.001  # beyond the last bound
    assert math.isnan(quantile({0.001: 0.0, math.inf: 0.0}, 0.95))


def test_share_between_two_scrapes_counts_only_the_calls_in_between() -> None:
    def text(own: list[float], count: int, sums: dict[str, float]) -> str:
        bounds = ["0.001", "0.005", "+Inf"]
        lines = ["# TYPE metalscope_callback_own_seconds histogram"]
        lines += [f'metalscope_callback_own_seconds_bucket{{le="{b}"}} {c}'
                  for b, c in zip(bounds, own, strict=True)]
        lines += [f"metalscope_callback_own_seconds_count {count}",
                  f"metalscope_callback_own_seconds_sum {sums['own']}",
                  "# TYPE metalscope_callback_wait_seconds histogram",
                  f'metalscope_callback_wait_seconds_sum{{on="ironic"}} {sums["ironic"]}',
                  f'metalscope_callback_wait_seconds_sum{{on="database"}} {sums["database"]}',
                  "# TYPE metalscope_callback_duration_seconds histogram",
                  f"metalscope_callback_duration_seconds_sum {sums['total']}"]
        return "\n".join(lines) + "\n"

    before = Snapshot(text([5, 5, 5], 5, {"own": 1, "ironic": 1, "database": 1, "total": 3}))
    after = Snapshot(text([8, 13, 15], 15, {"own": 2, "ironic": 11, "database": 1.5,
                                            "total": 14.5}))
    share = share_between(before, after)
    assert share["callbacks"] == 10
    assert share["own_within_target"] == pytest.approx(0.8)
    assert share["mean_s"] == pytest.approx({"own": 0.1, "ironic": 1.0, "database": 0.05,
                                             "total": 1.15})


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
