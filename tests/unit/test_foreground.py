"""The foreground: which accounted requests run their own code, and background work's turn.

A request runs from its start to its end except while it waits on Ironic; a database wait
does not stop it. Background work's turn comes when none runs, or after ``max_defer``.
"""

from __future__ import annotations

import asyncio

import pytest

from metalscope.foreground import Foreground
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


def test_a_request_runs_but_while_it_waits_on_ironic() -> None:
    foreground = Foreground()
    shares: list[Share] = []
    with accounted(shares.append, foreground):
        assert foreground.running == 1
        with waiting_on(IRONIC):
            assert foreground.running == 0
            with waiting_on(DATABASE):  # nested: still the Ironic wait
                assert foreground.running == 0
        assert foreground.running == 1
        with waiting_on(DATABASE):
            assert foreground.running == 1
    assert foreground.running == 0


def test_two_requests_count_apart() -> None:
    foreground = Foreground()
    first = Share(foreground)
    second = Share(foreground)
    assert foreground.running == 2
    first._enter(IRONIC)
    assert foreground.running == 1
    second.end()
    assert foreground.running == 0
    first._exit()
    assert foreground.running == 1
    first.end()
    assert foreground.running == 0


def test_a_request_ended_inside_an_ironic_wait_is_not_counted_twice() -> None:
    foreground = Foreground()
    share = Share(foreground)
    other = Share(foreground)
    share._enter(IRONIC)
    share.end()  # cancelled while waiting
    share._exit()  # the wait's block unwinds after the end
    assert foreground.running == 1
    other.end()
    assert foreground.running == 0


async def test_the_turn_comes_at_once_when_no_request_runs() -> None:
    foreground = Foreground(max_defer=60)
    await asyncio.wait_for(foreground.turn(), 1)


async def test_the_turn_waits_for_the_running_request_to_wait_on_ironic() -> None:
    foreground = Foreground(max_defer=60)
    steps: list[str] = []

    async def background() -> None:
        await foreground.turn()
        steps.append("background")

    with accounted(lambda share: None, foreground):
        with detached():  # as background work is spawned: without the request's share
            task = asyncio.create_task(background())
        for _ in range(5):
            await asyncio.sleep(0)
        steps.append("request runs")
        with waiting_on(IRONIC):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        steps.append("request back")
    await task
    assert steps == ["request runs", "background", "request back"]


async def test_the_turn_comes_after_max_defer_when_requests_keep_running() -> None:
    foreground = Foreground(max_defer=0.05)
    shares: list[Share] = []
    with accounted(shares.append, foreground):
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait_for(_background_turn(foreground, shares), 5)
        assert loop.time() - began >= 0.04


async def _background_turn(foreground: Foreground, shares: list[Share]) -> None:
    metrics = Metrics()
    with metrics.finish_timer():
        await foreground.turn()
    # The wait is the finishing step's wait on requests, not its own share.
    assert value(metrics, "metalscope_finish_wait_seconds_sum", on=REQUESTS) >= 0.04
    assert value(metrics, "metalscope_finish_own_seconds_sum") < 0.04


def test_the_metrics_declare_the_requests_wait() -> None:
    metrics = Metrics()
    assert value(metrics, "metalscope_callback_wait_seconds_count", on=REQUESTS) == 0
    assert value(metrics, "metalscope_finish_wait_seconds_count", on=REQUESTS) == 0


@pytest.mark.parametrize("kind", [IRONIC, DATABASE])
def test_without_a_listener_nothing_is_told(kind: str) -> None:
    shares: list[Share] = []
    with accounted(shares.append), waiting_on(kind):
        pass
    assert shares[0].ended
