"""An Ironic collection in memory that pages as Ironic's API does, for unit tests only.

Items are sorted by ``sort_key`` then by their creation order (Ironic's ``id``), both in
``sort_dir``; a null sorts as the smallest value (SQLite and MySQL, the databases Ironic
runs on), so last in descending order. ``marker`` is the UUID of the item the page starts
after (an unknown one is Ironic's 404); ``fields`` keeps only the listed fields; the next
marker is given when the page is full, as Ironic's ``next`` link.
"""

from __future__ import annotations

import datetime
import itertools
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from metalscope.errors import IronicError

START = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.UTC)


class FakeCollection:
    """Ports (or nodes) with Ironic's timestamps; ``now`` is Ironic's clock."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.now = START
        self.requests: list[dict[str, str]] = []
        self.fail: IronicError | None = None
        #: Fail only the requests sorted by this key (all when None).
        self.fail_sort_key: str | None = None
        #: Ironic's ``[api]max_limit``.
        self.max_limit = 1000
        self._ids = itertools.count(1)
        self._order: dict[str, int] = {}

    def stamp(self) -> str:
        return self.now.isoformat()

    def tick(self, seconds: float = 1.0) -> None:
        self.now += datetime.timedelta(seconds=seconds)

    def create(self, uuid: str | None = None, **fields: Any) -> dict[str, Any]:
        uuid = uuid or str(uuidlib.uuid4())
        item = {"uuid": uuid, "created_at": self.stamp(), "updated_at": None, **fields}
        self.items[uuid] = item
        self._order[uuid] = next(self._ids)
        return item

    def update(self, uuid: str, **fields: Any) -> dict[str, Any]:
        item = self.items[uuid]
        item.update(fields, updated_at=self.stamp())
        return item

    def delete(self, uuid: str) -> None:
        del self.items[uuid]

    async def list_page(self, params: Mapping[str, str]) -> tuple[list[dict[str, Any]],
                                                                   str | None]:
        self.requests.append(dict(params))
        if self.fail is not None and self.fail_sort_key in (None, params.get("sort_key")):
            raise self.fail
        key, descending = params.get("sort_key", "id"), params.get("sort_dir") == "desc"
        limit = min(int(params.get("limit") or self.max_limit), self.max_limit)

        def order(item: dict[str, Any]) -> tuple[bool, str, int]:
            value = item.get(key) if key != "id" else None
            return value is not None, str(value or ""), self._order[item["uuid"]]

        ordered = sorted(self.items.values(), key=order, reverse=descending)
        start = 0
        if "marker" in params:
            positions = [i for i, item in enumerate(ordered) if item["uuid"] == params["marker"]]
            if not positions:
                raise IronicError(f"Port {params['marker']} could not be found.", 404)
            start = positions[0] + 1
        page = ordered[start:start + limit]
        fields = params["fields"].split(",") if params.get("fields") else None
        items = [{k: v for k, v in item.items() if fields is None or k in fields}
                 for item in page]
        return items, (page[-1]["uuid"] if len(page) == limit else None)
