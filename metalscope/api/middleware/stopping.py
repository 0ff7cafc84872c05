"""Requests still running when a stopping process cancels them get a 503 the client retries.

Once ``[DEFAULT]graceful_shutdown_timeout`` has passed after SIGTERM, the server cancels the
requests still in flight. This layer turns the cancellation into ``503 {"error":
{"message": "The service is stopping, please retry"}}`` with ``Retry-After`` (a ramdisk
retries it, and the retry reaches the restarted service or another instance), logged in one
line instead of a traceback. Work the request had begun is taken up by the retry or by the
recovery at the next start. A cancellation while the process is not stopping is not this
layer's business.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metalscope.api.responses import error_response
from metalscope.process_control import StopRequest

LOG = logging.getLogger(__name__)
MESSAGE = "The service is stopping, please retry"
RETRY_AFTER = "5"


class StoppingMiddleware:
    def __init__(self, app: ASGIApp, stop: StopRequest) -> None:
        self.app = app
        self.stop = stop

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
        except asyncio.CancelledError:
            if not self.stop.requested:
                raise
            LOG.warning("%s %s was cut short: the service is stopping", scope["method"],
                        scope["path"])
            if not started:
                await error_response(503, MESSAGE, {"Retry-After": RETRY_AFTER})(
                    scope, receive, send)
