"""Reading a node's hardware history and the diff between two of its versions (API 1.19).

History is kept only with ``[processing]store_data = database`` and ``[history]enabled``;
otherwise every read is a 404 that says so (the same status upstream gives data reads when
no data is stored). Node ids are resolved as for the other introspection routes: a UUID is
used as given, a name through Ironic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metalscope.errors import IntrospectionNotFound, InvalidRequest, NotFound
from metalscope.hardware import HardwareDiff, compare
from metalscope.operations.nodes import resolve_uuid
from metalscope.operations.status import parse_limit
from metalscope.services import Services
from metalscope.settings import Settings
from metalscope.storage.history import HistoryVersion, StoredVersion

HISTORY_DISABLED = ("Hardware history is not kept: it needs [processing]store_data = database "
                    "and [history]enabled = True.")


class HistoryNotKept(NotFound):
    """History is disabled, or the data store is not the database (404)."""

    def __init__(self) -> None:
        super().__init__(HISTORY_DISABLED)


class NoHistory(NotFound):
    """The node is known but no version of its hardware was recorded (404)."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"No hardware history for node {uuid}")
        self.uuid = uuid


class VersionNotFound(NotFound):
    def __init__(self, uuid: str, version: int) -> None:
        super().__init__(f"Version {version} of node {uuid} was not found")
        self.uuid = uuid
        self.version = version


class NothingToCompare(NotFound):
    def __init__(self, uuid: str, version: int) -> None:
        super().__init__(f"Node {uuid} has no version before version {version} to compare "
                         f"with")


class UnprocessedNotStored(NotFound):
    def __init__(self, uuid: str, version: int) -> None:
        super().__init__(f"Unprocessed data of version {version} of node {uuid} was not stored")


@dataclass(frozen=True)
class VersionDiff:
    """Two versions and the hardware diff from the first to the second."""

    old: HistoryVersion
    new: HistoryVersion
    diff: HardwareDiff


def history_kept(settings: Settings) -> bool:
    return settings.processing.store_data == "database" and settings.history.enabled


def parse_version_number(value: str | None, name: str) -> int | None:
    """A version number from the request (``None`` when absent); 400 unless a positive
    integer."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < 1:
        raise InvalidRequest(f"Bad request: {name} must be a positive integer version "
                             f"number, got '{value}'")
    return int(text)


async def _node_uuid(svc: Services, node_id: str) -> str:
    if not history_kept(svc.settings):
        raise HistoryNotKept()
    return await resolve_uuid(svc, node_id)


async def _missing_history(svc: Services, uuid: str) -> NotFound:
    """Why a node has no version: unknown to MetalScope, or never recorded."""
    if await svc.repo.get_node(uuid) is None:
        return IntrospectionNotFound(uuid)
    return NoHistory(uuid)


async def list_versions(svc: Services, node_id: str, limit: str | None,
                        marker: str | None) -> tuple[str, Sequence[HistoryVersion]]:
    """The node's UUID and one page of its versions, newest first (``marker``: the last
    version of the previous page, which must exist)."""
    page = parse_limit(limit, svc.settings.default.api_max_limit)
    after = parse_version_number(marker, "Marker")
    uuid = await _node_uuid(svc, node_id)
    if after is not None and not await _exists(svc, uuid, after):
        raise VersionNotFound(uuid, after)
    versions = await svc.repo.list_versions(uuid, limit=page, marker=after)
    if not versions and after is None:
        raise await _missing_history(svc, uuid)
    return uuid, versions


async def get_version(svc: Services, node_id: str, version: str) -> StoredVersion:
    number = parse_version_number(version, "Version")
    assert number is not None
    uuid = await _node_uuid(svc, node_id)
    return await _stored(svc, uuid, number)


async def get_unprocessed(svc: Services, node_id: str, version: str) -> dict[str, Any]:
    stored = await get_version(svc, node_id, version)
    if stored.unprocessed is None:
        raise UnprocessedNotStored(stored.uuid, stored.version)
    return stored.unprocessed


async def _exists(svc: Services, uuid: str, number: int) -> bool:
    """Whether version ``number`` exists, without reading its data."""
    at_most = await svc.repo.list_versions(uuid, limit=1, marker=number + 1)
    return bool(at_most) and at_most[0].version == number


async def _stored(svc: Services, uuid: str, number: int) -> StoredVersion:
    stored = await svc.repo.get_version(uuid, number)
    if stored is None:
        if not await svc.repo.list_versions(uuid, limit=1):
            raise await _missing_history(svc, uuid)
        raise VersionNotFound(uuid, number)
    return stored


async def _latest(svc: Services, uuid: str) -> StoredVersion:
    latest = await svc.repo.latest_version(uuid)
    if latest is None:
        raise await _missing_history(svc, uuid)
    return latest


async def _previous(svc: Services, new: StoredVersion) -> StoredVersion:
    older = await svc.repo.list_versions(new.uuid, limit=1, marker=new.version)
    if not older:
        raise NothingToCompare(new.uuid, new.version)
    return await _stored(svc, new.uuid, older[0].version)


async def diff_versions(svc: Services, node_id: str, from_version: str | None,
                        to_version: str | None) -> VersionDiff:
    """``compare(from.processed, to.processed)``: ``to`` defaults to the latest version,
    ``from`` to the version before ``to``; ``from == to`` gives an unchanged diff."""
    old_number = parse_version_number(from_version, "from")
    new_number = parse_version_number(to_version, "to")
    uuid = await _node_uuid(svc, node_id)
    new = await (_latest(svc, uuid) if new_number is None else _stored(svc, uuid, new_number))
    if old_number is None:
        old = await _previous(svc, new)
    elif old_number == new.version:
        old = new
    else:
        old = await _stored(svc, uuid, old_number)
    # The diff of two big inventories takes a while: off the event loop.
    diff = await asyncio.to_thread(compare, old.processed, new.processed)
    return VersionDiff(old, new, diff)
