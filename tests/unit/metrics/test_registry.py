"""Metrics: each method moves its instrument, the exposition parses as Prometheus text."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metalscope import __version__
from metalscope.errors import HookError, IronicError, MetalScopeError, RuleActionError
from metalscope.metrics import FailureReason, Metrics, failure_reason, render
from metalscope.metrics.registry import status_class
from metalscope.rules.engine import RuleTimeout


@dataclass(frozen=True)
class FakeRule:
    uuid: str


def samples(metrics: Metrics, states: dict[str, int] | None = None,
            ) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render(metrics, states)[0].decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


def test_introspection_counters() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.introspection_started()
    metrics.introspection_finished()
    metrics.introspection_failed(FailureReason.RULE)
    metrics.introspection_failed(FailureReason.RULE)
    metrics.introspection_failed(FailureReason.TIMEOUT)
    assert value(metrics, "metalscope_introspections_started_total") == 3
    assert value(metrics, "metalscope_introspections_finished_total") == 1
    assert value(metrics, "metalscope_introspections_failed_total", reason="rule") == 2
    assert value(metrics, "metalscope_introspections_failed_total", reason="timeout") == 1
    # Every reason class is exported from the start (a rate() needs the zero).
    assert value(metrics, "metalscope_introspections_failed_total", reason="aborted") == 0
    assert ("metalscope_introspections_failed_total", (("reason", "other"),)) in samples(metrics)


def test_histograms_count_their_observations() -> None:
    metrics = Metrics()
    with metrics.callback_timer():
        pass
    with metrics.processing_timer(), metrics.pxe_filter_sync_timer():
        pass
    assert value(metrics, "metalscope_callback_duration_seconds_count") == 1
    assert value(metrics, "metalscope_processing_duration_seconds_count") == 1
    assert value(metrics, "metalscope_pxe_filter_sync_duration_seconds_count") == 1


def test_ironic_requests_by_call_and_status_class() -> None:
    metrics = Metrics()
    metrics.ironic_request("get_node", 0.02, 200)
    metrics.ironic_request("get_node", 0.01, 404)
    metrics.ironic_request("patch_node", 1.5, 409)
    metrics.ironic_request("patch_node", 10.0, None)
    assert value(metrics, "metalscope_ironic_request_duration_seconds_count", call="get_node") == 2
    assert value(metrics, "metalscope_ironic_request_duration_seconds_sum",
                 call="patch_node") == pytest.approx(11.5)
    assert value(metrics, "metalscope_ironic_request_errors_total", call="get_node",
                 status="4xx") == 1
    assert value(metrics, "metalscope_ironic_request_errors_total", call="patch_node",
                 status="unreachable") == 1
    assert [status_class(s) for s in (200, 503, None)] == ["2xx", "5xx", "unreachable"]


def test_rules_pxe_drift_retries() -> None:
    metrics = Metrics()
    metrics.rules_matched([FakeRule("r1"), FakeRule("r2")])
    metrics.rules_matched([FakeRule("r1")])
    metrics.pxe_filter_macs(3, 40)
    metrics.drift_event()
    metrics.drift_delivery("webhook", "queued")
    metrics.drift_delivery("webhook", "failed")
    metrics.transaction_retried()
    assert value(metrics, "metalscope_rule_matches_total", rule="r1") == 2
    assert value(metrics, "metalscope_rule_matches_total", rule="r2") == 1
    assert value(metrics, "metalscope_pxe_filter_macs", verdict="allow") == 3
    assert value(metrics, "metalscope_pxe_filter_macs", verdict="deny") == 40
    assert value(metrics, "metalscope_drift_events_total") == 1
    assert value(metrics, "metalscope_drift_deliveries_total", notifier="webhook",
                 result="failed") == 1
    assert value(metrics, "metalscope_database_transaction_retries_total") == 1


def test_state_gauge_only_with_the_counts_of_the_scrape() -> None:
    metrics = Metrics()
    with_states = samples(metrics, {"waiting": 2, "finished": 5})
    assert with_states[("metalscope_introspections", (("state", "waiting"),))] == 2
    assert with_states[("metalscope_introspections", (("state", "error"),))] == 0
    assert not any(name == "metalscope_introspections" for name, _ in samples(metrics))


def test_build_info() -> None:
    found = [labels for (name, labels) in samples(Metrics()) if name == "metalscope_build_info"]
    assert len(found) == 1 and ("version", __version__) in found[0]


def test_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.introspection_started()
    assert value(second, "metalscope_introspections_started_total") == 0


def test_openmetrics_on_request() -> None:
    body, content_type = render(Metrics(), None, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert render(Metrics(), None)[1].startswith("text/plain")


@pytest.mark.parametrize("error,reason", [
    (RuleActionError("fail"), FailureReason.RULE),
    (RuleTimeout("x matches y", 1.0), FailureReason.RULE),
    (HookError("Ramdisk reported error"), FailureReason.PROCESSING_HOOK),
    (IronicError("refused", 409), FailureReason.IRONIC),
    (MetalScopeError("else"), FailureReason.OTHER),
    (ValueError("bug"), FailureReason.OTHER),
])
def test_failure_reason(error: Exception, reason: FailureReason) -> None:
    assert failure_reason(error) is reason
