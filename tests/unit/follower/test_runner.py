"""The follower's periodic round (follower/runner.py): leader only, back-off doubling up
to max_backoff while Ironic fails, one log line and a metric per failed poll."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from metalscope.errors import IronicError
from metalscope.follower.poll import PollConfig, PollReport
from metalscope.follower.runner import Follower
from metalscope.metrics import Metrics
from metalscope.metrics.follower import FollowerMetrics


@dataclass
class ScriptedPoller:
    config: PollConfig
    failure: IronicError | None = None
    polls: int = 0

    async def poll(self) -> PollReport:
        self.polls += 1
        if self.failure is not None:
            raise self.failure
        return PollReport(recorded=1)


@dataclass
class Time:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def follower(poller: ScriptedPoller, time: Time, leader: bool = True,
             metrics: FollowerMetrics | None = None) -> Follower:
    return Follower(poller, lambda: leader, metrics, time)  # type: ignore[arg-type]


async def test_only_the_leader_polls() -> None:
    poller = ScriptedPoller(PollConfig())
    assert await follower(poller, Time(), leader=False).run_round() is None
    assert poller.polls == 0


async def test_failed_polls_wait_longer_each_time_up_to_max_backoff(
        caplog: pytest.LogCaptureFixture) -> None:
    config = PollConfig(poll_interval=30, max_backoff=200)
    poller = ScriptedPoller(config, IronicError("Cannot reach Ironic: refused", None))
    time = Time()
    registry = Metrics()
    runner = follower(poller, time, metrics=FollowerMetrics(registry.registry))
    gaps = []
    last = None
    for _ in range(400):  # one round every poll interval, as run_periodically calls it
        before = poller.polls
        with caplog.at_level(logging.ERROR):
            await runner.run_round()
        if poller.polls > before:
            if last is not None:
                gaps.append(time.now - last)
            last = time.now
        time.now += 30
    assert gaps[:4] == [30, 60, 120, 210]
    assert set(gaps[4:]) == {210}  # max_backoff, at the next round
    assert "Ironic is unreachable" in caplog.text and "next poll in 200 s" in caplog.text
    assert registry.registry.get_sample_value("metalscope_follower_backoff_seconds") == 200
    poller.failure = None
    time.now += 300
    report = await runner.run_round()
    assert report is not None and runner.failures == 0
    assert registry.registry.get_sample_value("metalscope_follower_backoff_seconds") == 0


@pytest.mark.parametrize(("status", "result", "words"), [
    (401, "unauthorized", "refused the credentials"),
    (403, "forbidden", "forbids"),
    (503, "unreachable", "unreachable"),
])
async def test_each_failure_has_its_line_and_metric(
        caplog: pytest.LogCaptureFixture, status: int, result: str, words: str) -> None:
    metrics = Metrics()
    poller = ScriptedPoller(PollConfig(), IronicError("no", status))
    with caplog.at_level(logging.ERROR):
        await follower(poller, Time(), metrics=FollowerMetrics(metrics.registry)).run_round()
    assert words in caplog.text
    value = metrics.registry.get_sample_value("metalscope_follower_polls_total",
                                              {"result": result})
    assert value == 1
    assert metrics.registry.get_sample_value("metalscope_follower_backoff_seconds") == 30
