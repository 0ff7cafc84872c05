"""The latency share: waits counted by kind, once when nested, per request, ended once.

A fake clock replaces ``perf_counter`` (advanced by hand), so the figures are exact and
nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from metalscope import latency_share
from metalscope.latency_share import (
    DATABASE,
    IRONIC,
    REQUESTS,
    Share,
    accounted,
    detached,
    waiting_on,
)
from metalscope.metrics import Metrics
from tests.unit.metrics.test_registry import value


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(latency_share, "perf_counter", fake)
    yield fake


def test_waits_by_kind_and_the_rest_is_own(clock: Clock) -> None:
    shares: list[Share] = []
    with accounted(shares.append):
        clock.advance(1)
        with waiting_on(IRONIC):
            clock.advance(10)
        clock.advance(2)
        with waiting_on(DATABASE):
            clock.advance(3)
        with waiting_on(IRONIC):
            clock.advance(5)
    [share] = shares
    assert share.ended
    assert share.total == 21
    assert share.waits() == {IRONIC: 15, DATABASE: 3, REQUESTS: 0}
    assert share.own == 3


def test_nested_waits_count_once_for_the_outermost_kind(clock: Clock) -> None:
    shares: list[Share] = []
    with accounted(shares.append), waiting_on(IRONIC):
        clock.advance(1)
        with waiting_on(DATABASE):
            clock.advance(4)
            with waiting_on(IRONIC):
                clock.advance(2)
        clock.advance(1)
    [share] = shares
    assert share.waits() == {IRONIC: 8, DATABASE: 0, REQUESTS: 0}
    assert share.own == 0


def test_outside_a_request_a_wait_counts_nowhere(clock: Clock) -> None:
    assert latency_share.current() is None
    with waiting_on(IRONIC):
        clock.advance(1)
    shares: list[Share] = []
    with accounted(shares.append):
        clock.advance(1)
    assert shares[0].waits() == {IRONIC: 0, DATABASE: 0, REQUESTS: 0}
    assert latency_share.current() is None  # unbound again after the request


def test_an_exception_still_ends_and_reports_the_share(clock: Clock) -> None:
    shares: list[Share] = []
    with pytest.raises(RuntimeError), accounted(shares.append):
        clock.advance(1)
        with waiting_on(DATABASE):
            clock.advance(2)
            raise RuntimeError("refused")
    [share] = shares
    assert (share.total, share.database, share.own) == (3, 2, 1)
    assert latency_share.current() is None


def test_a_wait_left_open_by_the_end_counts_until_the_end(clock: Clock) -> None:
    shares: list[Share] = []
    wait = waiting_on(IRONIC)
    with accounted(shares.append):
        wait.__enter__()
        clock.advance(4)
    clock.advance(7)
    wait.__exit__(None, None, None)  # after the end: ignored
    [share] = shares
    assert (share.total, share.ironic, share.own) == (4, 4, 0)


def test_waits_after_the_end_are_ignored(clock: Clock) -> None:
    shares: list[Share] = []
    with accounted(shares.append) as share:
        clock.advance(1)
    token = latency_share._CURRENT.set(share)  # a task that kept the context, say
    try:
        with waiting_on(DATABASE):
            clock.advance(5)
    finally:
        latency_share._CURRENT.reset(token)
    assert (share.total, share.database) == (1, 0)


async def test_concurrent_requests_do_not_mix(clock: Clock) -> None:
    shares: dict[str, Share] = {}
    first_waiting = asyncio.Event()
    second_done = asyncio.Event()

    async def first() -> None:
        with accounted(lambda share: shares.__setitem__("first", share)), waiting_on(IRONIC):
            first_waiting.set()
            await second_done.wait()  # the second request runs meanwhile
            clock.advance(1)

    async def second() -> None:
        await first_waiting.wait()
        with accounted(lambda share: shares.__setitem__("second", share)):
            clock.advance(2)
            with waiting_on(DATABASE):
                clock.advance(3)
        second_done.set()

    await asyncio.gather(first(), second())
    assert shares["first"].waits() == {IRONIC: 6, DATABASE: 0, REQUESTS: 0}
    assert shares["second"].waits() == {IRONIC: 0, DATABASE: 3, REQUESTS: 0}
    assert (shares["second"].total, shares["second"].own) == (5, 2)


async def test_a_task_the_request_awaits_adds_to_it_a_detached_one_does_not(
        clock: Clock) -> None:
    async def database_call() -> None:
        with waiting_on(DATABASE):
            clock.advance(2)

    shares: list[Share] = []
    with accounted(shares.append) as bound:
        await asyncio.shield(database_call())  # a task copying the request's context
        with detached():
            background = asyncio.get_running_loop().create_task(database_call())
        assert latency_share.current() is bound
    await background
    [share] = shares
    assert share.database == 2
    assert share.total == 2


def test_the_metrics_observe_one_callback_each(clock: Clock) -> None:
    metrics = Metrics()
    with metrics.callback_timer():
        clock.advance(0.001)
        with waiting_on(IRONIC):
            clock.advance(0.02)
        with waiting_on(DATABASE):
            clock.advance(0.003)
    assert value(metrics, "metalscope_callback_duration_seconds_count") == 1
    assert value(metrics, "metalscope_callback_own_seconds_count") == 1
    assert value(metrics, "metalscope_callback_own_seconds_sum") == pytest.approx(0.001)
    for kind, seconds in ((IRONIC, 0.02), (DATABASE, 0.003)):
        assert value(metrics, "metalscope_callback_wait_seconds_count", on=kind) == 1
        assert value(metrics, "metalscope_callback_wait_seconds_sum",
                     on=kind) == pytest.approx(seconds)
    assert value(metrics, "metalscope_callback_duration_seconds_sum") == pytest.approx(0.024)
    # Fine buckets below 10 ms: the own share falls in the first one.
    assert value(metrics, "metalscope_callback_own_seconds_bucket", le="0.0015") == 1
    assert value(metrics, "metalscope_callback_own_seconds_bucket", le="0.0005") == 0


def test_the_finishing_step_has_histograms_of_its_own(clock: Clock) -> None:
    metrics = Metrics()
    with metrics.finish_timer():
        clock.advance(0.002)
        with waiting_on(DATABASE):
            clock.advance(0.004)
    assert value(metrics, "metalscope_finish_own_seconds_sum") == pytest.approx(0.002)
    assert value(metrics, "metalscope_finish_wait_seconds_sum",
                 on=DATABASE) == pytest.approx(0.004)
    assert value(metrics, "metalscope_callback_own_seconds_count") == 0
