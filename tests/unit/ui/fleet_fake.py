"""An in-memory FleetStore with the real one's interface, for the pages' unit tests."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable
from typing import Any

from metalscope.fleet.query import IN_PROGRESS, FleetPage, FleetQuery, FleetRow
from metalscope.fleet.summary import HardwareSummary, MatchedRule

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)


def summary(**changes: Any) -> HardwareSummary:
    values: dict[str, Any] = {
        "vendor": "Dell Inc.", "model": "PowerEdge R640", "serial": "SN-1",
        "cpu_model": "Intel Xeon Gold 6230", "cpu_count": 40, "cpu_arch": "x86_64",
        "memory_mib": 196608, "disk_count": 2, "disk_bytes": 1_920_000_000_000,
        "nic_count": 2, "macs": ("52:54:00:00:00:01", "52:54:00:00:00:02"),
        "boot_mode": "uefi", "rules": (MatchedRule("r-1", "big memory"),)}
    values.update(changes)
    return HardwareSummary(**values)


def row(uuid: str, name: str | None = None, state: str = "finished", *,
        error: str | None = None, hardware: HardwareSummary | None = None,
        minutes: int = 0) -> FleetRow:
    finished = T0 + datetime.timedelta(minutes=minutes) if state in ("finished", "error") \
        else None
    return FleetRow(uuid=uuid, name=name, state=state, started_at=T0, finished_at=finished,
                    error=error, summary=hardware, inspected_at=finished if hardware else None)


class FakeFleetStore:
    def __init__(self, rows: Iterable[FleetRow] = ()) -> None:
        self.rows = list(rows)
        self.queries: list[FleetQuery] = []

    async def page(self, query: FleetQuery) -> FleetPage:
        self.queries.append(query)
        matching = [r for r in self.rows if self._matches(r, query)]
        matching.sort(key=lambda r: _sort_key(r, query.sort), reverse=query.descending)
        return FleetPage(rows=matching[query.offset:query.offset + query.limit],
                         total=len(matching), query=query,
                         state_counts=dict(Counter(r.state for r in self.rows)))

    async def row(self, uuid: str) -> FleetRow | None:
        return next((r for r in self.rows if r.uuid == uuid), None)

    async def save_summary(self, uuid: str, name: str | None, summary: HardwareSummary,
                           inspected_at: datetime.datetime) -> None:
        raise NotImplementedError

    @staticmethod
    def _matches(r: FleetRow, query: FleetQuery) -> bool:
        if query.state == IN_PROGRESS and r.state in ("finished", "error"):
            return False
        if query.state not in (None, IN_PROGRESS) and r.state != query.state:
            return False
        if not query.search:
            return True
        s = r.summary
        haystack = [r.uuid, r.name, r.error, *(
            (s.vendor, s.model, s.serial, s.cpu_model, *s.macs) if s else ())]
        return any(query.search.lower() in text.lower() for text in haystack if text)


def _sort_key(r: FleetRow, key: str) -> tuple[bool, Any]:
    value = getattr(r, key, None)
    if value is None and r.summary is not None:
        value = getattr(r.summary, key, None)
    return (value is not None, value if value is not None else 0)
