"""X-OpenStack-Request-Id on every response; the caller's id as the global request id."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from metalscope.api.middleware.request_id import RequestIdMiddleware
from metalscope.log_context import current_request
from tests.unit.api.middleware.asgi import Inner, call, http_scope

ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CALLER = "req-0f1e2d3c-4b5a-4978-8877-665544332211"


class Recording:
    """Notes the ids bound while it runs."""

    def __init__(self) -> None:
        self.bound: list[tuple[str, str | None] | None] = []

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        self.bound.append(current_request())
        await Inner()(scope, receive, send)


async def test_every_response_gets_a_fresh_uuid4_id() -> None:
    app = RequestIdMiddleware(Inner())
    first = (await call(app, http_scope())).header("x-openstack-request-id")
    second = (await call(app, http_scope())).header("x-openstack-request-id")
    assert first and second and ID.fullmatch(first) and ID.fullmatch(second)
    assert first != second


async def test_ids_bound_while_serving_and_released_after() -> None:
    inner = Recording()
    answer = await call(RequestIdMiddleware(inner), http_scope(
        headers={"X-OpenStack-Request-Id": CALLER}))
    assert inner.bound == [(answer.header("x-openstack-request-id"), CALLER)]
    assert current_request() is None


async def test_caller_id_is_not_echoed() -> None:
    """The response carries this service's id; the caller's is only the global id."""
    answer = await call(RequestIdMiddleware(Inner()), http_scope(
        headers={"X-OpenStack-Request-Id": CALLER}))
    assert answer.header("x-openstack-request-id") != CALLER


@pytest.mark.parametrize("value", [
    "req-0F1E2D3C-4B5A-4978-8877-665544332211",  # upper case
    "0f1e2d3c-4b5a-4978-8877-665544332211",  # no prefix
    "req-0f1e2d3c4b5a49788877665544332211",  # no dashes
    "req-0f1e2d3c-4b5a-4978-8877-665544332211x",
    "anything", ""])
async def test_malformed_caller_id_is_ignored(value: str) -> None:
    inner = Recording()
    await call(RequestIdMiddleware(inner), http_scope(headers={"X-OpenStack-Request-Id": value}))
    assert inner.bound[0] is not None and inner.bound[0][1] is None


async def test_an_id_already_set_is_kept() -> None:
    inner = Inner(headers=[(b"X-OpenStack-Request-Id", b"req-kept")])
    answer = await call(RequestIdMiddleware(inner), http_scope())
    assert [v for k, v in answer.headers if k.lower() == "x-openstack-request-id"] == ["req-kept"]


def test_app_responses_carry_it(client: TestClient) -> None:
    """Successes, 404s, 405s and version errors alike."""
    answers = [client.get("/"), client.get("/v1/nothing"), client.put("/v1/rules"),
               client.get("/", headers={"X-OpenStack-Ironic-Inspector-API-Version": "9.9"}),
               client.head("/v1")]
    assert [a.status_code for a in answers] == [200, 404, 405, 406, 200]
    ids = [a.headers["X-OpenStack-Request-Id"] for a in answers]
    assert all(ID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)
