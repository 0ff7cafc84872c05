"""FleetQuery.parse: the fleet page's parameters, their defaults and their errors."""

from __future__ import annotations

import pytest

from metalscope.errors import InvalidRequest
from metalscope.fleet.query import SORT_KEYS, FleetQuery


def test_no_parameters_give_the_defaults() -> None:
    assert FleetQuery.parse({}) == FleetQuery(None, None, "finished_at", True, 0, 50)


def test_empty_parameters_are_the_defaults() -> None:
    assert FleetQuery.parse({"q": " ", "state": "", "sort": "", "desc": "",
                             "offset": "", "limit": ""}) == FleetQuery()


def test_every_parameter() -> None:
    query = FleetQuery.parse({"q": " Dell ", "state": "in_progress", "sort": "memory_mib",
                              "desc": "0", "offset": "100", "limit": "500", "other": "x"})
    assert query == FleetQuery("Dell", "in_progress", "memory_mib", False, 100, 500)
    assert FleetQuery.parse(query.params()) == query


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_every_sort_key_is_accepted(sort: str) -> None:
    assert FleetQuery.parse({"sort": sort}).sort == sort


@pytest.mark.parametrize("state", ["starting", "waiting", "processing", "finished", "error",
                                   "reapplying", "enrolling", "aborting", "in_progress"])
def test_every_state_is_accepted(state: str) -> None:
    assert FleetQuery.parse({"state": state}).state == state


@pytest.mark.parametrize(("params", "message"), [
    ({"sort": "ram"}, "Unknown sort key 'ram'; expected one of name, uuid"),
    ({"state": "done"}, "Unknown state 'done'; expected one of starting"),
    ({"offset": "-1"}, "offset must be 0 or more, got -1"),
    ({"offset": "ten"}, "offset must be an integer, got 'ten'"),
    ({"limit": "0"}, "limit must be between 1 and 500, got 0"),
    ({"limit": "501"}, "limit must be between 1 and 500, got 501"),
    ({"limit": "1.5"}, "limit must be an integer, got '1.5'"),
    ({"desc": "maybe"}, "desc must be 1 or 0, got 'maybe'"),
    ({"q": "x" * 256}, "search text must be at most 255 characters"),
])
def test_bad_parameters_are_invalid_requests(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        FleetQuery.parse(params)
    assert str(raised.value).startswith(message)


def test_a_query_built_directly_is_checked_too() -> None:
    with pytest.raises(InvalidRequest, match="limit must be between 1 and 500"):
        FleetQuery(limit=1000)
