"""A request the stopping server cancels: a 503 the client retries, or left alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from metalscope.api.middleware.stopping import StoppingMiddleware
from metalscope.process_control import StopRequest
from tests.unit.api.middleware.asgi import Inner, call, http_scope


async def cancelled(scope: Any, receive: Any, send: Any) -> None:
    raise asyncio.CancelledError("timeout graceful shutdown exceeded")


async def cancelled_after_start(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise asyncio.CancelledError


def stopping() -> StopRequest:
    stop = StopRequest(5)
    stop.request()
    return stop


async def test_a_request_cut_by_the_stop_gets_a_503_to_retry() -> None:
    answer = await call(StoppingMiddleware(cancelled, stopping()),
                        http_scope("/v1/continue", "POST"))
    assert answer.status == 503
    assert answer.header("Retry-After") == "5"
    assert answer.body == b'{"error":{"message":"The service is stopping, please retry"}}\n'


async def test_a_started_answer_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    answer = await call(StoppingMiddleware(cancelled_after_start, stopping()), http_scope())
    assert answer.status == 200
    assert "GET / was cut short: the service is stopping" in caplog.text


async def test_a_cancellation_while_serving_is_not_swallowed() -> None:
    with pytest.raises(asyncio.CancelledError):
        await call(StoppingMiddleware(cancelled, StopRequest(5)), http_scope())


async def test_answers_pass_through() -> None:
    answer = await call(StoppingMiddleware(Inner(), stopping()), http_scope())
    assert (answer.status, answer.body) == (200, b"inner")
