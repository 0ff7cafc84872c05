"""The steps of ``metalscope demo``: simulated machines enrolled in a local fake Ironic and
introspected by a MetalScope started on embedded defaults.

The Ironic is any object with the few calls of :class:`DemoIronic` (the command passes a
local Ironic in fake mode).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from metalscope.simulator.inventory import SimulatedNode, ramdisk_data
from metalscope.simulator.poster import post_inventory

IRONIC_PORT = 6385
API_PORT = 5050
API = f"http://127.0.0.1:{API_PORT}"
WAIT_SECONDS = 120


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


class DemoIronic(Protocol):
    """The Ironic calls the demo makes."""

    url: str

    def enroll_node(self, name: str | None, driver_info: dict[str, Any],
                    macs: list[str]) -> dict[str, Any]: ...

    def get_node(self, node_id: str) -> dict[str, Any]: ...

    def list_ports(self, node_id: str) -> list[dict[str, Any]]: ...

    def stop(self) -> None: ...


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_metalscope(workdir: Path) -> subprocess.Popen[bytes]:
    """``metalscope serve`` with no configuration file, its data folder under ``workdir``."""
    log = (workdir / "metalscope.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "metalscope.cli", "serve"], cwd=workdir,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"metalscope serve exited, see {workdir / 'metalscope.log'}")
        try:
            if httpx.get(API + "/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise DemoError("metalscope serve did not answer within 60 s")


def enroll(ironic: DemoIronic, machine: SimulatedNode) -> dict[str, Any]:
    """Machines with a BMC are enrolled by BMC address only (introspection creates their
    ports); virtual machines, which have none, by their PXE port."""
    if machine.bmc_address:
        return ironic.enroll_node(machine.name, {"ipmi_address": machine.bmc_address}, [])
    return ironic.enroll_node(machine.name, {}, [machine.pxe_mac])


async def introspect(client: httpx.AsyncClient, node: dict[str, Any],
                     machine: SimulatedNode) -> dict[str, Any]:
    """Start, wait for the reboot, post the ramdisk data, wait for the end."""
    response = await client.post(f"/v1/introspection/{node['uuid']}")
    response.raise_for_status()
    await wait_for(client, node["uuid"], lambda s: s["state"] != "starting")
    await post_inventory(client, API + "/v1/continue", ramdisk_data(machine))
    return await wait_for(client, node["uuid"], lambda s: s["finished"])


async def wait_for(client: httpx.AsyncClient, uuid: str,
                   done: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """The introspection status once ``done`` holds, or after two minutes."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status: dict[str, Any] = (await client.get(f"/v1/introspection/{uuid}")).json()
        if done(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def introspect_all(
        pairs: list[tuple[dict[str, Any], SimulatedNode]]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=API, timeout=60) as client:
        return list(await asyncio.gather(*(introspect(client, n, m) for n, m in pairs)))


def describe(ironic: DemoIronic, machine: SimulatedNode, status: dict[str, Any]) -> str:
    """What was discovered about one machine, a few indented lines."""
    node = ironic.get_node(status["uuid"])
    props = node["properties"]
    ports = ", ".join(f"{p['address']}{' (pxe)' if p['pxe_enabled'] else ''}"
                      for p in ironic.list_ports(status["uuid"]))
    error = f" ({status['error']})" if status["error"] else ""
    lines = [f"{machine.name}  {machine.vendor} {machine.model}",
             f"    introspection: {status['state']}{error}",
             f"    cpus={props.get('cpus')} cpu_arch={props.get('cpu_arch')} "
             f"memory_mb={props.get('memory_mb')} local_gb={props.get('local_gb')}",
             f"    capabilities: {props.get('capabilities') or '-'}",
             f"    ports: {ports or '-'}"]
    return "\n".join(lines)
