"""Connections to a real Ironic: idle keep-alive connections the server closes, and requests
whose answer is lost on the way back.

Ironic's log names every request it served (``LocalIronic.api_requests()``): the tests count
there how many times Ironic really received a PATCH or POST.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.settings import load_settings
from metalscope.testing.answer_losing_proxy import AnswerLosingProxy
from metalscope.testing.idle_closing_proxy import IdleClosingProxy
from metalscope.testing.ironic import LocalIronic

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., dict[str, Any]]
IDLE_CLOSE = 1.0
PAUSE = 1.5  # longer than the proxy's idle close, shorter than the default idle timeout


class IronicLog:
    """The requests Ironic logged after the moment this object was made."""

    def __init__(self, ironic: LocalIronic) -> None:
        self.ironic = ironic
        self.before = len(ironic.api_requests())

    def statuses(self, method: str, path: str) -> list[int]:
        return [request.status for request in self.ironic.api_requests()[self.before:]
                if request.method == method and request.path.split("?")[0] == path]

    async def wait_for(self, method: str, path: str, count: int,
                       timeout: float = 5.0) -> list[int]:
        """The statuses once at least ``count`` are logged (the log trails the answers)."""
        deadline = time.monotonic() + timeout
        while len(found := self.statuses(method, path)) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return found


@asynccontextmanager
async def client_of(url: str, idle_timeout: float | None = None) -> AsyncIterator[IronicClient]:
    """A client built from settings, as the service builds it (default idle timeout if None)."""
    ironic: dict[str, Any] = {"auth_type": "none", "endpoint_override": url}
    if idle_timeout is not None:
        ironic["connection_idle_timeout"] = idle_timeout
    client = IronicClient.from_settings(load_settings(overrides={"ironic": ironic}))
    try:
        yield client
    finally:
        await client.aclose()


def backend(ironic: LocalIronic) -> tuple[str, int]:
    return "127.0.0.1", ironic.port


async def paused_calls(client: IronicClient, uuid: str, pause: float) -> dict[str, Any]:
    """GET, PATCH, PUT, GET, each after a pause that holds the event loop, as processing's
    synchronous hooks and rules do: a FIN arriving meanwhile is not processed by the loop."""
    await client.get_node(uuid)
    hold_loop(pause)
    patched = await client.patch_node(uuid, [
        {"op": "add", "path": "/properties/cpus", "value": 8},
        {"op": "add", "path": "/extra/probe", "value": "after a pause"}])
    assert patched["properties"]["cpus"] == 8
    hold_loop(pause)
    await client.set_boot_device(uuid, "pxe")
    hold_loop(pause)
    return await client.get_node(uuid)


def hold_loop(seconds: float) -> None:
    time.sleep(seconds)


class TestIdleConnections:
    @pytest.mark.parametrize("idle_timeout", [None, 30.0], ids=["default", "longer-than-server"])
    async def test_requests_after_pauses(self, ironic: LocalIronic, make_node: NodeFactory,
                                         idle_timeout: float | None) -> None:
        """The server closes every connection idle for 1 s. With the default idle timeout
        (4 s) and with one of 30 s, which keeps connections the server has closed, every call
        succeeds, none is sent on a closed connection, and Ironic gets the PATCH once."""
        uuid = make_node()["uuid"]
        log = IronicLog(ironic)
        with IdleClosingProxy(backend(ironic), IDLE_CLOSE) as proxy:
            async with client_of(proxy.url, idle_timeout) as client:
                node = await paused_calls(client, uuid, PAUSE)
                calls = client.calls
        assert node["extra"]["probe"] == "after a pause"
        assert await log.wait_for("PATCH", f"/v1/nodes/{uuid}", 1) == [200]
        assert calls == 5  # version discovery and four calls: nothing repeated
        assert len(proxy.requests) == 5
        assert proxy.idle_closes >= 3 and proxy.connections >= 4

    async def test_ironic_closes_idle_connections_after_10_s(self, ironic: LocalIronic) -> None:
        """cheroot's default socket timeout: the reason for connection_idle_timeout < 10."""
        reader, writer = await asyncio.open_connection(*backend(ironic))
        writer.write(b"GET /v1 HTTP/1.1\r\nHost: ironic\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head)[1])  # type: ignore[index]
        await reader.readexactly(length)
        answered = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 30) == b""  # a clean close, no 408
        idle = time.monotonic() - answered
        writer.close()
        assert 9.5 < idle < 12
        assert load_settings().ironic.connection_idle_timeout < idle - 5

    async def test_pause_longer_than_ironics_own_idle_close(self, ironic: LocalIronic,
                                                            make_node: NodeFactory) -> None:
        """The reported failure, straight against Ironic: a PATCH 10.5 s after the last call,
        with the default idle timeout and with one Ironic outlasts."""
        uuids = [make_node()["uuid"], make_node()["uuid"]]
        log = IronicLog(ironic)
        async with client_of(ironic.url) as default, client_of(ironic.url, 60.0) as keeping:
            await default.get_node(uuids[0])
            await keeping.get_node(uuids[1])
            hold_loop(10.5)
            ops = [{"op": "add", "path": "/properties/cpus", "value": 8}]
            nodes = [await default.patch_node(uuids[0], ops),
                     await keeping.patch_node(uuids[1], ops)]
            calls = [default.calls, keeping.calls]
        assert [node["properties"]["cpus"] for node in nodes] == [8, 8]
        for uuid in uuids:
            assert await log.wait_for("PATCH", f"/v1/nodes/{uuid}", 1) == [200]
        assert calls == [3, 3]  # version discovery, GET, PATCH: nothing repeated


class TestLostAnswers:
    async def test_patch_applied_but_answer_lost(self, ironic: LocalIronic,
                                                 make_node: NodeFactory) -> None:
        """Ironic stores the PATCH, the answer never arrives: the client reads the node back,
        sees the patch, reports success; Ironic got the PATCH once."""
        uuid = make_node(properties={"cpus": 2, "memory_mb": 1024}, extra={"stale": 1})["uuid"]
        ops = [{"op": "replace", "path": "/properties/cpus", "value": 16},
               {"op": "add", "path": "/properties/capabilities", "value": "boot_mode:uefi"},
               {"op": "remove", "path": "/extra/stale"}]
        log = IronicLog(ironic)
        with AnswerLosingProxy(backend(ironic), "PATCH") as proxy:
            async with client_of(proxy.url) as client:
                patched = await client.patch_node(uuid, ops)
        assert proxy.lost == [f"PATCH /v1/nodes/{uuid} HTTP/1.1".encode()]
        assert await log.wait_for("PATCH", f"/v1/nodes/{uuid}", 1) == [200]
        stored = ironic.get_node(uuid)
        for shown in (patched, stored):
            assert shown["properties"] == {"cpus": 16, "memory_mb": 1024,
                                           "capabilities": "boot_mode:uefi"}
            assert "stale" not in shown["extra"]
        await asyncio.sleep(0.2)
        assert log.statuses("PATCH", f"/v1/nodes/{uuid}") == [200]  # never sent again

    async def test_port_created_but_answer_lost(self, ironic: LocalIronic,
                                                make_node: NodeFactory,
                                                mac_factory: Callable[[], str]) -> None:
        uuid = make_node(macs=[])["uuid"]
        mac = mac_factory()
        log = IronicLog(ironic)
        with AnswerLosingProxy(backend(ironic), "POST", path_prefix="/v1/ports") as proxy:
            async with client_of(proxy.url) as client:
                port = await client.create_port(uuid, mac, {"seen": True}, pxe_enabled=False)
        assert len(proxy.lost) == 1
        assert (port["node_uuid"], port["address"], port["extra"], port["pxe_enabled"]) == (
            uuid, mac, {"seen": True}, False)
        assert await log.wait_for("POST", "/v1/ports", 1) == [201]
        assert [p["uuid"] for p in ironic.list_ports(uuid)] == [port["uuid"]]

    async def test_idempotent_call_with_lost_answer_is_repeated(
            self, ironic: LocalIronic, make_node: NodeFactory) -> None:
        uuid = make_node()["uuid"]
        log = IronicLog(ironic)
        with AnswerLosingProxy(backend(ironic), "PUT") as proxy:
            async with client_of(proxy.url) as client:
                await client.set_boot_device(uuid, "pxe")
        path = f"/v1/nodes/{uuid}/management/boot_device"
        assert len(proxy.lost) == 1
        assert await log.wait_for("PUT", path, 2) == [204, 204]
