"""The IPA-like poster: retries, back-off and fleet runs (ecosystem.md 6.3)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from metalscope.simulator import RetryPolicy, continue_url, ipa_backoff, post_inventory, run_fleet

URL = "http://metalscope.test/v1/continue"
DATA: dict[str, Any] = {"inventory": {"interfaces": []}, "error": None}


class Script:
    """A MockTransport handler that answers from a list of statuses (or exceptions)."""

    def __init__(self, *steps: int | type[Exception]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type):
            raise step("simulated", request=request)  # type: ignore[call-arg]
        body = {"uuid": "node-1"} if step < 400 else {"error": {"message": f"status {step}"}}
        return httpx.Response(step, json=body)


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def post(script: Script, sleeps: Sleeps, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.MockTransport(script)) as client:
        return await post_inventory(client, URL, DATA, sleep=sleeps, **kwargs)


async def test_retries_503_with_backoff_then_succeeds() -> None:
    """Two 503 answers are retried after IPA's back-off delays, then the 200 is returned."""
    script, sleeps = Script(503, 503, 200), Sleeps()
    response = await post(script, sleeps)
    assert response.status_code == 200 and response.json() == {"uuid": "node-1"}
    assert len(script.requests) == 3
    assert sleeps.delays == [ipa_backoff(1), ipa_backoff(2)]


async def test_retries_409_conflict() -> None:
    """A 409 (node locked) is retried like a server error."""
    script, sleeps = Script(409, 200), Sleeps()
    response = await post(script, sleeps)
    assert response.status_code == 200
    assert len(script.requests) == 2 and len(sleeps.delays) == 1


async def test_does_not_retry_400() -> None:
    """A 400 is final: one request, no back-off, the response is returned."""
    script, sleeps = Script(400), Sleeps()
    response = await post(script, sleeps)
    assert response.status_code == 400
    assert len(script.requests) == 1 and sleeps.delays == []


async def test_gives_up_after_the_attempts() -> None:
    """A server that keeps failing gets exactly ``attempts`` requests; the last answer is kept."""
    script, sleeps = Script(500), Sleeps()
    response = await post(script, sleeps, attempts=3, backoff=lambda retry: 0.25 * retry)
    assert response.status_code == 500
    assert len(script.requests) == 3
    assert sleeps.delays == [0.25, 0.5]


async def test_connection_errors_are_retried_then_raised() -> None:
    """Refused connections are retried five times by default, then the error propagates."""
    script, sleeps = Script(httpx.ConnectError), Sleeps()
    with pytest.raises(httpx.ConnectError):
        await post(script, sleeps)
    assert len(script.requests) == 5 and len(sleeps.delays) == 4


async def test_connection_error_then_success() -> None:
    """A dropped connection followed by a 202 returns the 202."""
    script, sleeps = Script(httpx.RemoteProtocolError, 202), Sleeps()
    response = await post(script, sleeps)
    assert response.status_code == 202 and len(script.requests) == 2


async def test_read_timeout_is_not_retried() -> None:
    """A read timeout is not a connection error for IPA: it propagates after one request."""
    script, sleeps = Script(httpx.ReadTimeout), Sleeps()
    with pytest.raises(httpx.ReadTimeout):
        await post(script, sleeps)
    assert len(script.requests) == 1


async def test_request_looks_like_ipa() -> None:
    """A JSON POST to the given URL with JSON headers and no API version header."""
    script = Script(200)
    await post(script, Sleeps())
    request = script.requests[0]
    assert request.method == "POST" and str(request.url) == URL
    assert json.loads(request.content) == DATA
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert not any("version" in name.lower() for name in request.headers)


def test_ipa_backoff_is_exponential_and_clamped() -> None:
    """1.5 s doubling, clamped to 5-30 s, like IPA's tenacity policy."""
    assert [ipa_backoff(n) for n in range(1, 7)] == [5.0, 5.0, 6.0, 12.0, 24.0, 30.0]


@pytest.mark.parametrize(("base", "expected"), [
    ("http://127.0.0.1:5050", "http://127.0.0.1:5050/v1/continue"),
    ("http://127.0.0.1:5050/", "http://127.0.0.1:5050/v1/continue"),
    ("http://h/v1/continue", "http://h/v1/continue"),
])
def test_continue_url(base: str, expected: str) -> None:
    """A base URL gets ``/v1/continue`` appended; a full callback URL is kept."""
    assert continue_url(base) == expected


async def test_run_fleet_keeps_order_and_bounds_concurrency() -> None:
    """Results come back in document order and never more than ``concurrency`` are in flight."""
    in_flight, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(3):
            await asyncio.sleep(0)  # yield to the other workers, no real waiting
        in_flight -= 1
        return httpx.Response(200, json={"uuid": f"node-{json.loads(request.content)['n']}"})

    documents = [{"n": n} for n in range(10)]
    results = await run_fleet("http://metalscope.test", documents, concurrency=3,
                              transport=httpx.MockTransport(handler))
    assert [r.uuid for r in results] == [f"node-{n}" for n in range(10)]
    assert [r.index for r in results] == list(range(10))
    assert all(r.ok and r.attempts == 1 and r.latency >= 0 for r in results)
    assert peak == 3


async def test_run_fleet_records_failures_without_raising() -> None:
    """Error messages, statuses and unreachable posts are recorded per document."""
    def handler(request: httpx.Request) -> httpx.Response:
        n = json.loads(request.content)["n"]
        if n == 2:
            raise httpx.ConnectError("refused", request=request)
        if n == 1:
            return httpx.Response(404, json={"error": {"message": "Could not find node"}})
        return httpx.Response(200, json={"uuid": "u-0"})

    sleeps = Sleeps()
    results = await run_fleet(URL, [{"n": 0}, {"n": 1}, {"n": 2}], concurrency=2,
                              policy=RetryPolicy(attempts=2, sleep=sleeps),
                              transport=httpx.MockTransport(handler))
    assert (results[0].status, results[0].uuid) == (200, "u-0")
    assert (results[1].status, results[1].error, results[1].ok) == (404, "Could not find node",
                                                                    False)
    assert results[2].status is None and "ConnectError" in (results[2].error or "")
    assert results[2].attempts == 2 and len(results[2].attempt_latencies) == 2
    assert sleeps.delays == [ipa_backoff(1)]
