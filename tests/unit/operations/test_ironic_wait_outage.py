"""IronicWait: steps tried again while Ironic is unreachable, until a deadline."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

import pytest

from metalscope.api.errors import status_for
from metalscope.errors import IronicError, NodeNotInIronic
from metalscope.operations.ironic_wait import (
    Deadline,
    IronicUnavailable,
    IronicWait,
    callback_deadline,
    introspection_deadline,
    is_unavailable,
)
from metalscope.settings import load_settings
from metalscope.storage.repository import utcnow

DOWN = IronicError("Cannot reach Ironic: All connection attempts failed", None)


class Flaky:
    """A step failing with ``error`` ``failures`` times, then answering ``"ok"``."""

    def __init__(self, failures: int, error: Exception = DOWN) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


@pytest.mark.parametrize("status,expected", [
    (None, True), (502, True), (503, True), (504, True),
    (400, False), (404, False), (409, False), (500, False),
])
def test_what_counts_as_unavailable(status: int | None, expected: bool) -> None:
    assert is_unavailable(IronicError("x", status)) is expected


def test_other_errors_are_not_unavailable() -> None:
    assert not is_unavailable(NodeNotInIronic("n1"))
    assert not is_unavailable(RuntimeError("x"))


def test_unavailable_is_a_retryable_503() -> None:
    exc = IronicUnavailable("Cannot reach Ironic: refused")
    assert status_for(exc) == 503
    assert str(exc) == (
        "Ironic could not be reached, please retry later: Cannot reach Ironic: refused")
    assert exc.headers == {"Retry-After": "5"} and exc.retry_after == 5
    assert exc.detail == "Cannot reach Ironic: refused"


async def test_answer_after_a_few_failures() -> None:
    step = Flaky(2)
    assert await IronicWait(Deadline.after(10)).call(step, "testing") == "ok"
    assert step.calls == 3


@pytest.mark.parametrize("error", [IronicError("Node is in maintenance", 400),
                                   IronicError("Node locked", 409), NodeNotInIronic("n1")])
async def test_refusals_are_not_retried(error: Exception) -> None:
    step = Flaky(1, error)
    with pytest.raises(type(error)):
        await IronicWait(Deadline.after(10)).call(step, "testing")
    assert step.calls == 1


async def test_gives_up_at_the_deadline() -> None:
    step = Flaky(1000)
    started = time.monotonic()
    with pytest.raises(IronicUnavailable) as exc:
        await IronicWait(Deadline.after(0.5)).call(step, "testing")
    elapsed = time.monotonic() - started
    assert 0.45 < elapsed < 1.5
    assert exc.value.detail == str(DOWN)
    assert 2 <= step.calls <= 4  # 0.2 s, then 0.3 s (what is left): no busy loop


async def test_zero_wait_gives_up_at_once_without_cutting_an_answer() -> None:
    """``ironic_wait = 0``: no retry, and a slow but healthy answer is not cut."""
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "ok"

    assert await IronicWait(Deadline.after(0)).call(slow, "testing") == "ok"
    step = Flaky(1)
    with pytest.raises(IronicUnavailable):
        await IronicWait(Deadline.after(0)).call(step, "testing")
    assert step.calls == 1


async def test_a_step_in_flight_at_the_deadline_is_cut() -> None:
    """A connection that hangs (SYN dropped) must not hold the ramdisk past its timeout."""
    async def hangs() -> str:
        await asyncio.sleep(30)
        return "late"

    started = time.monotonic()
    with pytest.raises(IronicUnavailable) as exc:
        await IronicWait(Deadline.after(0.3)).call(hangs, "testing")
    assert time.monotonic() - started < 1.5
    assert exc.value.detail == "Ironic did not answer in time"


async def test_unbounded_wait_keeps_trying() -> None:
    step = Flaky(2)
    assert await IronicWait(Deadline(None)).call(step, "testing") == "ok"
    assert step.calls == 3


async def test_back_off_carries_over_between_steps() -> None:
    """One wait serves one piece of work: the second step's pause is longer."""
    wait = IronicWait(Deadline.after(10))
    await wait.call(Flaky(1), "first")
    started = time.monotonic()
    await wait.call(Flaky(1), "second")
    assert time.monotonic() - started >= 0.35  # 0.4 s rather than the first 0.2 s


def _settings(timeout: int, ironic_wait: float = 20) -> Any:
    return load_settings(overrides={"DEFAULT": {"timeout": timeout},
                                    "processing": {"ironic_wait": ironic_wait}})


async def test_callback_deadline_is_ironic_wait() -> None:
    remaining = callback_deadline(_settings(3600, 7)).remaining()
    assert remaining is not None and 6.5 < remaining <= 7


async def test_introspection_deadline_follows_the_timeout() -> None:
    started = utcnow() - datetime.timedelta(seconds=600)
    remaining = introspection_deadline(_settings(3600), started).remaining()
    assert remaining is not None and 2990 < remaining <= 3000


async def test_introspection_deadline_is_at_least_ironic_wait() -> None:
    long_ago = utcnow() - datetime.timedelta(hours=5)
    remaining = introspection_deadline(_settings(3600, 20), long_ago).remaining()
    assert remaining is not None and 19 < remaining <= 20


async def test_introspection_deadline_without_timeout_is_unbounded() -> None:
    assert introspection_deadline(_settings(0), utcnow()).remaining() is None
    assert introspection_deadline(_settings(3600), None).remaining() is None
