"""Microversions (spec 2.2): parsing, negotiation and the min/max headers on every response.

:class:`VersionMiddleware` is pure ASGI and runs before routing, so even unknown URLs with a
bad version get 400/406, and every response the application produces (500s included: the
unexpected-error layer is inside it) carries the
``X-OpenStack-Ironic-Inspector-API-Minimum/Maximum-Version`` headers. The health check is
answered before it, without them (spec 2.4.11); the fleet pages (``/ui``) pass through it
untouched.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metalscope.api.responses import error_response

MIN_VERSION = (1, 0)
MAX_VERSION = (1, 20)
LEGACY_HEADER = "X-OpenStack-Ironic-Inspector-API-Version"
STANDARD_HEADER = "OpenStack-API-Version"
SERVICE_TYPE = "baremetal-introspection"
MIN_HEADER = "X-OpenStack-Ironic-Inspector-API-Minimum-Version"
MAX_HEADER = "X-OpenStack-Ironic-Inspector-API-Maximum-Version"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")
MALFORMED_VERSION = "Malformed API version: expected string in form of X.Y or latest"
#: Paths outside the versioned API (the fleet pages): passed through untouched.
UNVERSIONED_PREFIXES = ("/ui",)


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


class VersionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_version(value: str | None) -> tuple[int, int]:
    """The requested version; absent, empty or ``latest`` mean the maximum."""
    if value is None or not value.strip() or value.strip().lower() == "latest":
        return MAX_VERSION
    match = _VERSION_RE.match(value.strip())
    try:
        # int() also refuses numbers of more than 4,300 digits (Python's conversion limit).
        version = (int(match.group(1)), int(match.group(2))) if match else None
    except ValueError:
        version = None
    if version is None:
        raise VersionError(400, MALFORMED_VERSION)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionError(406, f"Unsupported API version {version_text(version)}, supported "
                                f"range is {version_text(MIN_VERSION)} to "
                                f"{version_text(MAX_VERSION)}")
    return version


def requested_version_text(headers: Headers) -> str | None:
    """The legacy header wins; else the standard header's ``baremetal-introspection`` entry."""
    legacy = headers.get(LEGACY_HEADER)
    if legacy is not None:
        return legacy
    for entry in headers.getlist(STANDARD_HEADER):
        for part in entry.split(","):
            service, _, version = part.strip().partition(" ")
            if service.lower() == SERVICE_TYPE:
                return version.strip()
    return None


def version_headers() -> list[tuple[bytes, bytes]]:
    return [(MIN_HEADER.encode(), version_text(MIN_VERSION).encode()),
            (MAX_HEADER.encode(), version_text(MAX_VERSION).encode())]


class VersionMiddleware:
    """Negotiates the version, normalises trailing slashes and adds the version headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or unversioned(scope["path"]):
            await self.app(scope, receive, send)
            return
        scope = _strip_trailing_slash(scope)
        try:
            version = parse_version(requested_version_text(Headers(scope=scope)))
        except VersionError as exc:
            response = error_response(exc.status, exc.message)
            await response(scope, receive, _with_version_headers(send))
            return
        scope.setdefault("state", {})["api_version"] = version
        await self.app(scope, receive, _with_version_headers(send))


def unversioned(path: str) -> bool:
    """Whether ``path`` is outside the versioned API (no negotiation, no version headers,
    its trailing slash kept)."""
    return any(path == prefix or path.startswith(f"{prefix}/") for prefix in UNVERSIONED_PREFIXES)


def _strip_trailing_slash(scope: Scope) -> Scope:
    path = scope["path"]
    if len(path) > 1 and path.endswith("/"):
        scope = dict(scope, path=path.rstrip("/") or "/")
        scope["raw_path"] = scope["path"].encode()
    return scope


def _with_version_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers: list[Any] = [h for h in message.get("headers", [])
                                  if h[0].lower() not in (MIN_HEADER.lower().encode(),
                                                          MAX_HEADER.lower().encode())]
            message = dict(message, headers=headers + version_headers())
        await send(message)
    return wrapped
