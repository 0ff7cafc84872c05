"""What the follower of Ironic's inspections keeps between polls (migration 0007).

``follower_state`` has one row per followed Ironic (``name``): the *watermark*, Ironic's
newest ``inspection_finished_at`` queued so far, the position of the first run's backfill
(``backfill_until``: the watermark of the first poll, every inspection finished before it
being backfilled; ``backfill_marker``: the last node the backfill walked past) and that of
the deletion sweep (``sweep_marker``).

``follower_nodes`` has one row per node seen in Ironic: the newest inspection seen
(``seen_finished_at``), the inspection whose inventory became a version
(``recorded_finished_at``), and, while an inventory is still to read, ``next_attempt_at``
with the ``attempts`` made and the ``last_error``. A node deleted from Ironic keeps its row,
``deleted_at`` set: its history stays, pruned by the ``[history]`` retention.

The watermark advances in the transaction that queues the nodes it passes, so a node whose
inventory keeps failing never holds it back, and a restart resumes from it without reading
again what was queued.
"""

from __future__ import annotations

import datetime
import uuid as uuidlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metalscope.storage.tables import Timestamp, metadata, nodes
from metalscope.storage.transactions import transactions

follower_state = sa.Table(
    "follower_state", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("watermark", Timestamp, nullable=True),
    sa.Column("backfill_until", Timestamp, nullable=True),
    sa.Column("backfill_marker", sa.String(36), nullable=True),
    sa.Column("backfill_done", sa.Boolean, nullable=False, default=False),
    sa.Column("sweep_marker", sa.String(36), nullable=True),
    sa.Column("anchor_uuid", sa.String(36), nullable=True),
    sa.Column("anchor_finished_at", Timestamp, nullable=True),
    sa.Column("updated_at", Timestamp, nullable=False),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

follower_nodes = sa.Table(
    "follower_nodes", metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("inspect_interface", sa.String(64), nullable=True),
    sa.Column("seen_started_at", Timestamp, nullable=True),
    sa.Column("seen_finished_at", Timestamp, nullable=True),
    sa.Column("recorded_finished_at", Timestamp, nullable=True),
    sa.Column("next_attempt_at", Timestamp, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("deleted_at", Timestamp, nullable=True),
    sa.Index("follower_nodes_next_attempt_idx", "next_attempt_at", "uuid"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

_S, _F, _N = follower_state.c, follower_nodes.c, nodes.c
#: The row of the one Ironic followed.
DEFAULT_NAME = "ironic"


@dataclass(frozen=True)
class FollowerState:
    watermark: datetime.datetime | None = None
    backfill_until: datetime.datetime | None = None
    backfill_marker: str | None = None
    backfill_done: bool = False
    sweep_marker: str | None = None
    #: A node whose inspection finished a look-back before the watermark, and when: the
    #: marker of the walk upwards when the top of Ironic's list is nodes never inspected.
    anchor_uuid: str | None = None
    anchor_finished_at: datetime.datetime | None = None

    @property
    def started(self) -> bool:
        """Whether a first poll set the watermark (or found Ironic without inspections)."""
        return self.watermark is not None or self.backfill_done


@dataclass(frozen=True)
class SeenInspection:
    """One node of Ironic's list: its newest finished inspection (naive UTC times)."""

    uuid: str
    name: str | None
    finished_at: datetime.datetime
    started_at: datetime.datetime | None
    inspect_interface: str | None


@dataclass(frozen=True)
class PendingInventory:
    """A node whose newest inspection's inventory is still to be read."""

    uuid: str
    name: str | None
    finished_at: datetime.datetime
    started_at: datetime.datetime | None
    inspect_interface: str | None
    attempts: int
    recorded_finished_at: datetime.datetime | None


class FollowerStore:
    """The follower's watermark, backfill and sweep positions and per-node queue."""

    def __init__(self, engine: AsyncEngine, name: str = DEFAULT_NAME,
                 on_retry: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.name = name
        self.on_retry = on_retry

    # -- the state row ---------------------------------------------------------------------
    async def state(self) -> FollowerState:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(follower_state).where(
                _S.name == self.name))).first()
        if row is None:
            return FollowerState()
        return FollowerState(row.watermark, row.backfill_until, row.backfill_marker,
                             bool(row.backfill_done), row.sweep_marker, row.anchor_uuid,
                             row.anchor_finished_at)

    async def save_state(self, state: FollowerState, now: datetime.datetime) -> None:
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                await self._write_state(conn, state, now)

    async def _write_state(self, conn: AsyncConnection, state: FollowerState,
                           now: datetime.datetime) -> None:
        values = {"watermark": state.watermark, "backfill_until": state.backfill_until,
                  "backfill_marker": state.backfill_marker,
                  "backfill_done": state.backfill_done, "sweep_marker": state.sweep_marker,
                  "anchor_uuid": state.anchor_uuid,
                  "anchor_finished_at": state.anchor_finished_at, "updated_at": now}
        updated = await conn.execute(sa.update(follower_state).where(
            _S.name == self.name).values(**values))
        if updated.rowcount == 0:
            try:
                async with conn.begin_nested():
                    await conn.execute(sa.insert(follower_state).values(name=self.name,
                                                                        **values))
            except IntegrityError:  # another instance inserted it first
                await conn.execute(sa.update(follower_state).where(
                    _S.name == self.name).values(**values))

    # -- the queue -------------------------------------------------------------------------
    async def queue(self, seen: Iterable[SeenInspection], now: datetime.datetime,
                    state: FollowerState | None = None) -> list[str]:
        """Queue every inspection newer than the one known of its node (and save ``state``
        in the same transaction); the UUIDs queued."""
        listed = list(seen)
        queued: list[str] = []
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                queued = []
                known = await self._known(conn, [item.uuid for item in listed])
                for item in listed:
                    if await self._queue_one(conn, item, known.get(item.uuid), now):
                        queued.append(item.uuid)
                if state is not None:
                    await self._write_state(conn, state, now)
        return queued

    async def _known(self, conn: AsyncConnection,
                     uuids: Sequence[str]) -> dict[str, Any]:
        if not uuids:
            return {}
        rows = await conn.execute(sa.select(_F.uuid, _F.seen_finished_at).where(
            _F.uuid.in_(sorted(set(uuids)))))
        return {row.uuid: row for row in rows}

    async def _queue_one(self, conn: AsyncConnection, item: SeenInspection, known: Any,
                         now: datetime.datetime) -> bool:
        values = {"name": item.name, "inspect_interface": item.inspect_interface,
                  "seen_started_at": item.started_at, "seen_finished_at": item.finished_at,
                  "next_attempt_at": now, "attempts": 0, "last_error": None,
                  "deleted_at": None}
        if known is None:
            await conn.execute(sa.insert(follower_nodes).values(uuid=item.uuid, **values))
            return True
        if known.seen_finished_at is not None and known.seen_finished_at >= item.finished_at:
            return False
        # Compare-and-set: an instance that queued a newer inspection meanwhile wins.
        result = await conn.execute(sa.update(follower_nodes).where(
            _F.uuid == item.uuid,
            sa.or_(_F.seen_finished_at.is_(None),
                   _F.seen_finished_at < item.finished_at)).values(**values))
        return bool(result.rowcount)

    async def due(self, now: datetime.datetime, limit: int) -> list[PendingInventory]:
        """Queued inventories whose time has come, the newest inspections first."""
        query = (sa.select(follower_nodes).where(_F.next_attempt_at.is_not(None),
                                                 _F.next_attempt_at <= now,
                                                 _F.deleted_at.is_(None))
                 .order_by(_F.seen_finished_at.desc(), _F.uuid).limit(limit))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [PendingInventory(row.uuid, row.name, row.seen_finished_at, row.seen_started_at,
                                 row.inspect_interface, int(row.attempts or 0),
                                 row.recorded_finished_at) for row in rows]

    async def pending_count(self) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(
                follower_nodes).where(_F.next_attempt_at.is_not(None),
                                      _F.deleted_at.is_(None)))).scalar_one())

    async def recorded(self, uuid: str, finished_at: datetime.datetime) -> bool:
        """The inventory of the inspection finished at ``finished_at`` is a version now;
        False when a newer inspection was queued meanwhile (it stays due)."""
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                await conn.execute(sa.update(follower_nodes).where(_F.uuid == uuid).values(
                    recorded_finished_at=finished_at))
                result = await conn.execute(sa.update(follower_nodes).where(
                    _F.uuid == uuid, _F.seen_finished_at == finished_at).values(
                    next_attempt_at=None, attempts=0, last_error=None))
        return bool(result.rowcount)

    async def failed(self, uuid: str, finished_at: datetime.datetime, error: str,
                     retry_at: datetime.datetime | None) -> None:
        """One more failed attempt at the inventory of that inspection; ``retry_at`` None
        gives that inspection up (a newer one is queued as usual)."""
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                await conn.execute(sa.update(follower_nodes).where(
                    _F.uuid == uuid, _F.seen_finished_at == finished_at).values(
                    attempts=_F.attempts + 1, last_error=error[:2000],
                    next_attempt_at=retry_at))

    async def postpone(self, uuid: str, retry_at: datetime.datetime) -> None:
        """Try later without counting an attempt (the node was locked by other work)."""
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                await conn.execute(sa.update(follower_nodes).where(
                    _F.uuid == uuid, _F.next_attempt_at.is_not(None)).values(
                    next_attempt_at=retry_at))

    # -- deleted nodes ---------------------------------------------------------------------
    async def mark_deleted(self, uuids: Iterable[str], now: datetime.datetime) -> list[str]:
        """Mark nodes deleted from Ironic (their rows and history stay); those newly
        marked."""
        wanted = sorted(set(uuids))
        if not wanted:
            return []
        marked: list[str] = []
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                marked = list((await conn.execute(sa.select(_F.uuid).where(
                    _F.uuid.in_(wanted), _F.deleted_at.is_(None)))).scalars())
                if marked:
                    await conn.execute(sa.update(follower_nodes).where(
                        _F.uuid.in_(marked)).values(deleted_at=now, next_attempt_at=None))
        return marked

    async def known_between(self, after: str | None, upto: str | None) -> list[str]:
        """UUIDs of the nodes not marked deleted in ``(after, upto]`` (None: open ends)."""
        query = sa.select(_F.uuid).where(_F.deleted_at.is_(None))
        if after is not None:
            query = query.where(_F.uuid > after)
        if upto is not None:
            query = query.where(_F.uuid <= upto)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query.order_by(_F.uuid))).scalars())

    async def deleted(self) -> dict[str, datetime.datetime]:
        """Nodes marked deleted from Ironic, with when they were found gone."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(_F.uuid, _F.deleted_at).where(
                _F.deleted_at.is_not(None)))
            return {row.uuid: row.deleted_at for row in rows}

    async def node(self, uuid: str) -> Any:
        """The node's row (tests and the API's diagnostics); None when never seen."""
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.select(follower_nodes).where(
                _F.uuid == uuid))).first()

    # -- status records --------------------------------------------------------------------
    async def settle_record(self, uuid: str, started_at: datetime.datetime | None,
                            finished_at: datetime.datetime) -> bool:
        """Give the node a ``finished`` status record dated by Ironic's inspection: a new one
        when MetalScope has none (True), or the dates of a ``finished`` one moved forward.
        Any other record (an introspection of MetalScope's own, or its error) is left as
        it is."""
        async for attempt in transactions(self.engine, on_retry=self.on_retry):
            async with attempt as conn:
                row = (await conn.execute(sa.select(_N.state, _N.finished_at).where(
                    _N.uuid == uuid))).first()
                if row is None:
                    await conn.execute(sa.insert(nodes).values(
                        uuid=uuid, state="finished", started_at=started_at,
                        finished_at=finished_at, error=None, manage_boot=False,
                        version_id=str(uuidlib.uuid4())))
                    return True
                if (str(row.state) == "finished"
                        and (row.finished_at is None or row.finished_at < finished_at)):
                    await conn.execute(sa.update(nodes).where(
                        _N.uuid == uuid, _N.state == "finished").values(
                        started_at=started_at, finished_at=finished_at,
                        version_id=str(uuidlib.uuid4())))
        return False
