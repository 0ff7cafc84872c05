"""``[processing]ramdisk_retry_window``: how long a finished node's callback is answered again."""

from __future__ import annotations

import datetime

import pytest

from metalscope.operations.repeats import retry_window_open
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord

FINISHED_AT = datetime.datetime(2026, 12, 5, 10, 0, 0)


def _record(finished_at: datetime.datetime | None = FINISHED_AT) -> NodeRecord:
    return NodeRecord("uuid-1", State.FINISHED, FINISHED_AT, finished_at, None, True, "v")


def _after(seconds: float) -> datetime.datetime:
    return FINISHED_AT + datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("elapsed,expected", [
    (0, True), (1, True), (299.999999, True), (300, True),  # the bound itself is inside
    (300.000001, False), (301, False), (86400, False),
])
def test_default_window_bounds(elapsed: float, expected: bool) -> None:
    assert retry_window_open(_record(), 300, _after(elapsed)) is expected


@pytest.mark.parametrize("elapsed", [0, 0.5, 10])
def test_zero_means_never(elapsed: float) -> None:
    assert retry_window_open(_record(), 0, _after(elapsed)) is False


def test_unfinished_record_has_no_window() -> None:
    assert retry_window_open(_record(finished_at=None), 300, _after(1)) is False


def test_clock_read_when_not_given() -> None:
    """Without ``now`` the current UTC time is used: a record finished a moment ago is in,
    one finished an hour ago is out."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert retry_window_open(_record(now - datetime.timedelta(seconds=1)), 300)
    assert not retry_window_open(_record(now - datetime.timedelta(hours=1)), 300)
