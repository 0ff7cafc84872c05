"""The fleet table: one page of :class:`~metalscope.fleet.query.FleetPage` as the page shows it.

Pure: the rows formatted (sizes with :mod:`metalscope.hardware.units`), the sort links of the
column headers, the pager and the state filter's choices. Links keep the other query
parameters and leave out those at their defaults, so the first page is plain ``/ui/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from metalscope.state_machine import State
from metalscope.ui import formatting
from metalscope.ui.formatting import UNKNOWN

if TYPE_CHECKING:
    from metalscope.fleet.query import FleetPage, FleetQuery, FleetRow
    from metalscope.fleet.summary import HardwareSummary

FLEET_PATH = "/ui/"
#: The filter's pseudo-state: any state but finished and error.
IN_PROGRESS = "in_progress"


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    #: The FleetQuery sort key, or None when the column cannot be sorted.
    sort: str | None
    #: Whether the first click sorts largest/newest first.
    descending_first: bool = False


COLUMNS = (
    Column("name", "Name", "name"),
    Column("uuid", "UUID", "uuid"),
    Column("state", "State", "state"),
    Column("finished", "Last inspection", "finished_at", True),
    Column("error", "Error", None),
    Column("vendor", "Vendor / model", "vendor"),
    Column("cpu", "CPU", "cpu_count", True),
    Column("memory", "Memory", "memory_mib", True),
    Column("disks", "Disks", "disk_bytes", True),
    Column("nics", "NICs", "nic_count", True),
    Column("rules", "Rules matched", None),
)


@dataclass(frozen=True)
class Header:
    column: Column
    href: str | None
    #: "ascending" / "descending" on the column the table is sorted by, else None.
    direction: str | None


@dataclass(frozen=True)
class RowView:
    uuid: str
    name: str
    state: str
    finished: str
    error: str | None
    vendor: str
    cpu: str
    cpu_title: str
    memory: str
    disks: str
    nics: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class StateChoice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class Pager:
    prev_href: str | None
    next_href: str | None
    info: str


@dataclass(frozen=True)
class FleetView:
    rows: list[RowView]
    total: int
    headers: list[Header]
    states: list[StateChoice]
    pager: Pager
    search: str
    #: How many nodes the whole fleet has in each state, for the summary line.
    state_counts: list[tuple[str, int]]


def fleet_view(page: FleetPage) -> FleetView:
    query = page.query
    return FleetView(
        rows=[row_view(row) for row in page.rows], total=page.total,
        headers=[header(column, query) for column in COLUMNS],
        states=state_choices(query.state, page.state_counts),
        pager=pager(query, page.total), search=query.search or "",
        state_counts=sorted(page.state_counts.items()))


def link(query: FleetQuery, **changes: Any) -> str:
    """The fleet page for ``query`` with ``changes`` (FleetQuery field names)."""
    params = query_params(dataclasses.replace(query, **changes))
    return f"{FLEET_PATH}?{urlencode(params)}" if params else FLEET_PATH


def query_params(query: FleetQuery) -> dict[str, str]:
    """The URL parameters of ``query`` (``q``, ``state``, ``sort``, ``desc``, ``offset``,
    ``limit``) that differ from their defaults."""
    names = {"search": "q", "state": "state", "sort": "sort", "descending": "desc",
             "offset": "offset", "limit": "limit"}
    params = {}
    for field in dataclasses.fields(query):
        value = getattr(query, field.name)
        if field.name in names and value != field.default and value not in (None, ""):
            params[names[field.name]] = _param(value)
    return params


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def header(column: Column, query: FleetQuery) -> Header:
    if column.sort is None:
        return Header(column, None, None)
    if query.sort == column.sort:
        descending = not query.descending
        direction: str | None = "descending" if query.descending else "ascending"
    else:
        descending, direction = column.descending_first, None
    return Header(column, link(query, sort=column.sort, descending=descending, offset=0),
                  direction)


def state_choices(selected: str | None, counts: Mapping[str, int]) -> list[StateChoice]:
    values = [IN_PROGRESS, *(state.value for state in State)]
    choices = [StateChoice("", f"All states ({sum(counts.values())})", not selected)]
    for value in values:
        count = (sum(n for s, n in counts.items() if s not in (State.FINISHED, State.ERROR))
                 if value == IN_PROGRESS else counts.get(value, 0))
        name = "in progress" if value == IN_PROGRESS else value
        choices.append(StateChoice(value, f"{name} ({count})", value == selected))
    return choices


def pager(query: FleetQuery, total: int) -> Pager:
    prev_href = link(query, offset=max(0, query.offset - query.limit)) if query.offset else None
    end = query.offset + query.limit
    next_href = link(query, offset=end) if end < total else None
    if total == 0 or query.offset >= total:
        info = f"none of {total:,}" if total else "no nodes"
    else:
        info = f"{query.offset + 1:,} to {min(end, total):,} of {total:,}"
    return Pager(prev_href, next_href, info)


def row_view(row: FleetRow) -> RowView:
    summary = row.summary
    return RowView(
        uuid=row.uuid, name=row.name or row.uuid, state=row.state,
        finished=formatting.timestamp(row.finished_at), error=row.error,
        vendor=vendor_model(summary), cpu=cpu(summary), cpu_title=cpu_title(summary),
        memory=formatting.memory(summary.memory_mib if summary else None),
        disks=disks(summary), nics=_number(summary.nic_count if summary else None),
        rules=rule_names(summary))


def vendor_model(summary: HardwareSummary | None) -> str:
    if summary is None:
        return UNKNOWN
    return " ".join(part for part in (summary.vendor, summary.model) if part) or UNKNOWN


def cpu(summary: HardwareSummary | None) -> str:
    if summary is None or summary.cpu_count is None:
        return UNKNOWN
    return f"{summary.cpu_count} × {summary.cpu_arch}" if summary.cpu_arch \
        else str(summary.cpu_count)


def cpu_title(summary: HardwareSummary | None) -> str:
    return (summary.cpu_model or "") if summary is not None else ""


def disks(summary: HardwareSummary | None) -> str:
    if summary is None or summary.disk_count is None:
        return UNKNOWN
    if summary.disk_bytes is None:
        return str(summary.disk_count)
    return f"{summary.disk_count} · {formatting.disk(summary.disk_bytes)}"


def rule_names(summary: HardwareSummary | None) -> tuple[str, ...]:
    if summary is None:
        return ()
    return tuple(rule.description or rule.uuid for rule in summary.rules)


def _number(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)

