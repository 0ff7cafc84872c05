"""Absolute links, honouring reverse-proxy headers (spec 2.1)."""

from __future__ import annotations

from fastapi import Request


def _last(request: Request, name: str) -> str | None:
    value = request.headers.get(name)
    return value.split(",")[-1].strip() if value else None


def mount_prefix(request: Request) -> str:
    return (_last(request, "x-forwarded-prefix") or "").rstrip("/")


def request_root(request: Request) -> str:
    """``scheme://host[:port]/prefix/`` as the client sees the service."""
    scheme = _last(request, "x-forwarded-proto") or request.url.scheme
    host = _last(request, "x-forwarded-host") or request.headers.get("host") or request.url.netloc
    port = _last(request, "x-forwarded-port")
    if port and ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{mount_prefix(request)}/"
