"""``GET /metrics``: the instance's Prometheus metrics (not versioned, like the health check).

On the API's listener the route obeys the auth strategy and the policy rule ``metrics:get``;
with ``[metrics]port`` set it answers 404 there, and :class:`MetricsApp` serves the same text
on the separate listener (:mod:`metalscope.api.metrics_listener`), without authentication.
The state gauge is read from the database at each scrape; when the database cannot be read,
the scrape still gets every other metric.
"""

from __future__ import annotations

import logging

from fastapi import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from metalscope.api.deps import ServicesDep, policy
from metalscope.api.routing import Router
from metalscope.errors import NotFound
from metalscope.metrics import render
from metalscope.services import Services

LOG = logging.getLogger(__name__)
PATH = "/metrics"

router = Router()


async def exposition(svc: Services, accept: str | None) -> Response:
    """The scrape's answer: every metric, the state gauge read from the database now."""
    try:
        states: dict[str, int] | None = await svc.repo.state_counts()
    except Exception as exc:  # the counters are worth having while the database is away
        LOG.warning("Metrics scraped without the state gauge, the database failed: %s", exc)
        states = None
    body, content_type = render(svc.metrics, states, accept)
    return Response(body, media_type=content_type)


@router.get(PATH, summary="Prometheus metrics of this instance",
            dependencies=policy("metrics:get"))
async def metrics(request: Request, svc: ServicesDep) -> Response:
    settings = svc.settings.metrics
    if not settings.enabled or settings.port:
        raise NotFound("Metrics are not served here" if settings.enabled
                       else "Metrics are disabled ([metrics]enabled)")
    return await exposition(svc, request.headers.get("accept"))


class MetricsApp:
    """The ASGI application of the separate metrics listener: ``GET``/``HEAD /metrics``,
    404 for any other path, 405 for any other method."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].rstrip("/") != PATH:
            response = Response(b"Not found; metrics are at /metrics\n", 404,
                                media_type="text/plain")
        elif scope["method"] not in ("GET", "HEAD"):
            response = Response(b"Method not allowed\n", 405, {"Allow": "GET, HEAD"},
                                media_type="text/plain")
        else:
            accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
            response = await exposition(self.svc, accept)
        await response(scope, receive, send)
