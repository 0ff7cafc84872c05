"""Prometheus metrics of one instance: :class:`Metrics` holds the instruments (its own
registry, never the process-wide default one), :func:`render` writes the exposition text.
The only package that imports ``prometheus_client``."""

from metalscope.metrics.exposition import render
from metalscope.metrics.reasons import FailureReason, failure_reason
from metalscope.metrics.registry import Metrics

__all__ = ["FailureReason", "Metrics", "failure_reason", "render"]
