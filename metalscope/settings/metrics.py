"""``[metrics]``: the Prometheus metrics endpoint (:mod:`metalscope.metrics`)."""

from __future__ import annotations

from metalscope.settings.option import BOOLEAN, PORT, STRING, option, section


@section
class MetricsSection:
    """``[metrics]``: where ``/metrics`` is served, and to whom."""

    enabled: bool = option(
        BOOLEAN, True,
        help="Serve the Prometheus metrics of this instance at /metrics.")
    port: int = option(
        PORT, 0,
        help="0: serve /metrics on the API's own listener, where it obeys "
             "[DEFAULT]auth_strategy and the policy rule metrics:get. Another port: serve it "
             "there instead (on host), without authentication, for a management network; the "
             "only way a conductor-role process, which has no API listener, exports its "
             "metrics.")
    host: str = option(
        STRING, "127.0.0.1",
        help="Address of the separate metrics listener (when port is not 0).")
