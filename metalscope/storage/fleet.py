"""The fleet pages' data: hardware summaries joined to the status records, paged in SQL.

Every node with a status record is listed, from ``nodes`` outer-joined to
``hardware_summaries`` (a node not processed yet has no summary). Filter, sort, offset and
limit run in the database; ``total`` is a COUNT of the filtered rows and ``state_counts`` a
GROUP BY over the whole fleet. The search is a case-insensitive substring of the summary's
``search_text`` (lower case, built when saved: name, vendor, model, serial, CPU model, MACs),
of the UUID or of the error. NULL sorts as the smallest value on every database (on
PostgreSQL too, where the ``nodes`` indexes of migration 0005 are built that way).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metalscope.fleet.query import (
    IN_PROGRESS,
    SETTLED_STATES,
    FleetPage,
    FleetQuery,
    FleetRow,
)
from metalscope.fleet.summary import HardwareSummary, MatchedRule
from metalscope.storage import tables as t
from metalscope.storage.transactions import transactions

_N, _S = t.nodes.c, t.hardware_summaries.c
#: Longest value a summary's text column holds.
_TEXT_LIMITS = {"name": 255, "vendor": 255, "model": 255, "serial": 255, "cpu_model": 255,
                "cpu_arch": 64, "boot_mode": 64}
_SORT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    # The state by name: PostgreSQL and MariaDB would sort their ENUM by declaration order.
    "name": _S.name, "uuid": _N.uuid, "state": sa.cast(_N.state, sa.String),
    "started_at": _N.started_at,
    "finished_at": _N.finished_at, "vendor": _S.vendor, "model": _S.model,
    "cpu_count": _S.cpu_count, "memory_mib": _S.memory_mib, "disk_count": _S.disk_count,
    "disk_bytes": _S.disk_bytes, "nic_count": _S.nic_count}
_JOINED = t.nodes.outerjoin(t.hardware_summaries, _S.uuid == _N.uuid)
_SELECT_ROWS = sa.select(_N.uuid, _N.state, _N.started_at, _N.finished_at, _N.error,
                         *(c for c in t.hardware_summaries.c if c.name != "uuid"),
                         _S.uuid.label("summary_uuid")).select_from(_JOINED)
_SUMMARY_SORTS = frozenset(("name", "vendor", "model", "cpu_count", "memory_mib", "disk_count",
                            "disk_bytes", "nic_count"))
_STATE_COUNTS = sa.select(_N.state, sa.func.count()).group_by(_N.state)
_UPDATE_SUMMARY = sa.update(t.hardware_summaries).where(_S.uuid == sa.bindparam("match_uuid"))
_INSERT_SUMMARY = sa.insert(t.hardware_summaries)


class FleetStore:
    """The fleet's rows: pages of nodes with their summaries, and the summaries' writes."""

    def __init__(self, engine: AsyncEngine,
                 on_retry: Callable[[], None] | None = None) -> None:
        self.engine = engine
        #: Called whenever a write transaction runs again (the retries metric).
        self.on_retry = on_retry

    async def page(self, query: FleetQuery) -> FleetPage:
        """One page of the fleet as ``query`` asks for it.

        The page's UUIDs come first from a narrow query, then their rows: a deep offset or
        a sort carries two columns per node, not whole rows. A sort by a node's column
        walks its ``nodes`` index; a descending sort by a summary's column first walks the
        summaries' index (the nodes with a value for it come first), and joins every node
        only for a page past them. A search counts its matches in the same statement as
        the page (one scan of the summaries, not two)."""
        where = _filters(query)
        async with self.engine.connect() as conn:
            uuids, total = await self._page_uuids(conn, query, where)
            found = {r.uuid: r for r in await conn.execute(_SELECT_ROWS.where(
                _N.uuid.in_(uuids)))} if uuids else {}
            if total is None:
                total = int((await conn.execute(sa.select(sa.func.count()).select_from(
                    t.nodes).where(*where))).scalar_one())
            counts = {str(state): int(n) for state, n in await conn.execute(_STATE_COUNTS)}
        rows = [_row(found[uuid]) for uuid in uuids if uuid in found]
        return FleetPage(rows, total, query, counts)

    async def _page_uuids(self, conn: AsyncConnection, query: FleetQuery,
                          where: list[sa.ColumnElement[bool]]) -> tuple[list[str], int | None]:
        """The page's UUIDs in order, and the number of matches when counted on the way."""
        column = _SORT_COLUMNS[query.sort]
        if query.sort in _SUMMARY_SORTS and query.descending and not query.search:
            valued = (sa.select(_S.uuid).select_from(t.hardware_summaries.join(
                t.nodes, _N.uuid == _S.uuid)).where(column.is_not(None), *where)
                .order_by(column.desc(), _S.uuid.desc())
                .offset(query.offset).limit(query.limit))
            uuids = list((await conn.execute(valued)).scalars())
            if len(uuids) == query.limit:
                return uuids, None
        counted = [sa.func.count().over().label("matches")] if query.search else []
        keys = (sa.select(_N.uuid, *counted)
                .select_from(_JOINED if query.sort in _SUMMARY_SORTS else t.nodes).where(*where)
                .order_by(*self._order(query)).offset(query.offset).limit(query.limit))
        rows = (await conn.execute(keys)).all()
        total = int(rows[0].matches) if counted and rows else None
        return [row.uuid for row in rows], total

    async def row(self, uuid: str) -> FleetRow | None:
        """The fleet row of one node; None when it has no status record."""
        async with self.engine.connect() as conn:
            found = (await conn.execute(_SELECT_ROWS.where(_N.uuid == uuid))).first()
        return _row(found) if found is not None else None

    async def save_summary(self, uuid: str, name: str | None, summary: HardwareSummary,
                           inspected_at: datetime.datetime) -> None:
        """Keep ``summary`` as the node's (replacing the one it had)."""
        values = summary_values(name, summary, inspected_at)
        try:
            await self._upsert(uuid, values)
        except IntegrityError:  # another instance inserted one first: ours is newer
            await self._upsert(uuid, values)

    async def _upsert(self, uuid: str, values: dict[str, Any]) -> None:
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                updated = await conn.execute(_UPDATE_SUMMARY, {"match_uuid": uuid, **values})
                if not updated.rowcount:
                    await conn.execute(_INSERT_SUMMARY, {"uuid": uuid, **values})

    async def unsummarised(self, limit: int) -> list[tuple[str, datetime.datetime | None]]:
        """Up to ``limit`` settled records without a summary whose processed data is kept in
        the database: (uuid, finished_at), oldest first."""
        data = t.introspection_data.c
        query = (sa.select(_N.uuid, _N.finished_at).select_from(
            _JOINED.join(t.introspection_data, data.uuid == _N.uuid))
            .where(_S.uuid.is_(None), _N.state.in_(SETTLED_STATES),
                   data.processed == sa.true())
            .order_by(_N.finished_at, _N.uuid).limit(limit))
        async with self.engine.connect() as conn:
            return [(uuid, finished) for uuid, finished in await conn.execute(query)]

    def _order(self, query: FleetQuery) -> list[sa.UnaryExpression[Any]]:
        column = _SORT_COLUMNS[query.sort]
        keys = [column.desc() if query.descending else column.asc(),
                _N.uuid.desc() if query.descending else _N.uuid.asc()]
        if self.engine.dialect.name == "postgresql":  # NULL is the largest value there
            keys[0] = keys[0].nulls_last() if query.descending else keys[0].nulls_first()
        return keys


def _filters(query: FleetQuery) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if query.state == IN_PROGRESS:
        where.append(_N.state.notin_(SETTLED_STATES))
    elif query.state is not None:
        where.append(_N.state == query.state)
    if query.search:
        # The summaries are searched once (an IN list the database builds), not per node.
        text = query.search.lower()
        summaries = sa.select(_S.uuid).where(_S.search_text.contains(text, autoescape=True))
        where.append(sa.or_(_N.uuid.in_(summaries),
                            _N.uuid.contains(text, autoescape=True),
                            sa.func.lower(_N.error).contains(text, autoescape=True)))
    return where


def summary_values(name: str | None, summary: HardwareSummary,
                   inspected_at: datetime.datetime) -> dict[str, Any]:
    """The columns of a summary row."""
    texts = {key: _clip(value, _TEXT_LIMITS[key]) for key, value in (
        ("name", name), ("vendor", summary.vendor), ("model", summary.model),
        ("serial", summary.serial), ("cpu_model", summary.cpu_model),
        ("cpu_arch", summary.cpu_arch), ("boot_mode", summary.boot_mode))}
    return {
        **texts, "cpu_count": summary.cpu_count, "memory_mib": summary.memory_mib,
        "disk_count": summary.disk_count, "disk_bytes": summary.disk_bytes,
        "nic_count": summary.nic_count, "macs": json.dumps(list(summary.macs)),
        "rules": json.dumps([{"uuid": r.uuid, "description": r.description}
                             for r in summary.rules]),
        "search_text": search_text(name, summary), "inspected_at": inspected_at}


def search_text(name: str | None, summary: HardwareSummary) -> str:
    """The lower-case text the fleet search matches, one field a line."""
    fields = (name, summary.vendor, summary.model, summary.serial, summary.cpu_model,
              *summary.macs)
    return "\n".join(f for f in fields if f).lower()


def _clip(value: str | None, limit: int) -> str | None:
    return None if value is None else value[:limit]


def _row(row: Any) -> FleetRow:
    summary = None if row.summary_uuid is None else HardwareSummary(
        vendor=row.vendor, model=row.model, serial=row.serial, cpu_model=row.cpu_model,
        cpu_count=row.cpu_count, cpu_arch=row.cpu_arch, memory_mib=row.memory_mib,
        disk_count=row.disk_count, disk_bytes=row.disk_bytes, nic_count=row.nic_count,
        macs=tuple(_json_list(row.macs)), boot_mode=row.boot_mode,
        rules=tuple(MatchedRule(str(r.get("uuid")), r.get("description"))
                    for r in _json_list(row.rules) if isinstance(r, dict)))
    return FleetRow(uuid=row.uuid, name=row.name, state=str(row.state),
                    started_at=row.started_at, finished_at=row.finished_at, error=row.error,
                    summary=summary, inspected_at=row.inspected_at)


def _json_list(text: str | None) -> list[Any]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []
