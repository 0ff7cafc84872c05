"""OutOfBandRuns: an abort cancels a node's collection, never its processing."""

from __future__ import annotations

import asyncio

from metalscope.out_of_band_runs import OutOfBandRuns


async def test_abort_only_while_collecting() -> None:
    runs = OutOfBandRuns(limit=2)
    release = asyncio.Event()
    task = asyncio.create_task(release.wait())
    runs.add("node-1", task)
    assert runs.running("node-1") and not runs.abort("node-2")
    runs.collected("node-1")
    assert not runs.abort("node-1") and not task.cancelled()
    runs.add("node-1", task)
    assert runs.abort("node-1") and runs.abort_requested("node-1")
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and not runs.running("node-1")
    assert not runs.abort_requested("node-1")
