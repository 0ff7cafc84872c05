"""Unexpected exceptions become the upstream 500, inside the versioned API's middleware.

Starlette answers an exception nobody handled in its outermost layer, outside every other
middleware, so that 500 would miss the version headers and the request id. This layer sits
just around the routes instead and answers ``{"error": {"message": "Internal server
error"}}`` (with the exception when ``[DEFAULT]debug`` is on, spec 2.1), after logging the
traceback. An exception raised once the response has started is left to the server.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metalscope.api.responses import JSONResponse, error_response

LOG = logging.getLogger(__name__)


def internal_error(exc: Exception, debug: bool) -> JSONResponse:
    message = "Internal server error"
    if debug:
        message += f" ({type(exc).__name__}): {exc}"
    return error_response(500, message)


class UnexpectedErrorMiddleware:
    def __init__(self, app: ASGIApp, debug: bool = False) -> None:
        self.app = app
        self.debug = debug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            LOG.exception("Unexpected error while handling a request")
            if started:
                raise
            await internal_error(exc, self.debug)(scope, receive, send)
