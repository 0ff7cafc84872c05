"""Cross-origin resource sharing, with oslo.middleware's rules and the ``[cors]`` options.

A request with an ``Origin`` in ``allowed_origin`` (or any origin when ``*`` is listed, then
answered with ``*``) gets ``Access-Control-Allow-Origin`` and ``Vary: Origin``, plus
``Access-Control-Allow-Credentials: true`` when ``allow_credentials`` and, on simple
requests, ``Access-Control-Expose-Headers``. A preflight (``OPTIONS``) that the application
does not answer with a 2xx is answered with an empty 200; it gets the preflight headers when
its ``Access-Control-Request-Method`` is in ``allow_methods`` (compared as sent) and each of
its ``Access-Control-Request-Headers`` is in ``allow_headers`` or a simple header (compared
without case). Anything else leaves the response as it is: the browser then refuses it.
A response that already carries ``Access-Control-Allow-Origin`` is left alone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metalscope.settings import CorsSection

#: Headers a browser may always send (oslo.middleware's list).
SIMPLE_HEADERS = ("Accept", "Accept-Language", "Content-Type", "Cache-Control",
                  "Content-Language", "Expires", "Last-Modified", "Pragma")
WILDCARD = "*"


@dataclass(frozen=True)
class CorsPolicy:
    """The ``[cors]`` options, applying to every allowed origin alike."""

    allowed_origins: frozenset[str]
    allow_credentials: bool = True
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = 3600
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, section: CorsSection) -> CorsPolicy:
        return cls(frozenset(section.allowed_origin), section.allow_credentials,
                   tuple(section.expose_headers), section.max_age,
                   tuple(section.allow_methods), tuple(section.allow_headers))

    def origin_answer(self, origin: str) -> str | None:
        """What ``Access-Control-Allow-Origin`` says to ``origin``; None when not allowed."""
        if origin in self.allowed_origins:
            return origin
        return WILDCARD if WILDCARD in self.allowed_origins else None

    def permits_headers(self, requested: list[str]) -> bool:
        permitted = {name.upper() for name in (*self.allow_headers, *SIMPLE_HEADERS)}
        return all(name.upper() in permitted for name in requested)


def split_values(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def preflight_headers(policy: CorsPolicy, request: Headers) -> dict[str, str]:
    """The headers a preflight gets (W3C CORS 6.2); empty when it is refused."""
    allowed = policy.origin_answer(request.get("origin", "")) if "origin" in request else None
    method = request.get("access-control-request-method")
    requested = split_values(request.get("access-control-request-headers"))
    if allowed is None or method is None or method not in policy.allow_methods \
            or not policy.permits_headers(requested):
        return {}
    headers = {"Vary": "Origin", "Access-Control-Allow-Origin": allowed}
    if policy.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if policy.max_age:
        headers["Access-Control-Max-Age"] = str(policy.max_age)
    headers["Access-Control-Allow-Methods"] = method
    if requested:
        headers["Access-Control-Allow-Headers"] = ",".join(requested)
    return headers


def simple_headers(policy: CorsPolicy, request: Headers, vary: str | None) -> dict[str, str]:
    """The headers an actual cross-origin request's response gets (W3C CORS 6.1)."""
    allowed = policy.origin_answer(request.get("origin", "")) if "origin" in request else None
    if allowed is None:
        return {}
    headers = {"Vary": f"{vary},Origin" if vary else "Origin",
               "Access-Control-Allow-Origin": allowed}
    if policy.allow_credentials:
        headers["Access-Control-Allow-Credentials"] = "true"
    if policy.expose_headers:
        headers["Access-Control-Expose-Headers"] = ",".join(policy.expose_headers)
    return headers


class CORSMiddleware:
    """Decorates responses for allowed origins; answers preflights the application refuses.

    ``keep`` names headers of a refused preflight's response that its empty 200 keeps (the
    version headers, which every answer of the API carries).
    """

    def __init__(self, app: ASGIApp, policy: CorsPolicy, keep: Collection[str] = ()) -> None:
        self.app = app
        self.policy = policy
        self.keep = {name.lower() for name in keep}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        preflight = scope["method"] == "OPTIONS"
        emptied = False

        async def decorated(message: Message) -> None:
            nonlocal emptied
            if message["type"] == "http.response.start":
                message, emptied = self._start(message, request, preflight)
            elif message["type"] == "http.response.body" and emptied:
                message = dict(message, body=b"")
            await send(message)

        await self.app(scope, receive, decorated)

    def _start(self, message: Message, request: Headers, preflight: bool) -> tuple[Message, bool]:
        """The decorated start message, and whether the body is to be dropped."""
        headers = MutableHeaders(raw=list(message.get("headers", [])))
        if "access-control-allow-origin" in headers:
            return message, False
        emptied = preflight and not 200 <= message["status"] < 300
        if emptied:
            headers = MutableHeaders(raw=[(name, value) for name, value in headers.raw
                                          if name.decode("latin-1").lower() in self.keep])
            headers["Content-Length"] = "0"
        extra = (preflight_headers(self.policy, request) if preflight
                 else simple_headers(self.policy, request, headers.get("vary")))
        for name, value in extra.items():
            headers[name] = value
        return dict(message, status=200 if emptied else message["status"],
                    headers=headers.raw), emptied
