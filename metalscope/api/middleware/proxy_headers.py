"""``X-Forwarded-*`` from a reverse proxy, applied once to the ASGI scope (spec 2.1).

Upstream's WSGI app always wraps itself in a proxy fix trusting one proxy: the last value of
``X-Forwarded-For``, ``-Proto``, ``-Host``, ``-Port`` and ``-Prefix`` replaces the client
address, the scheme, the host, the port and the mount prefix. This middleware does the same to
the scope, so everything downstream (absolute links above all) reads the scope only.
``[oslo_middleware]enable_proxy_headers_parsing = False`` leaves it out of the stack.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

#: Scope key holding the prefix the proxy mounts the service under (``X-Forwarded-Prefix``).
PREFIX_KEY = "metalscope.forwarded_prefix"


def last_value(headers: Headers, name: str) -> str | None:
    """The last non-empty comma-separated value of every ``name`` header line."""
    values = [part.strip() for line in headers.getlist(name) for part in line.split(",")]
    values = [value for value in values if value]
    return values[-1] if values else None


def split_host(host: str) -> tuple[str, str | None]:
    """``name[:port]``; an IPv6 literal without a port keeps its colons."""
    if ":" in host and not host.endswith("]"):
        name, port = host.rsplit(":", 1)
        return name, port
    return host, None


def _with_host(scope: Scope, host: str) -> Scope:
    headers: Sequence[tuple[bytes, bytes]] = scope["headers"]
    kept = [(name, value) for name, value in headers if name != b"host"]
    name, port = split_host(host)
    server_port = int(port) if port and port.isdigit() else (scope.get("server") or (None, None))[1]
    return dict(scope, headers=[(b"host", host.encode("latin-1")), *kept],
                server=(name, server_port))


def forwarded_scope(scope: Scope) -> Scope:
    """A copy of ``scope`` as the client in front of the proxy sees the service."""
    headers = Headers(scope=scope)
    scope = dict(scope)
    client = last_value(headers, "x-forwarded-for")
    if client:
        scope["client"] = (client, (scope.get("client") or (None, 0))[1])
    proto = last_value(headers, "x-forwarded-proto")
    if proto:
        scope["scheme"] = proto
    host = last_value(headers, "x-forwarded-host")
    if host:
        scope = _with_host(scope, host)
    port = last_value(headers, "x-forwarded-port")
    if port:
        name = split_host(Headers(scope=scope).get("host") or "")[0]
        scope = _with_host(scope, f"{name}:{port}") if name else scope
    prefix = last_value(headers, "x-forwarded-prefix")
    if prefix:
        scope[PREFIX_KEY] = prefix
    return scope


class ProxyHeadersMiddleware:
    """Rewrites the scope from the forwarded headers before the application sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = forwarded_scope(scope)
        await self.app(scope, receive, send)
