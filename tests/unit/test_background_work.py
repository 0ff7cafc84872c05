"""Background work at a stop: awaited up to the bound, then cancelled."""

from __future__ import annotations

import asyncio

import pytest

from metalscope.services import BackgroundWork


async def test_drain_waits_for_work_that_ends_in_time() -> None:
    work, done = BackgroundWork(), []

    async def step() -> None:
        await asyncio.sleep(0.01)
        done.append("step")

    work.spawn(step(), "finish-step")
    await work.drain(5)
    assert done == ["step"] and not work.tasks


async def test_drain_cancels_what_outlives_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    work, unwound = BackgroundWork(), []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            unwound.append("lock released")

    task = work.spawn(forever(), "power-off")
    await work.drain(0.01)
    assert task.cancelled() and unwound == ["lock released"] and not work.tasks
    assert "Cancelling 1 background task(s) still running: power-off" in caplog.text
    assert "failed" not in caplog.text


async def test_drain_stops_waiting_when_interrupted() -> None:
    work, interrupt = BackgroundWork(), asyncio.Event()
    task = work.spawn(asyncio.Event().wait(), "reapply")
    asyncio.get_running_loop().call_later(0.01, interrupt.set)
    await work.drain(None, interrupt)
    assert task.cancelled()
