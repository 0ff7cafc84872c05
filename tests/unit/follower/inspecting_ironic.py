"""An in-memory Ironic that inspects by itself, for the follower's unit tests: nodes with
``inspection_*`` times and inventories, listed and paged as Ironic's API does (sorted by a
key then by creation, the marker being a node UUID), with failures to inject."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from metalscope.errors import IronicError
from tests.fakes import FakeIronic

T0 = datetime.datetime(2026, 12, 6, 12, 0, 0)


def iso(moment: datetime.datetime) -> str:
    return moment.replace(tzinfo=datetime.UTC).isoformat()


class InspectingIronic(FakeIronic):
    """``nulls_first``: nodes never inspected sort first in descending order (Ironic on
    PostgreSQL) rather than last (MySQL/MariaDB, SQLite)."""

    def __init__(self, nulls_first: bool = False) -> None:
        super().__init__()
        self.nulls_first = nulls_first
        self.inventories: dict[str, dict[str, Any]] = {}
        self.created: dict[str, int] = {}
        #: Every list and inventory request: ("list", params) / ("inventory", uuid).
        self.requests: list[tuple[str, Any]] = []
        #: Ironic as a whole answers with this status (None: no answer) when set.
        self.down: int | bool | None = False
        #: Inventory reads of these nodes answer with this status.
        self.failing: dict[str, int] = {}
        self.maintenance: dict[str, str | None] = {}

    # -- the test's side ---------------------------------------------------------------------
    def enroll(self, name: str | None = None, interface: str = "agent") -> str:
        node = self.add_node(name=name, inspect_interface=interface,
                             inspection_started_at=None, inspection_finished_at=None)
        self.created[node["uuid"]] = len(self.created) + 1
        return str(node["uuid"])

    def inspect(self, uuid: str, at: datetime.datetime, memory_mb: int = 4096,
                keep_inventory: bool = True) -> None:
        node = self.nodes[uuid]
        node["inspection_started_at"] = iso(at - datetime.timedelta(seconds=30))
        node["inspection_finished_at"] = iso(at)
        if keep_inventory:
            self.inventories[uuid] = inventory_answer(memory_mb)

    def delete(self, uuid: str) -> None:
        del self.nodes[uuid]
        self.inventories.pop(uuid, None)

    def inventory_reads(self) -> list[str]:
        return [uuid for kind, uuid in self.requests if kind == "inventory"]

    def list_requests(self) -> int:
        return sum(1 for kind, _ in self.requests if kind == "list")

    # -- the API -----------------------------------------------------------------------------
    def _check_up(self) -> None:
        if self.down is False:
            return
        if self.down is None or self.down is True:
            raise IronicError("Cannot reach Ironic: connection refused", None)
        raise IronicError(f"Ironic answered {self.down}", int(self.down))

    def _sort_value(self, node: dict[str, Any], key: str) -> Any:
        return node.get(key)

    async def list_nodes_page(self, *, fields: Any, sort_key: str, sort_dir: str = "asc",
                              limit: int, marker: str | None = None,
                              ) -> tuple[list[dict[str, Any]], str | None]:
        self.requests.append(("list", {"sort_key": sort_key, "sort_dir": sort_dir,
                                       "limit": limit, "marker": marker}))
        self._check_up()
        ordered = self._ordered(sort_key, sort_dir)
        if marker is not None:
            if marker not in self.nodes:
                raise IronicError(f"Node {marker} could not be found.", 404)
            ordered = [n for n in ordered
                       if self._after(n, self.nodes[marker], sort_key, sort_dir)]
        page = ordered[:limit]
        following = page[-1]["uuid"] if len(page) == limit else None
        return [{f: n.get(f) for f in fields} for n in page], following

    def _after(self, node: dict[str, Any], marker: dict[str, Any], key: str,
               direction: str) -> bool:
        """oslo.db's marker criteria over (key, id), as Ironic pages: a comparison with
        NULL is false, and a marker whose key is NULL is compared by id alone."""
        value, mark = node.get(key), marker.get(key)
        created, marked = self.created.get(node["uuid"], 0), self.created.get(marker["uuid"], 0)
        if direction == "desc":
            by_id = created < marked
            if mark is None:
                return by_id
            return value is not None and (value < mark or (value == mark and by_id))
        by_id = created > marked
        if mark is None:
            return by_id
        return value is not None and (value > mark or (value == mark and by_id))

    def _ordered(self, key: str, direction: str) -> list[dict[str, Any]]:
        descending = direction == "desc"
        valued = [n for n in self.nodes.values() if n.get(key) is not None]
        nulls = [n for n in self.nodes.values() if n.get(key) is None]
        valued.sort(key=lambda n: (n[key], self.created.get(n["uuid"], 0)), reverse=descending)
        nulls.sort(key=lambda n: self.created.get(n["uuid"], 0), reverse=descending)
        # Ascending puts nulls where descending does not.
        nulls_in_front = self.nulls_first == descending
        return nulls + valued if nulls_in_front else valued + nulls

    async def get_inventory(self, node_id: str) -> dict[str, Any]:
        self.requests.append(("inventory", node_id))
        self._check_up()
        if node_id in self.failing:
            raise IronicError("Internal Server Error", self.failing[node_id])
        if node_id not in self.nodes:
            raise IronicError(f"Node {node_id} could not be found.", 404)
        if node_id not in self.inventories:
            raise IronicError(f"Node inventory record for node {node_id} could not be "
                              "found.", 404)
        return copy.deepcopy(self.inventories[node_id])

    async def set_maintenance(self, uuid: str, reason: str) -> None:
        self.maintenance[uuid] = reason

    async def clear_maintenance(self, uuid: str) -> None:
        self.maintenance[uuid] = None


def inventory_answer(memory_mb: int) -> dict[str, Any]:
    """What Ironic's inventory API answers for a small node."""
    return {
        "inventory": {
            "cpu": {"count": 8, "architecture": "x86_64", "model_name": "Xeon"},
            "memory": {"physical_mb": memory_mb, "total": memory_mb * 2**20},
            "disks": [{"name": "/dev/sda", "size": 100 * 2**30, "serial": "D1",
                       "model": "SSD"}],
            "interfaces": [{"name": "eth0", "mac_address": "52:54:00:00:00:01"}],
            "system_vendor": {"manufacturer": "Acme", "product_name": "R1",
                              "serial_number": "S1"},
        },
        "plugin_data": {"root_disk": {"name": "/dev/sda"},
                        "all_interfaces": {"eth0": {"mac": "52:54:00:00:00:01"}}},
    }
