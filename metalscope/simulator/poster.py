"""Posting ramdisk documents the way ironic-python-agent does (spec ``ecosystem.md`` 6.2-6.3).

One JSON body, ``Content-Type``/``Accept: application/json`` and no API version header; up to
five attempts with exponential back-off, retried on connection errors, on HTTP 5xx and on 409
(the node is locked), not on other statuses.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

Backoff = Callable[[int], float]
Sleep = Callable[[float], Awaitable[None]]

CONTINUE_PATH = "/v1/continue"
DEFAULT_ATTEMPTS = 5
DEFAULT_TIMEOUT = 60.0
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# What the requests library (used by IPA) reports as a ConnectionError: failures to connect
# and connections dropped before a response. A read timeout is not one, so it is not retried.
_RETRIED_ERRORS = (httpx.NetworkError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


def ipa_backoff(retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1-based), as IPA's retry policy does.

    Exponential, 1.5 s doubled each time, kept between 5 and 30 s: 5, 5, 6, 12, 24, 30...
    """
    return float(min(30.0, max(5.0, 1.5 * 2 ** (retry - 1))))


def continue_url(base_url: str) -> str:
    """The callback URL for a MetalScope base URL; a URL already ending in it is kept."""
    url = base_url.rstrip("/")
    return url if url.endswith(CONTINUE_PATH) else url + CONTINUE_PATH


def should_retry(response: httpx.Response) -> bool:
    """IPA retries a response with a 5xx status or 409 Conflict, and nothing else."""
    return response.status_code >= 500 or response.status_code == 409


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = DEFAULT_ATTEMPTS
    backoff: Backoff = ipa_backoff
    sleep: Sleep = asyncio.sleep


@dataclass(frozen=True)
class _Delivery:
    response: httpx.Response | None
    exception: Exception | None
    attempt_latencies: tuple[float, ...]


@dataclass(frozen=True)
class PostResult:
    """The outcome of posting one document: what a benchmark or the CLI reports."""

    index: int
    status: int | None  # None when no response was ever received
    uuid: str | None
    error: str | None
    latency: float  # seconds from the first attempt to the outcome, back-off included
    attempts: int
    attempt_latencies: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post_inventory(client: httpx.AsyncClient, url: str, data: dict[str, Any], *,
                         attempts: int = DEFAULT_ATTEMPTS, backoff: Backoff = ipa_backoff,
                         sleep: Sleep = asyncio.sleep) -> httpx.Response:
    """POST ``data`` to the callback ``url`` like IPA and return the final response.

    Retries connection errors, 5xx and 409 up to ``attempts`` tries in all, waiting
    ``backoff(n)`` seconds (through ``sleep``) before retry ``n``. After the last attempt the
    last response is returned whatever its status; if the last attempt raised, that exception
    propagates. Other errors (a read timeout, say) propagate at once.
    """
    delivery = await _deliver(client, url, _encode(data), RetryPolicy(attempts, backoff, sleep))
    if delivery.response is None:
        assert delivery.exception is not None
        raise delivery.exception
    return delivery.response


async def run_fleet(url: str, documents: Sequence[dict[str, Any]], concurrency: int = 10, *,
                    policy: RetryPolicy | None = None, timeout: float = DEFAULT_TIMEOUT,
                    transport: httpx.AsyncBaseTransport | None = None) -> list[PostResult]:
    """Post every document to ``url`` (a base URL or the callback URL) with at most
    ``concurrency`` requests in flight, each with IPA's retries.

    Returns one :class:`PostResult` per document, in the documents' order; failures are
    recorded in the results, never raised.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    target, retry = continue_url(url), policy or RetryPolicy()
    results: list[PostResult | None] = [None] * len(documents)
    pending = iter(enumerate(documents))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport) as client:

        async def worker() -> None:
            for index, document in pending:  # one shared iterator: each document once
                results[index] = await _post_one(client, target, index, document, retry)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(documents)))))
    return [result for result in results if result is not None]


async def _post_one(client: httpx.AsyncClient, url: str, index: int, document: dict[str, Any],
                    policy: RetryPolicy) -> PostResult:
    started = time.perf_counter()
    try:
        delivery = await _deliver(client, url, _encode(document), policy)
    except httpx.HTTPError as exc:  # not retried (e.g. a read timeout)
        delivery = _Delivery(None, exc, (time.perf_counter() - started,))
    latency = time.perf_counter() - started
    attempts = len(delivery.attempt_latencies)
    if delivery.response is None:
        failure = f"{type(delivery.exception).__name__}: {delivery.exception}"
        return PostResult(index, None, None, failure, latency, attempts,
                          delivery.attempt_latencies)
    uuid, error = _interpret(delivery.response)
    return PostResult(index, delivery.response.status_code, uuid, error, latency, attempts,
                      delivery.attempt_latencies)


async def _deliver(client: httpx.AsyncClient, url: str, body: bytes,
                   policy: RetryPolicy) -> _Delivery:
    if policy.attempts < 1:
        raise ValueError("attempts must be at least 1")
    latencies: list[float] = []
    response: httpx.Response | None = None
    failure: Exception | None = None
    for attempt in range(1, policy.attempts + 1):
        if attempt > 1:
            await policy.sleep(policy.backoff(attempt - 1))
        started = time.perf_counter()
        try:
            response, failure = await client.post(url, content=body, headers=_HEADERS), None
        except _RETRIED_ERRORS as exc:
            response, failure = None, exc
        latencies.append(time.perf_counter() - started)
        if response is not None and not should_retry(response):
            break
    return _Delivery(response, failure, tuple(latencies))


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def _interpret(response: httpx.Response) -> tuple[str | None, str | None]:
    """The node UUID of a success, or the error message of a failure."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        uuid = body.get("uuid") if isinstance(body, dict) else None
        return (str(uuid) if uuid else None), None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return None, str(error["message"])
    return None, response.text[:200] or response.reason_phrase
