"""Reading introspection status records and stored data (spec 2.4.5, 2.4.6, 2.4.8)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Protocol

from metalscope.errors import (
    DataNotFound,
    IntrospectionNotFound,
    InvalidRequest,
    NotFound,
    StorageNotConfigured,
)
from metalscope.operations.nodes import canonical_uuid, resolve_uuid
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord

STORE_DISABLED = ("Inspector is not configured to store data. Set the [processing]store_data "
                  "configuration option to change this.")


class IntrospectionStatus(Protocol):
    """What the status of one introspection shows (spec 2.4.5)."""

    @property
    def uuid(self) -> str: ...

    @property
    def state(self) -> State: ...

    @property
    def started_at(self) -> datetime.datetime | None: ...

    @property
    def finished_at(self) -> datetime.datetime | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def finished(self) -> bool: ...

    @property
    def method(self) -> str: ...


async def get_status(svc: Services, node_id: str) -> IntrospectionStatus:
    uuid = await resolve_uuid(svc, node_id)
    record = await svc.repo.get_node(uuid)
    if record is None:
        raise IntrospectionNotFound(uuid)
    return record


def parse_limit(value: str | None, maximum: int) -> int:
    if value is None:
        return maximum
    try:
        limit = int(value)
    except ValueError:
        raise InvalidRequest("Bad request: invalid literal for int() with base 10: "
                             f"'{value}'") from None
    if limit < 0:
        raise InvalidRequest("Bad request: Limit cannot be negative")
    if limit > maximum:
        raise InvalidRequest(f"Bad request: Limit over {maximum}")
    return limit or maximum


def parse_states(value: str | None) -> list[str] | None:
    if value is None:
        return None
    states = [s.strip() for s in value.split(",")]
    valid = {s.value for s in State}
    bad = [s for s in states if s not in valid]
    if bad:
        raise InvalidRequest(f'Bad request: State(s) "{", ".join(bad)}" are not valid')
    return states


async def list_statuses(svc: Services, marker: str | None, limit: str | None,
                        state: str | None) -> Sequence[IntrospectionStatus]:
    page = parse_limit(limit, svc.settings.default.api_max_limit)
    states = parse_states(state)
    marker_record: NodeRecord | None = None
    if marker is not None:
        uuid = canonical_uuid(marker)
        if uuid is None:
            raise InvalidRequest("Bad request: Marker not UUID-like")
        marker_record = await svc.repo.get_node(uuid)
        if marker_record is None:
            raise NotFound("The requested node was not found.")
    return await svc.repo.list_nodes(marker_record, page, states)


async def get_data(svc: Services, node_id: str, processed: bool) -> str:
    """The stored JSON document, as stored."""
    if not svc.data_store.enabled:
        raise StorageNotConfigured(STORE_DISABLED)
    uuid = await resolve_uuid(svc, node_id)
    text = await svc.data_store.get(uuid, processed)
    if text is None:
        raise DataNotFound(uuid, processed)
    return text
