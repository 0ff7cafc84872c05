"""``X-OpenStack-Request-Id``: an id per request, on its response and in its log lines.

As oslo.middleware's request id middleware: every request gets ``req-<uuid4>``, sent back in
the response header unless the response already has one. An inbound header in the same
format (a caller's own request id) becomes the *global* request id, which ties the calls of
one operation across services; anything else in it is ignored. Both ids are bound with
:func:`metalscope.log_context.bound_request` while the request is served.
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metalscope.log_context import bound_request

HEADER_NAME = "X-OpenStack-Request-Id"
HEADER = HEADER_NAME.lower()
#: oslo.context's request id form; an inbound id must have it to become the global id.
ID_FORMAT = re.compile(r"req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def global_request_id(headers: Headers) -> str | None:
    """The caller's request id when it has oslo's ``req-<uuid>`` form (lower-case hex)."""
    value = headers.get(HEADER, "")
    return value if ID_FORMAT.fullmatch(value) else None


def _with_request_id(send: Send, request_id: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == HEADER.encode() for name, _ in headers):
                message = dict(message, headers=[*headers, (HEADER.encode(), request_id.encode())])
        await send(message)
    return wrapped


class RequestIdMiddleware:
    """Names each request, binds the ids for logging and returns the id to the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        global_id = global_request_id(Headers(scope=scope))
        scope.setdefault("state", {}).update(request_id=request_id, global_request_id=global_id)
        with bound_request(request_id, global_id):
            await self.app(scope, receive, _with_request_id(send, request_id))
