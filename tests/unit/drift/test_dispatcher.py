"""DriftDispatcher: emit never waits nor raises, bounded queues, bounded drain at shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from metalscope.drift.dispatcher import DriftDispatcher
from metalscope.drift.events import DriftEvent
from metalscope.drift.log_notifier import LogNotifier
from metalscope.log_context import ContextFilter
from metalscope.metrics import Metrics, render
from tests.unit.drift.events import NODE_UUID, drift_event

#: Ends a test that would otherwise hang on a bug; not a measure of speed.
HANG_GUARD = 30


class Recorder:
    """A notifier that records events; while ``gate`` is clear, a delivery waits."""

    def __init__(self, queue_size: int = 100, fail: bool = False) -> None:
        self.queue_size = queue_size
        self.fail = fail
        self.gate = asyncio.Event()
        self.gate.set()
        self.started: list[DriftEvent] = []
        self.delivered: list[DriftEvent] = []
        self.closed = False

    async def notify(self, event: DriftEvent) -> None:
        self.started.append(event)
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("receiver unreachable")
        self.delivered.append(event)

    async def aclose(self) -> None:
        self.closed = True


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_emit_returns_before_delivery_and_delivers_in_order() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    dispatcher = DriftDispatcher({"rec": recorder})
    events = [drift_event(v) for v in (2, 3, 4)]
    for event in events:
        dispatcher.emit(event)
    assert recorder.delivered == []  # nothing ran yet: emit only queued
    recorder.gate.set()
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    assert recorder.delivered == events and recorder.closed


async def test_a_failing_notifier_is_logged_and_does_not_stop_others(
        caplog: pytest.LogCaptureFixture) -> None:
    failing, working = Recorder(fail=True), Recorder()
    dispatcher = DriftDispatcher({"failing": failing, "working": working})
    dispatcher.emit(drift_event(2))
    dispatcher.emit(drift_event(3))
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    assert len(working.delivered) == 2 and len(failing.started) == 2
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 2 and "receiver unreachable" in gave_up[0].getMessage()


async def test_deliveries_are_counted_by_notifier_and_result() -> None:
    metrics = Metrics()
    failing, working = Recorder(fail=True), Recorder()
    dispatcher = DriftDispatcher({"failing": failing, "working": working}, metrics=metrics)
    dispatcher.emit(drift_event(2))
    dispatcher.emit(drift_event(3))
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    text = render(metrics, None)[0].decode()
    assert "metalscope_drift_events_total 2.0" in text
    for line in ('{notifier="failing",result="failed"} 2.0',
                 '{notifier="working",result="delivered"} 2.0',
                 '{notifier="working",result="queued"} 2.0'):
        assert f"metalscope_drift_deliveries_total{line}" in text


def test_emit_outside_a_loop_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    DriftDispatcher({"rec": Recorder()}).emit(drift_event())
    assert "could not queue" in caplog.text


async def test_a_full_queue_drops_the_oldest(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(queue_size=2)
    recorder.gate.clear()
    dispatcher = DriftDispatcher({"rec": recorder})
    dispatcher.emit(drift_event(2))
    await settle()  # event 2 is being delivered (held by the gate), the queue is empty
    for version in (3, 4, 5, 6):
        dispatcher.emit(drift_event(version))
    dropped = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(dropped) == 2 and all(r.levelno == logging.WARNING for r in dropped)
    assert drift_event(3).delivery_id in dropped[0].getMessage()
    recorder.gate.set()
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    assert [e.to_version for e in recorder.delivered] == [2, 5, 6]


async def test_shutdown_drain_is_bounded_and_logs_what_is_lost(
        caplog: pytest.LogCaptureFixture) -> None:
    stuck = Recorder()
    stuck.gate.clear()  # a receiver that never answers
    dispatcher = DriftDispatcher({"stuck": stuck}, shutdown_timeout=0.05)
    for version in (2, 3):
        dispatcher.emit(drift_event(version))
    await settle()
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    assert stuck.delivered == [] and stuck.closed
    [lost] = [r for r in caplog.records if "not delivered at shutdown" in r.getMessage()]
    assert "2 event(s)" in lost.getMessage()
    assert all(drift_event(v).delivery_id in lost.getMessage() for v in (2, 3))
    assert all(lane.worker is None or lane.worker.done() for lane in dispatcher.lanes)


async def test_zero_timeout_cancels_at_once() -> None:
    stuck = Recorder()
    stuck.gate.clear()
    dispatcher = DriftDispatcher({"stuck": stuck}, shutdown_timeout=0)
    dispatcher.emit(drift_event())
    await settle()
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    assert stuck.closed and stuck.delivered == []


async def test_events_after_close_are_logged_not_delivered(
        caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    dispatcher = DriftDispatcher({"rec": recorder})
    await dispatcher.aclose()
    dispatcher.emit(drift_event())
    await settle()
    assert recorder.started == [] and "after shutdown began" in caplog.text


async def test_no_notifiers() -> None:
    dispatcher = DriftDispatcher({})
    dispatcher.emit(drift_event())
    await dispatcher.aclose()


async def test_log_notifier_one_info_line_with_node_context(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO, logger="metalscope.drift")
    dispatcher = DriftDispatcher({"log": LogNotifier()})
    event = drift_event()
    dispatcher.emit(event)
    await asyncio.wait_for(dispatcher.aclose(), HANG_GUARD)
    [line] = [r for r in caplog.records if r.name == "metalscope.drift.log_notifier"]
    assert line.levelno == logging.INFO
    assert line.__dict__["node_uuid"] == NODE_UUID
    assert line.getMessage() == (f"Hardware drift on node {NODE_UUID} (compute-7) versions "
                                 f"1 → 2: {event.summary}")
