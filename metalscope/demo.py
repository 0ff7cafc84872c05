"""``metalscope demo``: the whole job on embedded defaults, end to end, on one machine.

Starts a real Ironic in fake mode on 127.0.0.1:6385 (the embedded default Ironic address),
starts ``metalscope serve`` with no configuration file (embedded defaults), enrolls a few
simulated machines, introspects them with managed boot, lets simulated ramdisks call back,
and prints what was discovered per node.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx

from metalscope.simulator import SimulatedNode, make_fleet, post_inventory, ramdisk_data
from metalscope.testing.ironic import LocalIronic

IRONIC_PORT = 6385
API = "http://127.0.0.1:5050"


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
            raise click.ClickException(f"metalscope serve exited, see {workdir / 'metalscope.log'}")
        try:
            if httpx.get(API + "/", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise click.ClickException("metalscope serve did not answer within 60 s")


def enroll(ironic: LocalIronic, machine: SimulatedNode) -> dict[str, Any]:
    """Machines with a BMC are enrolled by BMC address only (introspection creates their
    ports); virtual machines, which have none, by their PXE port."""
    if machine.bmc_address:
        return ironic.enroll_node(machine.name, {"ipmi_address": machine.bmc_address}, [])
    return ironic.enroll_node(machine.name, {}, [machine.pxe_mac])


async def introspect(client: httpx.AsyncClient, node: dict[str, Any], machine: SimulatedNode) -> dict[str, Any]:
    """Start, wait for the reboot, post the ramdisk data, wait for the end."""
    response = await client.post(f"/v1/introspection/{node['uuid']}")
    response.raise_for_status()
    await wait_for(client, node["uuid"], lambda s: s["state"] != "starting")
    await post_inventory(client, API + "/v1/continue", ramdisk_data(machine))
    return await wait_for(client, node["uuid"], lambda s: s["finished"])


async def wait_for(client: httpx.AsyncClient, uuid: str, done: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = (await client.get(f"/v1/introspection/{uuid}")).json()
        if done(status) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


async def introspect_all(pairs: list[tuple[dict[str, Any], SimulatedNode]]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=API, timeout=60) as client:
        return list(await asyncio.gather(*(introspect(client, n, m) for n, m in pairs)))


def describe(ironic: LocalIronic, machine: SimulatedNode, status: dict[str, Any]) -> str:
    node = ironic.get_node(status["uuid"])
    props = node["properties"]
    ports = ", ".join(f"{p['address']}{' (pxe)' if p['pxe_enabled'] else ''}"
                      for p in ironic.list_ports(status["uuid"]))
    lines = [f"{machine.name}  {machine.vendor} {machine.model}",
             f"    introspection: {status['state']}" + (f" ({status['error']})" if status["error"] else ""),
             f"    cpus={props.get('cpus')} cpu_arch={props.get('cpu_arch')} "
             f"memory_mb={props.get('memory_mb')} local_gb={props.get('local_gb')}",
             f"    capabilities: {props.get('capabilities') or '-'}",
             f"    ports: {ports or '-'}"]
    return "\n".join(lines)


def run_demo(ironic_venv: Path, count: int, workdir: Path, keep_running: bool) -> None:
    for port in (IRONIC_PORT, 5050):
        if port_in_use(port):
            raise click.ClickException(f"Port {port} on 127.0.0.1 is already in use; stop what "
                                       "listens there (an earlier demo?) and try again")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    click.echo(f"Starting Ironic (fake hardware) on 127.0.0.1:{IRONIC_PORT} ...")
    ironic = LocalIronic(workdir / "ironic", ironic_venv / "bin", port=IRONIC_PORT,
                         schema_cache_dir=workdir.parent / "ironic-schema").start()
    service = None
    try:
        click.echo("Starting MetalScope on embedded defaults (metalscope serve) on :5050 ...")
        service = start_metalscope(workdir)
        machines = make_fleet(seed=2026, count=count)
        pairs = [(enroll(ironic, m), m) for m in machines]
        click.echo(f"Enrolled {count} simulated machines; introspecting them (managed boot, "
                   "reboots paced by [DEFAULT]introspection_delay) ...\n")
        statuses = asyncio.run(introspect_all(pairs))
        for (_node, machine), status in zip(pairs, statuses):
            click.echo(describe(ironic, machine, status))
        finished = sum(1 for s in statuses if s["state"] == "finished")
        click.echo(f"\n{finished} of {count} nodes introspected. Logs and data: {workdir}")
        if keep_running:
            click.echo(f"MetalScope: {API}  Ironic: {ironic.url}  (Ctrl-C to stop)")
            _wait_forever()
        if finished != count:
            raise click.ClickException("some introspections did not finish")
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        ironic.stop()


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@click.command()
@click.option("--ironic-venv", type=click.Path(path_type=Path), default=Path(".venv-ironic"),
              show_default=True, help="Virtual environment with Ironic installed.")
@click.option("--count", default=5, show_default=True, help="How many simulated machines.")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path(".work/demo"),
              show_default=True)
@click.option("--keep-running", is_flag=True, help="Leave Ironic and MetalScope running.")
def demo(ironic_venv: Path, count: int, workdir: Path, keep_running: bool) -> None:
    """Introspect simulated machines end to end against a local fake Ironic."""
    run_demo(ironic_venv.absolute(), count, workdir.absolute(), keep_running)
