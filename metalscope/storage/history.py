"""Hardware history: every finished introspection of a node kept as a numbered version.

Versions count from 1 per node; a new one takes the previous highest plus one. Two
instances recording a version of the same node at once would pick the same number: the
unique (uuid, version) constraint refuses the second, which then reads the highest again
and retries. Versions are pruned per node by count and by age (:class:`Retention`); age
pruning keeps the newest version of a node that still has a status record (the baseline
the next introspection is compared with), so the history of a node forgotten (deleted from
Ironic, or its record expired) goes once its newest version is older than ``max_age``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from metalscope.storage import tables as t
from metalscope.storage.history_codec import Encoded

_H = t.introspection_history
#: Source of the versions MetalScope records itself (the ramdisk's data).
INBAND = "inband"
#: Rows deleted per statement (an IN list of ids).
_DELETE_CHUNK = 500
_KNOWN = sa.select(t.nodes.c.uuid).where(t.nodes.c.uuid == sa.bindparam("uuid"))
#: The baseline of a node (the version whose ``age_from`` is NULL) ages from its end on.
_AGEING = sa.update(_H).where(_H.c.uuid == sa.bindparam("node"), _H.c.age_from.is_(None),
                              _H.c.version < sa.bindparam("below")).values(
    age_from=_H.c.finished_at)
_NO_VERSION_ABOVE = 2**31 - 1

_INFO_COLUMNS = (_H.c.uuid, _H.c.version, _H.c.started_at, _H.c.finished_at, _H.c.recorded_at,
                 _H.c.source, _H.c.error, _H.c.changed, _H.c.summary, _H.c.raw_bytes,
                 _H.c.stored_bytes)
_DATA_COLUMNS = (_H.c.codec, _H.c.processed, _H.c.unprocessed)

# The statements of every recorded version, built once with bound parameters (building a
# statement costs more CPU than running it on SQLite; the compiled form is cached anyway).
_OF_NODE = _H.c.uuid == sa.bindparam("uuid")
_HIGHEST = sa.select(sa.func.max(_H.c.version)).where(_OF_NODE)
#: The columns come from the parameters' names.
_INSERT_VERSION = sa.insert(_H)
#: Typed as SQLAlchemy types the number given to ``limit()`` (PostgreSQL casts it).
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_LISTED = sa.select(*_INFO_COLUMNS).where(_OF_NODE)


def _listing(marker: bool, limit: bool) -> sa.Select[Any]:
    query = _LISTED.where(_H.c.version < sa.bindparam("marker")) if marker else _LISTED
    query = query.order_by(_H.c.version.desc())
    return query.limit(_LIMIT) if limit else query


#: The listings of a node's versions, by (with a marker, with a limit).
_LISTINGS = {(marker, limit): _listing(marker, limit)
             for marker in (False, True) for limit in (False, True)}
_READ = sa.select(*_INFO_COLUMNS, *_DATA_COLUMNS).where(_OF_NODE)
_READ_NEWEST = _READ.order_by(_H.c.version.desc()).limit(1)
_READ_VERSION = _READ.where(_H.c.version == sa.bindparam("version"))


@dataclass(frozen=True)
class HistoryVersion:
    """What is known of one version without its data."""

    uuid: str
    version: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime
    recorded_at: datetime.datetime
    #: "inband" for the versions MetalScope records from the ramdisk's data.
    source: str
    error: str | None
    #: Whether the hardware differs from the previous version (None: not compared).
    changed: bool | None
    summary: str | None
    #: Bytes of the processed and unprocessed data as compact JSON.
    raw_bytes: int
    #: Bytes stored for them, compressed.
    stored_bytes: int

    @classmethod
    def from_row(cls, row: Any) -> HistoryVersion:
        return cls(**_info(row))


@dataclass(frozen=True)
class StoredVersion(HistoryVersion):
    """A version with its data."""

    processed: dict[str, Any]
    unprocessed: dict[str, Any] | None


def _info(row: Any) -> dict[str, Any]:
    return {"uuid": row.uuid, "version": row.version, "started_at": row.started_at,
            "finished_at": row.finished_at, "recorded_at": row.recorded_at,
            "source": row.source, "error": row.error,
            "changed": None if row.changed is None else bool(row.changed),
            "summary": row.summary, "raw_bytes": int(row.raw_bytes),
            "stored_bytes": int(row.stored_bytes)}


@dataclass(frozen=True)
class Retention:
    """How many versions of a node are kept (0: all), and for how long (None: forever)."""

    max_versions: int = 10
    max_age: datetime.timedelta | None = datetime.timedelta(days=365)

    @classmethod
    def of(cls, max_versions: int, max_age_days: int) -> Retention:
        """From the ``[history]`` options (0 meaning no limit for both)."""
        age = datetime.timedelta(days=max_age_days) if max_age_days > 0 else None
        return cls(max(max_versions, 0), age)


@dataclass(frozen=True)
class NewVersion:
    """What a finished introspection adds, its data already encoded."""

    uuid: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime
    source: str
    error: str | None
    summary: str | None
    changed: bool | None
    encoded: Encoded


async def insert_version(conn: AsyncConnection, new: NewVersion,
                         recorded_at: datetime.datetime) -> int:
    """Insert ``new`` as the node's next version and return its number; IntegrityError when
    another transaction took that number first."""
    highest = (await conn.execute(_HIGHEST, {"uuid": new.uuid})).scalar()
    version = (highest or 0) + 1
    encoded = new.encoded
    known = (await conn.execute(_KNOWN, {"uuid": new.uuid})).first() is not None
    await conn.execute(_INSERT_VERSION, {
        "uuid": new.uuid, "version": version, "started_at": new.started_at,
        "finished_at": new.finished_at, "recorded_at": recorded_at, "source": new.source,
        "error": new.error, "changed": new.changed, "summary": new.summary,
        "codec": encoded.codec, "raw_bytes": encoded.raw_bytes,
        "stored_bytes": encoded.stored_bytes, "processed": encoded.processed,
        "unprocessed": encoded.unprocessed,
        "age_from": None if known else new.finished_at})
    if highest:  # the previous baseline now ages
        await conn.execute(_AGEING, {"node": new.uuid, "below": version})
    return version


async def forget(conn: AsyncConnection, uuid: str) -> None:
    """The node lost its status record: its newest version ages from now on."""
    await conn.execute(_AGEING, {"node": uuid, "below": _NO_VERSION_ABOVE})


async def list_versions(conn: AsyncConnection, uuid: str, limit: int | None,
                        marker: int | None) -> list[HistoryVersion]:
    params: dict[str, Any] = {"uuid": uuid}
    if marker is not None:
        params["marker"] = marker
    if limit is not None:
        params["limit"] = limit
    query = _LISTINGS[marker is not None, limit is not None]
    return [HistoryVersion.from_row(row) for row in (await conn.execute(query, params)).all()]


async def read_version(conn: AsyncConnection, uuid: str, version: int | None) -> Any:
    """The row of ``version`` (the newest when None), data included; None when absent."""
    if version is None:
        return (await conn.execute(_READ_NEWEST, {"uuid": uuid})).first()
    return (await conn.execute(_READ_VERSION, {"uuid": uuid, "version": version})).first()


def stored_version(row: Any, processed: dict[str, Any],
                   unprocessed: dict[str, Any] | None) -> StoredVersion:
    return StoredVersion(**_info(row), processed=processed, unprocessed=unprocessed)


# -- retention ----------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionKey:
    id: int
    uuid: str
    version: int
    finished_at: datetime.datetime


def beyond_count(keys: Iterable[VersionKey], max_versions: int) -> list[int]:
    """Ids of the versions past each node's newest ``max_versions`` (0: none)."""
    if max_versions <= 0:
        return []
    kept: dict[str, int] = {}
    doomed = []
    for key in sorted(keys, key=lambda k: (k.uuid, -k.version)):
        kept[key.uuid] = kept.get(key.uuid, 0) + 1
        if kept[key.uuid] > max_versions:
            doomed.append(key.id)
    return doomed


def beyond_age(keys: Iterable[VersionKey], threshold: datetime.datetime | None,
               known: set[str]) -> list[int]:
    """Ids of the versions finished before ``threshold``, but the newest version of each
    node in ``known`` (the nodes that still have a status record)."""
    if threshold is None:
        return []
    newest: dict[str, int] = {}
    listed = list(keys)
    for key in listed:
        newest[key.uuid] = max(newest.get(key.uuid, 0), key.version)
    return [key.id for key in listed if key.finished_at < threshold
            and not (key.uuid in known and key.version == newest[key.uuid])]


async def prune(conn: AsyncConnection, uuid: str, retention: Retention,
                now: datetime.datetime) -> int:
    """Delete what ``retention`` does not keep of one node's versions; the count deleted."""
    if retention.max_versions <= 0 and retention.max_age is None:
        return 0
    keys = await _keys(conn, uuid)
    threshold = None if retention.max_age is None else now - retention.max_age
    known = await _known_nodes(conn, uuid) if threshold is not None else set()
    doomed = set(beyond_count(keys, retention.max_versions))
    doomed.update(beyond_age(keys, threshold, known))
    return await _delete(conn, sorted(doomed))


async def prune_by_age(conn: AsyncConnection, threshold: datetime.datetime) -> int:
    """Delete every version past ``threshold`` but the baselines of known nodes: only those
    versions are read, from the ``age_from`` index; the count deleted. (A node whose record
    was deleted and that is introspected again keeps its newest version aging until the new
    introspection records one: that version is checked here.)"""
    deleted = 0
    newer = _H.alias("newer")
    baseline = sa.and_(  # of a node known again since its record was deleted
        sa.exists().where(t.nodes.c.uuid == _H.c.uuid),
        ~sa.exists().where(newer.c.uuid == _H.c.uuid, newer.c.version > _H.c.version))
    query = (sa.select(_H.c.id).where(_H.c.age_from < threshold, ~baseline)
             .order_by(_H.c.age_from).limit(_DELETE_CHUNK))
    while ids := list((await conn.execute(query)).scalars()):
        deleted += await _delete(conn, ids)
        if len(ids) < _DELETE_CHUNK:
            break
    return deleted


async def prune_by_count(conn: AsyncConnection, max_versions: int) -> int:
    """Delete the versions past each node's newest ``max_versions`` (0: no limit): the
    nodes over the limit are found in the (uuid, version) index, then pruned one by one."""
    if max_versions <= 0:
        return 0
    over = (sa.select(_H.c.uuid).group_by(_H.c.uuid)
            .having(sa.func.count() > max_versions))
    deleted = 0
    for uuid in list((await conn.execute(over)).scalars()):
        deleted += await _delete(conn, beyond_count(await _keys(conn, uuid), max_versions))
    return deleted


_KEYS = sa.select(_H.c.id, _H.c.uuid, _H.c.version, _H.c.finished_at).where(_OF_NODE)
_DELETE_IDS = sa.delete(_H).where(_H.c.id.in_(sa.bindparam("ids", expanding=True)))


async def _keys(conn: AsyncConnection, uuid: str) -> list[VersionKey]:
    return [VersionKey(r.id, r.uuid, r.version, r.finished_at)
            for r in (await conn.execute(_KEYS, {"uuid": uuid})).all()]


async def _known_nodes(conn: AsyncConnection, uuid: str) -> set[str]:
    return set((await conn.execute(_KNOWN, {"uuid": uuid})).scalars())


async def _delete(conn: AsyncConnection, ids: Sequence[int]) -> int:
    for start in range(0, len(ids), _DELETE_CHUNK):
        await conn.execute(_DELETE_IDS, {"ids": list(ids[start:start + _DELETE_CHUNK])})
    return len(ids)
