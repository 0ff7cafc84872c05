"""An exception nobody handled: the upstream 500 with the version headers and request id."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.api.middleware.unexpected_errors import UnexpectedErrorMiddleware
from tests.unit.api.middleware.asgi import Inner, call, http_scope


class Broken(RuntimeError):
    pass


async def fail(scope: Any, receive: Any, send: Any) -> None:
    raise Broken("disk on fire")


async def fail_after_start(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise Broken("half-way")


async def test_500_body() -> None:
    answer = await call(UnexpectedErrorMiddleware(fail), http_scope())
    assert answer.status == 500
    assert answer.body == b'{"error":{"message":"Internal server error"}}\n'


async def test_debug_names_the_exception() -> None:
    answer = await call(UnexpectedErrorMiddleware(fail, debug=True), http_scope())
    assert answer.body == (b'{"error":{"message":"Internal server error (Broken): '
                           b'disk on fire"}}\n')


async def test_started_response_is_left_to_the_server() -> None:
    with pytest.raises(Broken):
        await call(UnexpectedErrorMiddleware(fail_after_start), http_scope())


async def test_normal_answers_pass() -> None:
    answer = await call(UnexpectedErrorMiddleware(Inner(status=201)), http_scope())
    assert (answer.status, answer.body) == (201, b"inner")


def test_500_through_the_app(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """A failing storage call in a real route: 500 JSON with every header of the API."""
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise Broken("database unreadable")

    client.app.state.services.repo.list_rules = broken  # type: ignore[attr-defined]
    response = client.get("/v1/rules")
    assert response.status_code == 500
    assert response.json() == {"error": {"message": "Internal server error"}}
    assert response.headers["X-OpenStack-Ironic-Inspector-API-Minimum-Version"] == "1.0"
    assert response.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"
    assert response.headers["X-OpenStack-Request-Id"].startswith("req-")
    assert "database unreadable" in caplog.text
