"""``metalscope demo``: the whole job on embedded defaults, end to end, on one machine.

Starts a real Ironic in fake mode on 127.0.0.1:6385 (the embedded default Ironic address),
starts ``metalscope serve`` with no configuration file (embedded defaults), enrolls a few
simulated machines, introspects them with managed boot, lets simulated ramdisks call back,
and prints what was discovered per node (the steps are in :mod:`metalscope.simulator.demo`).

The local Ironic is a test helper (:mod:`metalscope.testing`): only the command function
imports it, when the demo runs. Its virtual environment is ``--ironic-venv`` (or
``METALSCOPE_IRONIC_VENV``), else found as :mod:`metalscope.testing.ironic_venv` says, so an
installed wheel runs the demo as a checkout does.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from metalscope.simulator import make_fleet
from metalscope.simulator.demo import (
    API,
    API_PORT,
    IRONIC_PORT,
    DemoError,
    DemoIronic,
    describe,
    enroll,
    introspect_all,
    port_in_use,
    start_metalscope,
)


def run_demo(start_ironic: Callable[[], DemoIronic], count: int, workdir: Path,
             keep_running: bool) -> None:
    for port in (IRONIC_PORT, API_PORT):
        if port_in_use(port):
            raise click.ClickException(f"Port {port} on 127.0.0.1 is already in use; stop what "
                                       "listens there (an earlier demo?) and try again")
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    click.echo(f"Starting Ironic (fake hardware) on 127.0.0.1:{IRONIC_PORT} ...")
    ironic = start_ironic()
    service = None
    try:
        click.echo("Starting MetalScope on embedded defaults (metalscope serve) on :5050 ...")
        service = start_metalscope(workdir)
        machines = make_fleet(seed=2026, count=count)
        pairs = [(enroll(ironic, m), m) for m in machines]
        click.echo(f"Enrolled {count} simulated machines; introspecting them (managed boot, "
                   "reboots paced by [DEFAULT]introspection_delay) ...\n")
        statuses = asyncio.run(introspect_all(pairs))
        for (_node, machine), status in zip(pairs, statuses, strict=True):
            click.echo(describe(ironic, machine, status))
        finished = sum(1 for s in statuses if s["state"] == "finished")
        click.echo(f"\n{finished} of {count} nodes introspected. Logs and data: {workdir}")
        if keep_running:
            click.echo(f"MetalScope: {API}  Ironic: {ironic.url}  (Ctrl-C to stop)\n"
                       f"Fleet page: {API}/ui/  Metrics: {API}/metrics")
            _wait_forever()
        if finished != count:
            raise click.ClickException("some introspections did not finish")
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
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


@click.command("demo")
@click.option("--ironic-venv", type=click.Path(path_type=Path), envvar="METALSCOPE_IRONIC_VENV",
              help="Virtual environment with Ironic installed (also METALSCOPE_IRONIC_VENV). "
                   "Default: the first with Ironic of ./.venv-ironic, .venv-ironic beside the "
                   "environment MetalScope runs from, and that environment itself.")
@click.option("--count", default=5, show_default=True, help="How many simulated machines.")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path(".work/demo"),
              show_default=True)
@click.option("--keep-running", is_flag=True, help="Leave Ironic and MetalScope running.")
def demo(ironic_venv: Path | None, count: int, workdir: Path, keep_running: bool) -> None:
    """Introspect simulated machines end to end against a local fake Ironic."""
    from metalscope.testing.ironic import LocalIronic
    from metalscope.testing.ironic_venv import IronicVenvNotFound, find_ironic_venv

    try:
        venv = find_ironic_venv(ironic_venv, Path.cwd(), Path(sys.prefix))
    except IronicVenvNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    workdir = workdir.absolute()
    bin_dir = venv / "bin"

    def start_ironic() -> DemoIronic:
        return LocalIronic(workdir / "ironic", bin_dir, port=IRONIC_PORT,
                           schema_cache_dir=workdir.parent / "ironic-schema").start()

    run_demo(start_ironic, count, workdir, keep_running)
