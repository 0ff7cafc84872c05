"""The ``webhook`` drift notifier: each event POSTed as signed JSON, retried with back-off.

One event is one POST of its :meth:`~metalscope.drift.events.DriftEvent.payload` (compact
JSON) to ``[drift]webhook_url``, with the headers of :mod:`metalscope.drift.signature`.
Each attempt is signed again with the time it is sent. Connection errors, timeouts, 429 and
5xx answers are retried, ``webhook_retry_delay`` seconds after the first failure, doubling
up to ``webhook_max_retry_delay``, each wait drawn between half and the whole of that
("equal jitter", so instances that failed together do not retry together); a 429's or
503's ``Retry-After`` (in seconds) lengthens a wait, within the same bound. Any other answer
(2xx apart) is final: retrying a 400 would get the same answer. After
``webhook_max_attempts`` the event is given up (:class:`DeliveryFailed`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from metalscope.drift.events import EVENT_TYPE, DriftEvent
from metalscope.drift.signature import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The webhook gave an event up: a final answer, or no attempt left."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    delay: float = 1.0
    max_delay: float = 60.0

    def backoff(self, failures: int, jitter: Callable[[float, float], float]) -> float:
        """The wait after the ``failures``-th failed attempt (1, 2, …)."""
        ceiling = min(self.max_delay, self.delay * 2 ** (failures - 1))
        return jitter(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Failure:
    """Why an attempt failed, whether another may succeed, and the receiver's Retry-After."""

    problem: str
    retryable: bool
    retry_after: float | None = None


def is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


def retry_after(response: httpx.Response) -> float | None:
    """A ``Retry-After`` in seconds (an HTTP date is ignored)."""
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def shown_url(url: str) -> str:
    """The URL without credentials or query, for log lines."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None))


class WebhookNotifier:
    """POSTs drift events to one URL (see the module's documentation)."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None, queue_size: int = 1000,
                 verify: ssl.SSLContext | bool = True,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 jitter: Callable[[float, float], float] = random.uniform,
                 clock: Callable[[], float] = time.time) -> None:
        self.url = url
        self.target = shown_url(url)
        self.queue_size = queue_size
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._secret = secret.encode()
        self._sleep, self._jitter, self._clock = sleep, jitter, clock
        self._client = httpx.AsyncClient(timeout=timeout, verify=verify, transport=transport,
                                         follow_redirects=False)

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.target!r})"

    async def notify(self, event: DriftEvent) -> None:
        body = json.dumps(event.payload(), separators=(",", ":")).encode()
        attempts = self.retry.max_attempts
        for attempt in range(1, attempts + 1):
            failure = await self.attempt(event, body)
            if failure is None:
                LOG.debug("Drift event %s delivered to %s", event.delivery_id, self.target)
                return
            if not failure.retryable or attempt == attempts:
                raise DeliveryFailed(f"webhook {self.target} refused or missed delivery "
                                     f"{event.delivery_id} after {attempt} attempt(s): "
                                     f"{failure.problem}")
            wait = self.wait_after(attempt, failure)
            LOG.warning("Webhook %s: attempt %d of %d for delivery %s failed (%s); "
                        "retrying in %.1f s", self.target, attempt, attempts,
                        event.delivery_id, failure.problem, wait)
            await self._sleep(wait)

    def wait_after(self, failures: int, failure: Failure) -> float:
        wait = self.retry.backoff(failures, self._jitter)
        if failure.retry_after is not None:
            wait = min(max(wait, failure.retry_after), self.retry.max_delay)
        return wait

    async def attempt(self, event: DriftEvent, body: bytes) -> Failure | None:
        """One signed POST; None when the receiver accepted it (2xx)."""
        try:
            response = await self._client.post(self.url, content=body,
                                               headers=self.headers(event, body))
        except httpx.TimeoutException:
            return Failure(f"no answer within {self.timeout:g} s", True)
        except httpx.TransportError as exc:
            return Failure(f"{type(exc).__name__}: {exc}", True)
        if response.is_success:
            return None
        return Failure(f"HTTP {response.status_code}", is_retryable(response.status_code),
                       retry_after(response))

    def headers(self, event: DriftEvent, body: bytes) -> dict[str, str]:
        timestamp = int(self._clock())
        return {"Content-Type": "application/json",
                EVENT_HEADER: EVENT_TYPE,
                DELIVERY_HEADER: event.delivery_id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self._secret, timestamp, body)}

    async def aclose(self) -> None:
        await self._client.aclose()


# -- from the settings ---------------------------------------------------------------------------
def webhook_notifier(settings: Settings) -> WebhookNotifier:
    """The entry point: a notifier from ``[drift]``'s webhook options, checked."""
    drift = settings.drift
    url = _checked_url(drift.webhook_url)
    if not drift.webhook_secret:
        raise ConfigurationError("[drift]webhook_secret must be set to use the webhook "
                                 "drift notifier")
    return WebhookNotifier(
        url, drift.webhook_secret, timeout=drift.webhook_timeout,
        retry=RetryPolicy(drift.webhook_max_attempts, drift.webhook_retry_delay,
                          drift.webhook_max_retry_delay),
        queue_size=drift.webhook_queue_size,
        verify=tls_verify(drift.webhook_cafile, drift.webhook_insecure))


def _checked_url(url: str | None) -> str:
    if not url:
        raise ConfigurationError("[drift]webhook_url must be set to use the webhook drift "
                                 "notifier")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"[drift]webhook_url {url!r} is not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"[drift]webhook_url must be an http:// or https:// URL, "
                                 f"not {shown_url(url)!r}")
    return url


def tls_verify(cafile: str | None, insecure: bool) -> ssl.SSLContext | bool:
    """httpx's ``verify``: off with ``insecure``, the given CAs, or the system's."""
    if insecure:
        return False
    if not cafile:
        return True
    if not os.path.isfile(cafile):
        raise ConfigurationError(f"[drift]webhook_cafile {cafile} is not a file")
    try:
        return ssl.create_default_context(cafile=cafile)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"[drift]webhook_cafile {cafile} holds no usable certificate: {exc}") from exc
