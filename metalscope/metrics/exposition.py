"""The text a scrape gets: Prometheus' text format, or OpenMetrics when the scraper asks."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.exposition import choose_encoder

from metalscope.metrics.registry import Metrics


def render(metrics: Metrics, states: Mapping[str, int] | None,
           accept: str | None = None) -> tuple[bytes, str]:
    """The exposition of ``metrics`` (with the state gauge from ``states``, left out when
    None) in the format ``accept`` prefers; returns the body and its Content-Type."""
    encoder, content_type = choose_encoder(accept or "")
    metrics.states.counts = states
    try:
        return encoder(metrics.registry), content_type
    finally:
        metrics.states.counts = None
