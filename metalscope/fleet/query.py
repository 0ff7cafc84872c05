"""What a fleet page asks for and what it gets back.

:meth:`FleetQuery.parse` validates the page's query parameters (``q``, ``state``, ``sort``,
``desc``, ``offset``, ``limit``); a bad value is :class:`~metalscope.errors.InvalidRequest`
naming the parameter. The search is a case-insensitive substring of the node's UUID, name,
vendor, model, serial number, CPU model, MACs or error.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from metalscope.errors import InvalidRequest
from metalscope.fleet.summary import HardwareSummary
from metalscope.state_machine import State

SORT_KEYS = ("name", "uuid", "state", "started_at", "finished_at", "vendor", "model",
             "cpu_count", "memory_mib", "disk_count", "disk_bytes", "nic_count")
#: The state filter that selects every node not ``finished`` or ``error``.
IN_PROGRESS = "in_progress"
STATE_FILTERS = (*(state.value for state in State), IN_PROGRESS)
#: States an ``in_progress`` filter leaves out.
SETTLED_STATES = (State.FINISHED.value, State.ERROR.value)
MAX_LIMIT = 500
MAX_SEARCH = 255
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class FleetQuery:
    """One page of the fleet: filter, sort, offset and size."""

    search: str | None = None
    state: str | None = None
    sort: str = "finished_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise InvalidRequest(f"Unknown sort key {self.sort!r}; expected one of "
                                 f"{', '.join(SORT_KEYS)}")
        if self.state is not None and self.state not in STATE_FILTERS:
            raise InvalidRequest(f"Unknown state {self.state!r}; expected one of "
                                 f"{', '.join(STATE_FILTERS)}")
        if self.offset < 0:
            raise InvalidRequest(f"offset must be 0 or more, got {self.offset}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        if self.search is not None and len(self.search) > MAX_SEARCH:
            raise InvalidRequest(f"search text must be at most {MAX_SEARCH} characters")

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> FleetQuery:
        """The query of a page's parameters; missing or empty ones take the defaults."""
        given = {key: value.strip() for key, value in params.items()
                 if isinstance(value, str) and value.strip()}
        return cls(search=given.get("q"), state=given.get("state"),
                   sort=given.get("sort", cls.sort),
                   descending=_boolean(given, "desc", cls.descending),
                   offset=_integer(given, "offset", cls.offset),
                   limit=_integer(given, "limit", cls.limit))

    def params(self) -> dict[str, str]:
        """The parameters that give this query back through :meth:`parse`."""
        result = {"sort": self.sort, "desc": "1" if self.descending else "0",
                  "offset": str(self.offset), "limit": str(self.limit)}
        if self.search:
            result["q"] = self.search
        if self.state:
            result["state"] = self.state
        return result


def _boolean(params: Mapping[str, str], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidRequest(f"{name} must be 1 or 0, got {value!r}")


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, got {value!r}") from None


@dataclass(frozen=True)
class FleetRow:
    """One node of the fleet: its status record and, once processed, its summary."""

    uuid: str
    name: str | None
    state: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: str | None
    summary: HardwareSummary | None
    #: When the summary was taken (None without one).
    inspected_at: datetime.datetime | None


@dataclass(frozen=True)
class FleetPage:
    """The rows of one page, how many match the filter, and the whole fleet by state."""

    rows: list[FleetRow]
    total: int
    query: FleetQuery
    state_counts: dict[str, int]
