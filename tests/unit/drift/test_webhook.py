"""The webhook notifier over an httpx MockTransport: signing, retries, back-off, bounds."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest

from metalscope.drift.webhook import (
    DeliveryFailed,
    RetryPolicy,
    WebhookNotifier,
    retry_after,
)
from tests.unit.drift.events import drift_event
from tests.unit.drift.receiver import SECRET, receiver_accepts

URL = "https://hooks.example.org/metalscope?token=t0ken"
Answer = httpx.Response | Exception


class Receiver:
    """Answers each request with the next of ``answers`` (the last one repeats)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1765000000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def notifier(receiver: Receiver, *, sleeps: list[float] | None = None,
             jitter: Callable[[float, float], float] = lambda low, high: high,
             retry: RetryPolicy | None = None, clock: Clock | None = None) -> WebhookNotifier:
    async def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)

    return WebhookNotifier(URL, SECRET, retry=retry or RetryPolicy(5, 1.0, 60.0),
                           transport=httpx.MockTransport(receiver), sleep=sleep,
                           jitter=jitter, clock=clock or Clock())


async def test_one_signed_post_of_the_payload() -> None:
    receiver = Receiver(httpx.Response(204))
    clock = Clock()
    hook = notifier(receiver, clock=clock)
    event = drift_event()
    await hook.notify(event)
    await hook.aclose()
    [request] = receiver.requests
    assert request.method == "POST" and str(request.url) == URL
    assert json.loads(request.content) == event.payload()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-MetalScope-Event"] == "hardware.drift"
    assert request.headers["X-MetalScope-Delivery"] == event.delivery_id
    assert request.headers["X-MetalScope-Signature"].startswith("sha256=")
    assert receiver_accepts(SECRET, request.headers, request.content, now=clock.now)
    assert not receiver_accepts("wrong", request.headers, request.content, now=clock.now)


async def test_retries_connection_errors_timeouts_429_and_5xx_with_backoff() -> None:
    receiver = Receiver(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                        httpx.Response(503), httpx.Response(429), httpx.Response(200))
    sleeps: list[float] = []
    clock = Clock()
    hook = notifier(receiver, sleeps=sleeps, clock=clock, retry=RetryPolicy(6, 1.0, 60.0))
    await hook.notify(drift_event())
    assert len(receiver.requests) == 5
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    # Every attempt is signed again with its own time; the delivery id stays.
    stamps = [r.headers["X-MetalScope-Timestamp"] for r in receiver.requests]
    assert len(set(stamps)) == 5
    assert len({r.headers["X-MetalScope-Delivery"] for r in receiver.requests}) == 1
    assert all(receiver_accepts(SECRET, r.headers, r.content, now=clock.now)
               for r in receiver.requests)


async def test_backoff_has_jitter_and_a_ceiling() -> None:
    sleeps: list[float] = []
    hook = notifier(Receiver(httpx.Response(500)), sleeps=sleeps,
                    jitter=lambda low, high: low, retry=RetryPolicy(6, 10.0, 30.0))
    with pytest.raises(DeliveryFailed):
        await hook.notify(drift_event())
    assert sleeps == [5.0, 10.0, 15.0, 15.0, 15.0]  # half of 10, 20, 30 (ceiling), 30, 30
    policy = RetryPolicy(5, 1.0, 60.0)
    draws: list[tuple[float, float]] = []
    policy.backoff(3, lambda low, high: draws.append((low, high)) or high)
    assert draws == [(2.0, 4.0)]


async def test_retry_after_lengthens_a_wait_within_the_ceiling() -> None:
    sleeps: list[float] = []
    receiver = Receiver(httpx.Response(429, headers={"Retry-After": "7"}),
                        httpx.Response(503, headers={"Retry-After": "3600"}),
                        httpx.Response(200))
    await notifier(receiver, sleeps=sleeps).notify(drift_event())
    assert sleeps == [7.0, 60.0]
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422, 301])
async def test_other_answers_are_final(status: int) -> None:
    receiver = Receiver(httpx.Response(status), httpx.Response(200))
    sleeps: list[float] = []
    with pytest.raises(DeliveryFailed, match=f"after 1 attempt\\(s\\): HTTP {status}"):
        await notifier(receiver, sleeps=sleeps).notify(drift_event())
    assert len(receiver.requests) == 1 and sleeps == []


async def test_attempts_are_bounded() -> None:
    receiver = Receiver(httpx.ConnectError("refused"))
    sleeps: list[float] = []
    with pytest.raises(DeliveryFailed, match="after 3 attempt\\(s\\): ConnectError"):
        await notifier(receiver, sleeps=sleeps, retry=RetryPolicy(3, 1.0, 60.0)).notify(
            drift_event())
    assert len(receiver.requests) == 3 and len(sleeps) == 2


async def test_one_attempt_means_no_retry() -> None:
    receiver = Receiver(httpx.Response(503))
    with pytest.raises(DeliveryFailed):
        await notifier(receiver, retry=RetryPolicy(1, 1.0, 60.0)).notify(drift_event())
    assert len(receiver.requests) == 1


async def test_logs_show_neither_secret_nor_query(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(httpx.Response(503), httpx.Response(200))
    caplog.set_level(logging.DEBUG)
    hook = notifier(receiver)
    await hook.notify(drift_event())
    # httpx's own request lines are at INFO, which [DEFAULT]default_log_levels sets to WARN.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("metalscope"))
    assert "retrying in" in ours
    assert SECRET not in ours and "t0ken" not in ours
    assert SECRET not in repr(hook) and "t0ken" not in repr(hook)
