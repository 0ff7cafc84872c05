"""Absolute links, as the client sees the service (spec 2.1).

They are built from the ASGI scope only: behind a proxy, ``middleware/proxy_headers.py`` has
already put the forwarded scheme, host, port and prefix there (or has been left out because
``[oslo_middleware]enable_proxy_headers_parsing = False``).
"""

from __future__ import annotations

from fastapi import Request

from metalscope.api.middleware.proxy_headers import PREFIX_KEY, split_host

DEFAULT_PORTS = {"http": "80", "https": "443"}


def mount_prefix(request: Request) -> str:
    prefix = str(request.scope.get(PREFIX_KEY) or "").rstrip("/")
    return prefix if not prefix or prefix.startswith("/") else f"/{prefix}"


def request_host(request: Request) -> str:
    """The ``Host`` the client used, without the scheme's default port."""
    host = request.headers.get("host") or request.url.netloc
    name, port = split_host(host)
    return name if port == DEFAULT_PORTS.get(request.url.scheme) else host


def request_root(request: Request) -> str:
    """``scheme://host[:port]/prefix/`` as the client sees the service."""
    return f"{request.url.scheme}://{request_host(request)}{mount_prefix(request)}/"
