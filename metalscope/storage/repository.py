"""Repository: every SQL statement MetalScope runs.

State changes are compare-and-set: an UPDATE matches the row only if it still has the state
and ``version_id`` the caller read, so two workers (or two instances) can never both apply
a transition; the loser gets :class:`~metalscope.errors.StateConflict`.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import uuid as uuidlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from metalscope.errors import Conflict, StateConflict
from metalscope.rules.model import Action, Condition, Rule
from metalscope.state_machine import ACTIVE_STATES, Event, State, next_state
from metalscope.storage import history
from metalscope.storage import tables as t
from metalscope.storage.fleet import FleetStore
from metalscope.storage.history import HistoryVersion, NewVersion, Retention, StoredVersion
from metalscope.storage.history_codec import decode_async, encode_async
from metalscope.storage.transactions import Attempt, transactions

TERMINAL_STATES = frozenset({State.FINISHED, State.ERROR})
#: States that last only while an instance holds the node's lock and works on it.
WORKING_STATES = frozenset({State.STARTING, State.PROCESSING, State.REAPPLYING, State.ABORTING,
                            State.ENROLLING})
#: Tries of a history version whose number another instance took first.
VERSION_ATTEMPTS = 10

# The statements every introspection runs, built once with bound parameters: building a
# statement and computing its cache key costs more CPU than running it on SQLite.
#: How an introspection collects the hardware, kept in upstream's ``options`` table (a row
#: only for a method other than the ramdisk's), so that it survives restarts without a
#: change to upstream's schema; a start deletes it with the record.
METHOD_OPTION = "method"
INBAND = "inband"
_METHOD = t.options.alias("method_option")
_NODES = t.nodes.outerjoin(_METHOD, (_METHOD.c.uuid == t.nodes.c.uuid)
                           & (_METHOD.c.name == METHOD_OPTION))
_SELECT_NODES = sa.select(t.nodes, _METHOD.c.value.label("method")).select_from(_NODES)
_STATE_OF = {state.value: state for state in State}
_SELECT_NODE = _SELECT_NODES.where(t.nodes.c.uuid == sa.bindparam("uuid"))
_SELECT_IN_STATE = _SELECT_NODES.where(t.nodes.c.state == sa.bindparam("state"))
#: States whose records count as an introspection under way (with no ``finished_at``).
_UNFINISHED_STATES = sorted(s.value for s in ACTIVE_STATES | {State.REAPPLYING})
#: An introspection's end drops its options (as upstream) but keeps how it collected.
_DELETE_OPTIONS = sa.delete(t.options).where(t.options.c.uuid == sa.bindparam("uuid"),
                                             t.options.c.name != METHOD_OPTION)
_INSERT_NODE = sa.insert(t.nodes)
# The SET clause comes from the parameters' column names; "match_*" are the expected values.
_UPDATE_NODE = sa.update(t.nodes).where(t.nodes.c.uuid == sa.bindparam("match_uuid"),
                                        t.nodes.c.state == sa.bindparam("match_state"),
                                        t.nodes.c.version_id == sa.bindparam("match_version"))
_INSERT_ATTRIBUTES = sa.insert(t.attributes)
_DELETE_ATTRIBUTES = sa.delete(t.attributes).where(t.attributes.c.node_uuid == sa.bindparam("uuid"))
_SELECT_ATTRIBUTES = sa.select(t.attributes.c.name, t.attributes.c.value).where(
    t.attributes.c.node_uuid == sa.bindparam("uuid"))
_DATA_KEY = ((t.introspection_data.c.uuid == sa.bindparam("match_uuid"))
             & (t.introspection_data.c.processed == sa.bindparam("match_processed")))
_UPDATE_DATA = sa.update(t.introspection_data).where(_DATA_KEY)
_INSERT_DATA = sa.insert(t.introspection_data)
_SELECT_DATA = sa.select(t.introspection_data.c.data).where(_DATA_KEY)
_DELETE_CALLBACK = sa.delete(t.ramdisk_callbacks).where(
    t.ramdisk_callbacks.c.node_uuid == sa.bindparam("uuid"))
_INSERT_CALLBACK = sa.insert(t.ramdisk_callbacks)
_DATE_CALLBACK = sa.update(t.ramdisk_callbacks).where(
    t.ramdisk_callbacks.c.node_uuid == sa.bindparam("uuid")).values(
    received_at=sa.bindparam("now"))
_SELECT_CALLBACK = sa.select(t.ramdisk_callbacks.c.node_uuid).where(
    t.ramdisk_callbacks.c.digest == sa.bindparam("digest")).limit(1)
# Rules apply oldest first. Rules with the same created_at (upstream's DATETIME on MySQL keeps
# whole seconds) come in the order of upstream's joined query: by first condition, then first
# action, a rule without conditions sorting where the database sorts NULL.
_FIRST_CONDITION = sa.select(sa.func.min(t.rule_conditions.c.id)).where(
    t.rule_conditions.c.rule == t.rules.c.uuid).scalar_subquery()
_FIRST_ACTION = sa.select(sa.func.min(t.rule_actions.c.id)).where(
    t.rule_actions.c.rule == t.rules.c.uuid).scalar_subquery()
_SELECT_RULES = sa.select(t.rules).order_by(t.rules.c.created_at, _FIRST_CONDITION,
                                            _FIRST_ACTION, t.rules.c.uuid)
_SELECT_CONDITIONS = sa.select(t.rule_conditions).where(
    t.rule_conditions.c.rule.in_(sa.bindparam("rules", expanding=True))).order_by(
    t.rule_conditions.c.id)
_SELECT_ACTIONS = sa.select(t.rule_actions).where(
    t.rule_actions.c.rule.in_(sa.bindparam("rules", expanding=True))).order_by(
    t.rule_actions.c.id)
_INSERT_OPTION = sa.insert(t.options)
#: A record's rows in the other tables, deleted before the record itself.
_DELETE_NODE_ROWS = tuple(sa.delete(table).where(column == sa.bindparam("uuid"))
                          for table, column in (
                              (t.attributes, t.attributes.c.node_uuid),
                              (t.options, t.options.c.uuid),
                              (t.introspection_data, t.introspection_data.c.uuid),
                              (t.ramdisk_callbacks, t.ramdisk_callbacks.c.node_uuid)))
_DELETE_NODE = sa.delete(t.nodes).where(t.nodes.c.uuid == sa.bindparam("uuid"))
#: The record only if it is still the one read (compare-and-set).
_DELETE_NODE_READ = _DELETE_NODE.where(t.nodes.c.version_id == sa.bindparam("version_id"))
_DELETE_SUMMARY = sa.delete(t.hardware_summaries).where(
    t.hardware_summaries.c.uuid == sa.bindparam("uuid"))


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _token() -> str:
    return str(uuidlib.uuid4())


@dataclass(frozen=True)
class NodeRecord:
    """One introspection status record (spec 3.1)."""

    uuid: str
    state: State
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: str | None
    manage_boot: bool
    version_id: str
    #: ``inband`` (the ramdisk) or ``redfish`` (out of band, from the BMC).
    method: str = INBAND

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @classmethod
    def from_row(cls, row: Any) -> NodeRecord:
        return cls(uuid=row.uuid, state=State(row.state), started_at=row.started_at,
                   finished_at=row.finished_at, error=row.error,
                   manage_boot=True if row.manage_boot is None else bool(row.manage_boot),
                   version_id=row.version_id or "",
                   method=getattr(row, "method", None) or INBAND)

    @classmethod
    def from_selected(cls, row: Any) -> NodeRecord:
        """A row of the records' SELECT (the record's columns in table order, then the
        method), unpacked by position: a listing reads a thousand of them."""
        uuid, version_id, state, started_at, finished_at, error, manage_boot, method = row
        return cls(uuid, _STATE_OF[state], started_at, finished_at, error,
                   True if manage_boot is None else bool(manage_boot), version_id or "",
                   method or INBAND)


class Repository:
    """Async access to the status records, lookup attributes, stored data and rules."""

    def __init__(self, engine: AsyncEngine, retention: Retention | None = None,
                 on_retry: Callable[[], None] | None = None) -> None:
        self.engine = engine
        #: The ``[history]`` retention that :meth:`record_version` applies to the node.
        self.retention = retention or Retention()
        #: Called whenever a write transaction runs again (the retries metric).
        self.on_retry = on_retry
        self._score_queries: dict[tuple[str, ...], sa.Select[str]] = {}
        #: The fleet pages' data: hardware summaries and pages of nodes.
        self.fleet = FleetStore(engine, on_retry)
        #: The ``max_versions`` every node's history was last pruned to (None: not yet).
        self._counted_with: int | None = None

    def _transactions(self) -> AsyncIterator[Attempt]:
        return transactions(self.engine, on_retry=self.on_retry)

    # -- status records --------------------------------------------------------------------
    async def state_counts(self) -> dict[str, int]:
        """How many status records are in each state (states without one are left out)."""
        query = sa.select(t.nodes.c.state, sa.func.count()).group_by(t.nodes.c.state)
        async with self.engine.connect() as conn:
            return {str(state): int(count) for state, count in (await conn.execute(query)).all()}

    async def get_node(self, uuid: str) -> NodeRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_SELECT_NODE, {"uuid": uuid})).first()
        return NodeRecord.from_selected(row) if row else None

    async def start_introspection(self, uuid: str, manage_boot: bool, bmc_addresses: list[str],
                                  previous: NodeRecord | None,
                                  state: State = State.STARTING,
                                  method: str = INBAND) -> NodeRecord:
        """Replace the node's record (and its attributes and data) with a fresh one.

        ``previous`` is the record the caller validated the start against; if it changed in
        the meantime, StateConflict is raised and nothing is written. A ``method`` other
        than ``inband`` is kept in the ``options`` table.
        """
        record = NodeRecord(uuid, state, utcnow(), None, None, manage_boot, _token(), method)
        async for attempt in self._transactions():
            async with attempt as conn:
                if previous is not None:
                    await self._delete_node_rows(conn, uuid, previous)
                await self._insert_node(conn, record)
                await self._add_attributes(conn, uuid, "bmc_address", bmc_addresses)
                if method != INBAND:
                    await conn.execute(_INSERT_OPTION, {
                        "uuid": uuid, "name": METHOD_OPTION, "value": method})
        return record

    async def _insert_node(self, conn: AsyncConnection, record: NodeRecord) -> None:
        try:
            await conn.execute(_INSERT_NODE, {
                "uuid": record.uuid, "state": record.state.value,
                "started_at": record.started_at, "finished_at": None, "error": None,
                "manage_boot": record.manage_boot, "version_id": record.version_id})
        except IntegrityError as exc:
            raise StateConflict(
                f"Introspection of node {record.uuid} changed concurrently") from exc

    async def _delete_node_rows(self, conn: AsyncConnection, uuid: str,
                                expected: NodeRecord | None) -> None:
        for statement in _DELETE_NODE_ROWS:
            await conn.execute(statement, {"uuid": uuid})
        if expected is None:
            result = await conn.execute(_DELETE_NODE, {"uuid": uuid})
        else:
            result = await conn.execute(_DELETE_NODE_READ, {
                "uuid": uuid, "version_id": expected.version_id})
        if expected is not None and result.rowcount != 1:
            raise StateConflict(f"Introspection of node {uuid} changed concurrently")

    async def transition(self, record: NodeRecord, event: Event, *,
                         error: str | None = None, keep_error: bool = False,
                         started_at: datetime.datetime | None = None) -> NodeRecord:
        """Apply ``event`` to ``record`` with compare-and-set and return the new record.

        Reaching ``finished`` or ``error`` sets ``finished_at`` and ``error`` and deletes the
        lookup attributes (the upstream "finish" routine, spec 3.4).
        """
        change = _Change(record, event, error, keep_error, started_at)
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._apply(conn, change)
        return change.result

    async def settle(self, record: NodeRecord, event: Event, *, error: str | None = None,
                     processed: str | None = None) -> tuple[NodeRecord, list[str]]:
        """Apply a terminal ``event`` (``finish``, ``error``, ``timeout``, ...) in one
        transaction with what goes with it: the processed data (JSON text, when stored in the
        database) and the read of the lookup MACs the transition deletes, returned so that the
        caller can deny them in the PXE filter."""
        change = _Change(record, event, error)
        async for attempt in self._transactions():
            async with attempt as conn:
                if processed is not None:
                    await self._store_text(conn, record.uuid, True, processed)
                rows = (await conn.execute(_SELECT_ATTRIBUTES, {"uuid": record.uuid})).all()
                await self._apply(conn, change)
        return change.result, [value for name, value in rows if name == "mac"]

    async def begin_processing(self, record: NodeRecord, unprocessed: str | None,
                               digest: str | None, move: bool = True,
                               ) -> tuple[NodeRecord, list[Rule]]:
        """What a callback records before its hooks run, in one transaction: the unprocessed
        data (JSON text, when stored in the database), the body's digest, and (``move``) the
        ``process`` transition with compare-and-set. Returns the record and the
        introspection rules, read in the same transaction."""
        change = _Change(record, Event.PROCESS) if move else None
        async for attempt in self._transactions():
            async with attempt as conn:
                if unprocessed is not None:
                    await self._store_text(conn, record.uuid, False, unprocessed)
                if digest is not None:
                    await self._record_callback(conn, record.uuid, digest)
                if change is not None:
                    await self._apply(conn, change)
                rules = await self._read_rules(conn, None)
        return (record if change is None else change.result), rules

    async def defer_processing(self, record: NodeRecord,
                               attributes: dict[str, list[str]]) -> NodeRecord:
        """Give a callback that could not reach Ironic back, in one transaction: the record
        returns to ``waiting`` (compare-and-set), its callback row is dated now (when the
        callback was deferred), and a record without lookup attributes (an enrolled node)
        gets ``attributes`` so that the ramdisk's retry finds it."""
        change = _Change(record, Event.IRONIC_UNAVAILABLE)
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._apply(conn, change)
                await conn.execute(_DATE_CALLBACK, {"uuid": record.uuid, "now": utcnow()})
                if not (await conn.execute(_SELECT_ATTRIBUTES, {"uuid": record.uuid})).first():
                    for name, values in attributes.items():
                        await self._add_attributes(conn, record.uuid, name, values)
        return change.result

    async def deferred_before(self, threshold: datetime.datetime,
                              uuid: str | None = None) -> list[NodeRecord]:
        """``waiting`` records (all, or only ``uuid``'s) whose callback was deferred (a
        callback row is kept) before ``threshold``."""
        query = sa.select(t.nodes).join(
            t.ramdisk_callbacks, t.ramdisk_callbacks.c.node_uuid == t.nodes.c.uuid).where(
            t.nodes.c.state == State.WAITING.value,
            t.ramdisk_callbacks.c.received_at < threshold)
        if uuid is not None:
            query = query.where(t.nodes.c.uuid == uuid)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [NodeRecord.from_row(r) for r in rows]

    async def _apply(self, conn: AsyncConnection, change: _Change) -> None:
        record = change.record
        result = await conn.execute(_UPDATE_NODE, {
            "match_uuid": record.uuid, "match_state": record.state.value,
            "match_version": record.version_id, **change.values})
        if result.rowcount != 1:
            raise StateConflict(f"Introspection of node {record.uuid} changed concurrently")
        if change.terminal:
            await self._delete_lookup(conn, record.uuid)

    async def delete_node(self, uuid: str) -> None:
        """Forget the node: its record, lookup attributes, data and hardware summary (a
        new introspection replaces the record but keeps the summary until processed)."""
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._delete_node_rows(conn, uuid, None)
                await conn.execute(_DELETE_SUMMARY, {"uuid": uuid})
                await history.forget(conn, uuid)

    async def list_nodes(self, marker: NodeRecord | None, limit: int,
                         states: list[str] | None) -> list[NodeRecord]:
        """Records ordered by started_at then uuid, newest first (a record without a start
        time last, on every database), after ``marker``: one walk of the (started_at, uuid)
        index from the marker's place, so a deep page costs what the first does."""
        n = t.nodes.c
        query = _SELECT_NODES
        if states:
            query = query.where(n.state.in_(states))
        started = n.started_at.desc()
        if self.engine.dialect.name == "postgresql":
            # NULL is the largest value there: walking the index (started_at NULLS FIRST,
            # uuid) backwards gives this order, the order of the other databases.
            started = started.nulls_last()
        ordered = query.order_by(started, n.uuid.desc())
        async with self.engine.connect() as conn:
            rows: list[Any]
            if marker is None:
                rows = list((await conn.execute(ordered.limit(limit))).all())
            elif marker.started_at is None:  # the records without a start time come last
                rows = list((await conn.execute(ordered.where(
                    n.started_at.is_(None), n.uuid < marker.uuid).limit(limit))).all())
            else:  # an index range from the marker's place; the first condition bounds it
                rows = list((await conn.execute(ordered.where(
                    n.started_at <= marker.started_at,
                    sa.or_(n.started_at < marker.started_at, n.uuid < marker.uuid),
                ).limit(limit))).all())
                if len(rows) < limit:  # then those without a start time
                    rows += (await conn.execute(ordered.where(n.started_at.is_(None)).limit(
                        limit - len(rows)))).all()
        return [NodeRecord.from_selected(r) for r in rows]

    async def any_active(self) -> bool:
        """Whether at least one introspection is unfinished: one EXISTS over the state
        index, whatever the number of records."""
        n = t.nodes.c
        unfinished = sa.select(n.uuid).where(n.state.in_(_UNFINISHED_STATES),
                                             n.finished_at.is_(None))
        async with self.engine.connect() as conn:
            return bool((await conn.execute(sa.select(unfinished.exists()))).scalar())

    async def active_started_before(self, threshold: datetime.datetime) -> list[NodeRecord]:
        query = sa.select(t.nodes).where(t.nodes.c.finished_at.is_(None),
                                         t.nodes.c.started_at < threshold)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [NodeRecord.from_row(r) for r in rows if State(r.state) in ACTIVE_STATES
                or r.state == State.REAPPLYING.value]

    async def finished_before(self, threshold: datetime.datetime) -> list[str]:
        query = sa.select(t.nodes.c.uuid).where(t.nodes.c.finished_at < threshold)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def settled_before(self, threshold: datetime.datetime, limit: int,
                             after: tuple[datetime.datetime, str] | None = None,
                             ) -> list[tuple[str, datetime.datetime]]:
        """Up to ``limit`` records ``finished`` or ``error`` since before ``threshold``, as
        (uuid, finished_at), oldest first; ``after`` is the last pair of the page before."""
        n = t.nodes.c
        query = sa.select(n.uuid, n.finished_at).where(
            n.finished_at < threshold,
            n.state.in_((State.FINISHED.value, State.ERROR.value)))
        if after is not None:
            query = query.where(sa.or_(n.finished_at > after[0],
                                       sa.and_(n.finished_at == after[0], n.uuid > after[1])))
        query = query.order_by(n.finished_at, n.uuid).limit(limit)
        async with self.engine.connect() as conn:
            return [(uuid, finished) for uuid, finished in await conn.execute(query)]

    async def unsettled(self) -> list[NodeRecord]:
        """Records in a state that only lasts while an instance works on the node."""
        rows: list[Any] = []
        async with self.engine.connect() as conn:
            # One equality per state: each reads only its own entries of the state index.
            for state in sorted(s.value for s in WORKING_STATES):
                rows += (await conn.execute(_SELECT_IN_STATE, {"state": state})).all()
        return [NodeRecord.from_row(r) for r in rows]

    async def waiting_with_method(self, method: str) -> list[NodeRecord]:
        """``waiting`` records whose introspection collects by ``method`` (an out-of-band
        one waits only while an instance collects from the BMC, holding the node lock)."""
        query = _SELECT_NODES.where(t.nodes.c.state == State.WAITING.value,
                                    _METHOD.c.value == method)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [NodeRecord.from_row(r) for r in rows]

    async def all_uuids(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(sa.select(t.nodes.c.uuid))).scalars())

    async def uuids_between(self, after: str | None, through: str | None) -> list[str]:
        """The records' UUIDs above ``after`` and up to ``through`` (None: no bound), in
        order: one page of a walk of Ironic's nodes by UUID, compared with the database."""
        query = sa.select(t.nodes.c.uuid)
        if after is not None:
            query = query.where(t.nodes.c.uuid > after)
        if through is not None:
            query = query.where(t.nodes.c.uuid <= through)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query.order_by(t.nodes.c.uuid))).scalars())

    # -- lookup attributes -----------------------------------------------------------------
    async def add_attributes(self, uuid: str, name: str, values: list[str]) -> None:
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._add_attributes(conn, uuid, name, values)

    async def _add_attributes(self, conn: AsyncConnection, uuid: str, name: str,
                              values: list[str]) -> None:
        rows = [{"uuid": _token(), "node_uuid": uuid, "name": name, "value": v}
                for v in dict.fromkeys(values)]
        if rows:
            await conn.execute(_INSERT_ATTRIBUTES, rows)

    async def _delete_lookup(self, conn: AsyncConnection, uuid: str) -> None:
        await conn.execute(_DELETE_ATTRIBUTES, {"uuid": uuid})
        await conn.execute(_DELETE_OPTIONS, {"uuid": uuid})

    async def attributes_of(self, uuid: str) -> dict[str, list[str]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_SELECT_ATTRIBUTES, {"uuid": uuid})).all()
        result: dict[str, list[str]] = {}
        for name, value in rows:
            result.setdefault(name, []).append(value)
        return result

    async def score_by_attributes(self, wanted: dict[str, list[str]]) -> Counter[str]:
        """One point per matching attribute row, per node (spec 4.3 step 1)."""
        names = tuple(sorted(name for name, values in wanted.items() if values))
        if not names:
            return Counter()
        params = {f"values_{i}": wanted[name] for i, name in enumerate(names)}
        async with self.engine.connect() as conn:
            return Counter((await conn.execute(self._score_query(names), params)).scalars())

    def _score_query(self, names: tuple[str, ...]) -> sa.Select[str]:
        """The scoring query for these attribute names, built once per set of names."""
        query = self._score_queries.get(names)
        if query is None:
            query = sa.select(t.attributes.c.node_uuid).where(sa.or_(*(
                sa.and_(t.attributes.c.name == name,
                        t.attributes.c.value.in_(sa.bindparam(f"values_{i}", expanding=True)))
                for i, name in enumerate(names))))
            self._score_queries[names] = query
        return query

    async def active_macs(self) -> set[str]:
        query = sa.select(t.attributes.c.value).where(t.attributes.c.name == "mac")
        async with self.engine.connect() as conn:
            return {v.lower() for v in (await conn.execute(query)).scalars() if v}

    # -- stored introspection data ---------------------------------------------------------
    async def store_data(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._store_text(conn, uuid, processed, text)

    async def _store_text(self, conn: AsyncConnection, uuid: str, processed: bool,
                          text: str) -> None:
        key = {"match_uuid": uuid, "match_processed": processed}
        result = await conn.execute(_UPDATE_DATA, {**key, "data": text})
        if result.rowcount == 0:
            await conn.execute(_INSERT_DATA, {"uuid": uuid, "processed": processed,
                                              "data": text})

    async def get_data(self, uuid: str, processed: bool) -> str | None:
        """The stored JSON document, as text (served verbatim)."""
        async with self.engine.connect() as conn:
            return (await conn.execute(_SELECT_DATA, {"match_uuid": uuid,
                                                      "match_processed": processed})).scalar()

    # -- ramdisk callbacks ------------------------------------------------------------------
    async def record_callback(self, uuid: str, digest: str) -> None:
        """Remember that ``uuid`` is processed from the callback body with this digest."""
        async for attempt in self._transactions():
            async with attempt as conn:
                await self._record_callback(conn, uuid, digest)

    async def _record_callback(self, conn: AsyncConnection, uuid: str, digest: str) -> None:
        await conn.execute(_DELETE_CALLBACK, {"uuid": uuid})
        await conn.execute(_INSERT_CALLBACK, {"node_uuid": uuid, "digest": digest,
                                              "received_at": utcnow()})

    async def callback_node(self, digest: str) -> str | None:
        """The node whose current introspection came from a callback body with this digest."""
        async with self.engine.connect() as conn:
            return (await conn.execute(_SELECT_CALLBACK, {"digest": digest})).scalar()

    # -- hardware history ------------------------------------------------------------------
    async def record_version(self, uuid: str, *, started_at: datetime.datetime | None,
                             finished_at: datetime.datetime, source: str,
                             processed: dict[str, Any], unprocessed: dict[str, Any] | None,
                             error: str | None, summary: str | None,
                             changed: bool | None) -> int:
        """Keep a finished introspection as the node's next version (compressed) and prune
        the node's history by :attr:`retention`, in one transaction; the version number."""
        new = NewVersion(uuid, started_at, finished_at, source, error, summary, changed,
                         await encode_async(processed, unprocessed))
        for _ in range(VERSION_ATTEMPTS - 1):
            with contextlib.suppress(IntegrityError):  # that number was taken: read again
                return await self._record_version(new)
        return await self._record_version(new)

    async def _record_version(self, new: NewVersion) -> int:
        async for attempt in self._transactions():
            async with attempt as conn:
                now = utcnow()
                version = await history.insert_version(conn, new, now)
                await history.prune(conn, new.uuid, self.retention, now)
        return version

    async def list_versions(self, uuid: str, *, limit: int | None = None,
                            marker: int | None = None) -> list[HistoryVersion]:
        """The node's versions, newest first, without their data; ``marker``: the versions
        older than this one."""
        async with self.engine.connect() as conn:
            return await history.list_versions(conn, uuid, limit, marker)

    async def get_version(self, uuid: str, version: int) -> StoredVersion | None:
        return await self._stored_version(uuid, version)

    async def latest_version(self, uuid: str) -> StoredVersion | None:
        return await self._stored_version(uuid, None)

    async def _stored_version(self, uuid: str, version: int | None) -> StoredVersion | None:
        async with self.engine.connect() as conn:
            row = await history.read_version(conn, uuid, version)
        if row is None:
            return None
        processed, unprocessed = await decode_async(row.codec, row.processed, row.unprocessed,
                                                    int(row.raw_bytes))
        return history.stored_version(row, processed, unprocessed)

    async def prune_history(self, uuid: str | None, *, max_versions: int,
                            max_age: datetime.timedelta | None) -> int:
        """Delete the versions (of one node, or of all) past the newest ``max_versions`` (0:
        no limit) or finished longer than ``max_age`` ago (None: no limit; a node that
        still has a status record keeps its newest version). Returns how many went.

        For every node, the age is read from the ``age_from`` index (only the expired
        versions), and the counts are checked once per ``max_versions`` value this
        repository sees (they only exceed it after it was lowered)."""
        retention = Retention(max_versions, max_age)
        if uuid is not None:
            async for attempt in self._transactions():
                async with attempt as conn:
                    deleted = await history.prune(conn, uuid, retention, utcnow())
            return deleted
        deleted = 0
        if max_age is not None:  # only the versions past max_age are read
            async for attempt in self._transactions():
                async with attempt as conn:
                    deleted = await history.prune_by_age(conn, utcnow() - max_age)
        if max_versions != self._counted_with:
            # Each recorded version prunes its own node, so counts go over max_versions only
            # when it was lowered: every node's count is checked once per value.
            async for attempt in self._transactions():
                async with attempt as conn:
                    counted = await history.prune_by_count(conn, max_versions)
            self._counted_with = max_versions
            deleted += counted
        return deleted

    # -- rules -----------------------------------------------------------------------------
    async def create_rule(self, rule: Rule) -> Rule:
        created = utcnow()
        try:
            async for attempt in self._transactions():
                async with attempt as conn:
                    await conn.execute(sa.insert(t.rules).values(
                        uuid=rule.uuid, created_at=created, description=rule.description,
                        disabled=False, scope=rule.scope))
                    await self._insert_rule_parts(conn, rule)
        except IntegrityError as exc:
            raise Conflict(f"Rule with UUID {rule.uuid} already exists") from exc
        rule.created_at = created
        return rule

    async def _insert_rule_parts(self, conn: AsyncConnection, rule: Rule) -> None:
        if rule.conditions:
            await conn.execute(sa.insert(t.rule_conditions), [
                {"rule": rule.uuid, "op": c.op, "multiple": c.multiple, "invert": c.invert,
                 "field": c.field, "params": json.dumps(c.params)} for c in rule.conditions])
        await conn.execute(sa.insert(t.rule_actions), [
            {"rule": rule.uuid, "action": a.action, "params": json.dumps(a.params)}
            for a in rule.actions])

    async def get_rule(self, uuid: str) -> Rule | None:
        rules = await self._load_rules(t.rules.c.uuid == uuid)
        return rules[0] if rules else None

    async def list_rules(self) -> list[Rule]:
        return await self._load_rules(None)

    async def _load_rules(self, where: Any) -> list[Rule]:
        async with self.engine.connect() as conn:
            return await self._read_rules(conn, where)

    async def _read_rules(self, conn: AsyncConnection, where: Any) -> list[Rule]:
        query = _SELECT_RULES if where is None else _SELECT_RULES.where(where)
        rows = (await conn.execute(query)).all()
        if not rows:
            return []
        uuids = [r.uuid for r in rows]
        conds = (await conn.execute(_SELECT_CONDITIONS, {"rules": uuids})).all()
        acts = (await conn.execute(_SELECT_ACTIONS, {"rules": uuids})).all()
        return [_rule_from_rows(r, conds, acts) for r in rows]

    async def delete_rule(self, uuid: str) -> bool:
        async for attempt in self._transactions():
            async with attempt as conn:
                await conn.execute(sa.delete(t.rule_conditions).where(
                    t.rule_conditions.c.rule == uuid))
                await conn.execute(sa.delete(t.rule_actions).where(t.rule_actions.c.rule == uuid))
                result = await conn.execute(sa.delete(t.rules).where(t.rules.c.uuid == uuid))
        return bool(result.rowcount)

    async def delete_all_rules(self) -> None:
        async for attempt in self._transactions():
            async with attempt as conn:
                for table in (t.rule_conditions, t.rule_actions, t.rules):
                    await conn.execute(sa.delete(table))


def _rule_from_rows(row: Any, conds: Sequence[Any], acts: Sequence[Any]) -> Rule:
    return Rule(
        uuid=row.uuid, description=row.description, scope=row.scope, created_at=row.created_at,
        conditions=[Condition(op=c.op, field=c.field, multiple=c.multiple, invert=bool(c.invert),
                              params=json.loads(c.params or "{}"))
                    for c in conds if c.rule == row.uuid],
        actions=[Action(action=a.action, params=json.loads(a.params or "{}"))
                 for a in acts if a.rule == row.uuid])


class _Change:
    """One state change: the values to write and the record it produces."""

    def __init__(self, record: NodeRecord, event: Event, error: str | None = None,
                 keep_error: bool = False, started_at: datetime.datetime | None = None) -> None:
        new_state = next_state(record.state, event)
        values: dict[str, Any] = {"state": new_state.value, "version_id": _token()}
        if started_at is not None:
            values["started_at"] = started_at
        self.terminal = new_state in TERMINAL_STATES and event is not Event.REAPPLY
        if self.terminal:
            values["finished_at"] = utcnow()
            values["error"] = record.error if keep_error else error
        self.record = record
        self.values = values
        self.result = NodeRecord(record.uuid, new_state,
                                 values.get("started_at", record.started_at),
                                 values.get("finished_at", record.finished_at),
                                 values.get("error", record.error), record.manage_boot,
                                 values["version_id"], record.method)
