"""An in-memory stand-in for IronicClient, for unit tests only (integration tests use real
Ironic)."""

from __future__ import annotations

import copy
import uuid as uuidlib
from typing import Any

from metalscope.errors import IronicError, NodeNotInIronic


class FakeIronic:
    """Nodes and ports in dicts; records every call in ``calls``."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.ports: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.power_fails = False

    def add_node(self, *, provision_state: str = "manageable",
                 driver_info: dict[str, Any] | None = None,
                 macs: list[str] = (), name: str | None = None, **fields: Any) -> dict[str, Any]:
        node = {"uuid": str(uuidlib.uuid4()), "name": name, "provision_state": provision_state,
                "driver": "fake-hardware", "driver_info": driver_info or {}, "properties": {},
                "extra": {}, "traits": [], "power_state": "power off", **fields}
        self.nodes[node["uuid"]] = node
        for mac in macs:
            self._port(node["uuid"], mac, {}, True)
        return node

    def _port(self, node_uuid: str, address: str, extra: dict[str, Any],
              pxe: bool) -> dict[str, Any]:
        port = {"uuid": str(uuidlib.uuid4()), "node_uuid": node_uuid, "address": address,
                "extra": extra, "pxe_enabled": pxe, "local_link_connection": {},
                "physical_network": None}
        self.ports[port["uuid"]] = port
        return port

    async def get_node(self, node_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        self.calls.append(("get_node", node_id))
        for node in self.nodes.values():
            if node_id in (node["uuid"], node["name"]):
                return copy.deepcopy(node)
        raise NodeNotInIronic(node_id)

    async def validate_node(self, uuid: str) -> dict[str, Any]:
        return {"power": {"result": True}}

    async def list_node_ports(self, node_uuid: str) -> list[dict[str, Any]]:
        self.calls.append(("list_node_ports", node_uuid))
        return [copy.deepcopy(p) for p in self.ports.values() if p["node_uuid"] == node_uuid]

    async def list_nodes(self, fields: list[str] | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(n) for n in self.nodes.values()]

    async def find_ports_by_address(self, mac: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in self.ports.values() if p["address"] == mac]

    async def patch_node(self, uuid: str, ops: list[dict[str, Any]],
                         reset_interfaces: bool | None = None) -> dict[str, Any]:
        self.calls.append(("patch_node", ops))
        node = self.nodes[uuid]
        for op in ops:
            *parents, last = op["path"].strip("/").split("/")
            target = node
            for part in parents:
                target = target.setdefault(part, {})
            if op["op"] == "remove":
                target.pop(last, None)
            else:
                target[last] = op["value"]
        return copy.deepcopy(node)

    async def create_port(self, node_uuid: str, address: str, extra: dict[str, Any],
                          pxe_enabled: bool) -> dict[str, Any]:
        self.calls.append(("create_port", address))
        if any(p["address"] == address for p in self.ports.values()):
            raise IronicError(f"A port with MAC address {address} already exists.", 409)
        return self._port(node_uuid, address, extra, pxe_enabled)

    async def patch_port(self, port_uuid: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(("patch_port", (port_uuid, ops)))
        return self.ports[port_uuid]

    async def delete_port(self, port_uuid: str) -> None:
        self.calls.append(("delete_port", port_uuid))
        self.ports.pop(port_uuid, None)

    async def set_boot_device(self, uuid: str, device: str, persistent: bool = False) -> None:
        self.calls.append(("set_boot_device", (uuid, device)))

    async def set_power_state(self, uuid: str, target: str) -> None:
        self.calls.append(("set_power_state", (uuid, target)))
        if self.power_fails:
            raise IronicError("power failure", 500)

    async def add_trait(self, uuid: str, trait: str) -> None:
        self.nodes[uuid]["traits"].append(trait)

    async def remove_trait(self, uuid: str, trait: str) -> None:
        if trait in self.nodes[uuid]["traits"]:
            self.nodes[uuid]["traits"].remove(trait)

    async def create_node(self, **fields: Any) -> dict[str, Any]:
        return self.add_node(provision_state="enroll", **fields)

    async def aclose(self) -> None:
        return None
