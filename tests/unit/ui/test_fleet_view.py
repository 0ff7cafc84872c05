"""The fleet table's view model: formatted rows, sort links, pager and state choices."""

from __future__ import annotations

from metalscope.fleet.query import FleetPage, FleetQuery
from metalscope.fleet.summary import MatchedRule
from metalscope.ui.fleet_view import (
    COLUMNS,
    Column,
    fleet_view,
    header,
    link,
    pager,
    query_params,
    row_view,
    state_choices,
)
from tests.unit.ui.fleet_fake import row, summary

UUID = "9d2b0a3c-2f43-4b8e-9d43-6a2f8bb4e1f5"


def column(name: str) -> Column:
    return next(c for c in COLUMNS if c.name == name)


class TestLinks:
    def test_defaults_are_left_out(self) -> None:
        assert query_params(FleetQuery()) == {}
        assert link(FleetQuery()) == "/ui/"

    def test_changes_kept_and_encoded(self) -> None:
        query = FleetQuery(search="a b&c", state="error", sort="name", descending=False,
                           offset=50, limit=100)
        assert query_params(query) == {"q": "a b&c", "state": "error", "sort": "name",
                                       "desc": "0", "offset": "50", "limit": "100"}
        assert link(query, offset=0) == "/ui/?q=a+b%26c&state=error&sort=name&desc=0&limit=100"


class TestHeaders:
    def test_text_column_sorts_ascending_first(self) -> None:
        h = header(column("name"), FleetQuery(offset=100))
        assert h.href == "/ui/?sort=name&desc=0" and h.direction is None

    def test_number_column_sorts_descending_first(self) -> None:
        assert header(column("memory"), FleetQuery()).href == "/ui/?sort=memory_mib"

    def test_active_column_flips(self) -> None:
        h = header(column("name"), FleetQuery(sort="name", descending=False))
        assert h.direction == "ascending" and h.href == "/ui/?sort=name"

    def test_unsortable(self) -> None:
        h = header(column("rules"), FleetQuery())
        assert h.href is None and h.direction is None


class TestPager:
    def test_first_middle_last(self) -> None:
        first = pager(FleetQuery(limit=10), 25)
        assert (first.prev_href, first.next_href, first.info) == (
            None, "/ui/?offset=10&limit=10", "1 to 10 of 25")
        last = pager(FleetQuery(limit=10, offset=20), 25)
        assert (last.prev_href, last.next_href, last.info) == (
            "/ui/?offset=10&limit=10", None, "21 to 25 of 25")

    def test_empty_and_beyond(self) -> None:
        assert pager(FleetQuery(), 0).info == "no nodes"
        beyond = pager(FleetQuery(offset=100), 20)
        assert beyond.info == "none of 20" and beyond.prev_href == "/ui/?offset=50"

    def test_thousands(self) -> None:
        assert pager(FleetQuery(offset=9950), 10_000).info == "9,951 to 10,000 of 10,000"


def test_state_choices_count_the_fleet() -> None:
    choices = state_choices("in_progress", {"finished": 5, "error": 2, "waiting": 3,
                                            "processing": 1})
    assert choices[0].label == "All states (11)" and not choices[0].selected
    in_progress = choices[1]
    assert (in_progress.value, in_progress.label, in_progress.selected) == (
        "in_progress", "in progress (4)", True)
    assert any(c.value == "enrolling" and c.label == "enrolling (0)" for c in choices)


class TestRows:
    def test_summary_formatted(self) -> None:
        view = row_view(row(UUID, "rack-1", hardware=summary(disk_bytes=None)))
        assert (view.name, view.cpu, view.cpu_title, view.memory, view.disks, view.nics) == (
            "rack-1", "40 × x86_64", "Intel Xeon Gold 6230", "192 GiB", "2", "2")
        assert view.rules == ("big memory",)

    def test_unknowns_are_dashes(self) -> None:
        view = row_view(row(UUID, None, "waiting"))
        assert view.name == UUID and view.finished == "—"
        assert {view.vendor, view.cpu, view.memory, view.disks, view.nics} == {"—"}
        assert view.rules == ()

    def test_partial_summary(self) -> None:
        view = row_view(row(UUID, hardware=summary(vendor=None, model="X1", cpu_arch=None,
                                                   cpu_count=8, disk_count=None)))
        assert (view.vendor, view.cpu, view.disks) == ("X1", "8", "—")

    def test_rule_without_description_shows_its_uuid(self) -> None:
        view = row_view(row(UUID, hardware=summary(rules=(MatchedRule("r-9", None),))))
        assert view.rules == ("r-9",)


def test_whole_page() -> None:
    query = FleetQuery(search="rack")
    view = fleet_view(FleetPage([row(UUID, "rack-1")], 1, query, {"finished": 1}))
    assert view.total == 1 and view.search == "rack" and len(view.rows) == 1
    assert [h.column.name for h in view.headers] == [c.name for c in COLUMNS]
    assert view.state_counts == [("finished", 1)]
