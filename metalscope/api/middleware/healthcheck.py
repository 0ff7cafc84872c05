"""``[healthcheck]``: oslo.middleware's health check at ``[healthcheck]path``, before auth.

A request for the path (compared exactly, query ignored) is answered here, in front of
authentication and of the versioned API (no version headers, spec 2.4.11): ``HEAD`` with 204
(503 when a backend reports a failure), any other method with 200 (503) and the backends'
reasons as plain text, JSON or HTML by ``Accept`` (plain text by default). ``detailed`` adds
the process status. A request from outside ``allowed_source_ranges`` (the TCP peer: this
runs before the proxy headers are applied, as upstream), or one carrying proxy headers when
``ignore_proxied_requests`` is set, goes on to the application like any other URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from metalscope.api.middleware import healthcheck_pages as pages
from metalscope.api.middleware.healthcheck_backends import (
    HealthBackend,
    HealthcheckResult,
    create_backends,
)
from metalscope.errors import ConfigurationError
from metalscope.settings import HealthcheckSection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Headers that mark a proxied request for ``ignore_proxied_requests`` (oslo.middleware's).
PROXY_HEADERS = ("x-forwarded", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-for",
                 "x-forwarded-prefix")
TEXT, HTML, JSON = "text/plain", "text/html", "application/json"
#: Offered media types, in the order that breaks ties between equally acceptable ones.
OFFERS = (TEXT, HTML, JSON)


def parse_ranges(ranges: list[str]) -> list[Network]:
    try:
        return [ipaddress.ip_network(value.strip()) for value in ranges if value.strip()]
    except ValueError as exc:
        raise ConfigurationError(f"[healthcheck]allowed_source_ranges: {exc}") from None


def _media_ranges(accept: str) -> list[tuple[str, float]] | None:
    """``(range, q)`` of an Accept header; None when it cannot be parsed."""
    ranges = []
    for item in filter(None, (part.strip() for part in accept.split(","))):
        media, *params = [piece.strip() for piece in item.split(";")]
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    return None
        if media.count("/") != 1 or not 0 <= q <= 1:
            return None
        ranges.append((media.lower(), q))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """The q of the most specific range matching ``offer`` (0 when none matches)."""
    kind = offer.split("/")[0]
    for candidate in (offer, f"{kind}/*", "*/*"):
        matching = [q for media, q in ranges if media == candidate]
        if matching:
            return max(matching)
    return 0.0


def negotiate(accept: str | None) -> str:
    """The page type for an ``Accept`` header; plain text when nothing offered is acceptable."""
    ranges = _media_ranges(accept or "")
    if not ranges:
        return TEXT
    scored = sorted(((-_quality(offer, ranges), index, offer)
                     for index, offer in enumerate(OFFERS)), key=lambda item: item[:2])
    best_q, _, best = scored[0]
    return best if best_q < 0 else TEXT


@dataclass(frozen=True)
class HealthcheckConfig:
    path: str
    detailed: bool
    backends: tuple[HealthBackend, ...]
    source_ranges: tuple[Network, ...] = ()
    ignore_proxied_requests: bool = False

    @classmethod
    def from_settings(cls, section: HealthcheckSection) -> HealthcheckConfig:
        return cls(section.path, section.detailed, tuple(create_backends(section)),
                   tuple(parse_ranges(section.allowed_source_ranges)),
                   section.ignore_proxied_requests)

    def answers(self, scope: Scope) -> bool:
        """Whether the request is the health check's, not the application's."""
        if scope["path"] != self.path:
            return False
        if self.source_ranges and not self._from_allowed_source(scope.get("client")):
            return False
        headers = Headers(scope=scope)
        return not (self.ignore_proxied_requests and any(headers.get(h) for h in PROXY_HEADERS))

    def _from_allowed_source(self, client: tuple[str, int] | None) -> bool:
        try:
            address = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return address is not None and any(
            network.version == address.version and address in network
            for network in self.source_ranges)


PAGES: dict[str, Callable[[list[HealthcheckResult], pages.ServerStatus | None], str]] = {
    TEXT: lambda results, _status: pages.text_page(results),
    HTML: pages.html_page,
    JSON: pages.json_page,
}


def health_response(config: HealthcheckConfig, method: str, accept: str | None,
                    server_port: int | None) -> Response:
    results = [backend.check(server_port) for backend in config.backends]
    healthy = all(result.available for result in results)
    if method == "HEAD":
        if healthy:
            return Response(status_code=204)
        return Response(b"", 503, media_type="text/plain; charset=UTF-8")
    media = negotiate(accept)
    status = pages.ServerStatus.current() if config.detailed else None
    body = PAGES[media](results, status)
    media_type = media if media == JSON else f"{media}; charset=UTF-8"
    return Response(body.encode(), 200 if healthy else 503, media_type=media_type)


class HealthcheckMiddleware:
    """Answers the health check path; passes everything else on."""

    def __init__(self, app: ASGIApp, config: HealthcheckConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.config.answers(scope):
            await self.app(scope, receive, send)
            return
        server_port = (scope.get("server") or (None, None))[1]
        response = health_response(self.config, scope["method"],
                                   Headers(scope=scope).get("accept"), server_port)
        await response(scope, receive, send)
