"""Decisions over pages of Ironic's node list (follower/scan.py)."""

from __future__ import annotations

import datetime
from typing import Any

from metalscope.follower import scan

T = datetime.datetime(2026, 12, 6, 12, 0)


def node(uuid: str, minutes: int | None, interface: str = "agent") -> dict[str, Any]:
    finished = None if minutes is None else (T + datetime.timedelta(minutes=minutes)).replace(
        tzinfo=datetime.UTC).isoformat()
    return {"uuid": uuid, "name": None, "inspection_finished_at": finished,
            "inspection_started_at": None, "inspect_interface": interface}


def test_the_walk_stops_below_the_watermark_less_the_lookback() -> None:
    page = scan.scan_fresh([node("a", 10), node("b", 5), node("c", 4), node("d", 1)],
                           T + datetime.timedelta(minutes=5) - scan.LOOKBACK)
    assert [s.uuid for s in page.moved] == ["a", "b", "c"]  # c: within the 2 min look-back
    assert page.done and page.newest == T + datetime.timedelta(minutes=10)


def test_the_anchor_is_the_newest_node_a_lookback_below_the_watermark() -> None:
    times = [("a", T), ("b", T + datetime.timedelta(minutes=3)),
             ("c", T + datetime.timedelta(minutes=9))]
    assert scan.choose_anchor(times, T + datetime.timedelta(minutes=5)) == (
        "b", T + datetime.timedelta(minutes=3))
    assert scan.choose_anchor(times, T + datetime.timedelta(minutes=1)) is None
    assert scan.choose_anchor(times, None) is None


def test_the_walk_up_takes_what_is_above_the_threshold() -> None:
    page = scan.scan_upwards([node("a", 1), node("b", 5), node("c", 9, "inspector")],
                             T + datetime.timedelta(minutes=4))
    assert [s.uuid for s in page.moved] == ["b"]
    assert [uuid for uuid, _ in page.times] == ["a", "b", "c"]


def test_nulls_first_are_skipped_and_nulls_after_a_time_end_the_walk() -> None:
    first = scan.scan_fresh([node("n1", None), node("n2", None)], T)
    assert not first.done and not first.valued and first.moved == []
    second = scan.scan_fresh([node("a", 3), node("n3", None), node("b", 2)], None)
    assert second.done and [s.uuid for s in second.moved] == ["a"]


def test_a_full_page_above_the_watermark_asks_for_the_next() -> None:
    page = scan.scan_fresh([node("a", 10), node("b", 9)], T)
    assert not page.done and len(page.moved) == 2


def test_our_own_inspections_move_the_watermark_but_are_not_queued() -> None:
    page = scan.scan_fresh([node("a", 10, "inspector"), node("b", 9)], T)
    assert [s.uuid for s in page.moved] == ["b"]
    assert page.newest == T + datetime.timedelta(minutes=10)


def test_the_backfill_takes_its_budget_and_keeps_its_place() -> None:
    nodes = [node("new", 30), node("a", 5), node("never", None), node("b", 4), node("c", 3)]
    step = scan.scan_backfill(nodes, T + datetime.timedelta(minutes=10), 2, None, True)
    assert [s.uuid for s in step.queued] == ["a", "b"]
    assert step.marker == "b" and not step.done
    rest = scan.scan_backfill(nodes[4:], T + datetime.timedelta(minutes=10), 2, "b", True)
    assert [s.uuid for s in rest.queued] == ["c"] and rest.done and rest.marker == "c"
    nulls = scan.scan_backfill([node("n1", None)], T, 2, None, False)
    assert nulls.marker is None  # never a node without a time


def test_gone_nodes_are_the_known_ones_the_range_lacks() -> None:
    assert scan.gone([{"uuid": "a"}, {"uuid": "c"}], ["a", "b", "c"]) == ["b"]
