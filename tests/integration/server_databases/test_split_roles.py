"""A conductor-role process and an API-role process over one PostgreSQL database, with a
real Ironic: nodes are introspected end to end by the two together.

The API process answers the API and the ramdisk callbacks; the conductor has no HTTP
listener, leads the periodic tasks and runs the dnsmasq PXE filter driver, whose host files
follow the introspections the API process starts and finishes at its next sync.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_fleet, post_inventory, ramdisk_data
from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import free_port, render_config, wait_until_answers

pytestmark = pytest.mark.integration

VERSION = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
#: Runs one process in a role, as the upstream-named commands will.
RUNNER = """
import sys
from metalscope.process_roles import Role
from metalscope.server import run_server
from metalscope.settings import load_settings

path, role, port = sys.argv[1], Role(sys.argv[2]), int(sys.argv[3])
run_server(load_settings([path]), role=role, reload_settings=lambda: load_settings([path]),
           bind=("127.0.0.1", port) if port else None)
"""


class RoleProcess:
    def __init__(self, workdir: Path, config: Path, role: str, port: int = 0) -> None:
        self.log_file = workdir / f"{role}.log"
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(config), role, str(port)],
            stdout=self.log_file.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ})

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"exited:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r}:\n{self.log()[-3000:]}"
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@pytest.fixture
def postgresql() -> Iterator[ScratchDatabase]:
    from tests.integration.server_databases.conftest import _require

    _require("postgresql")
    with ScratchDatabase.create("postgresql") as database:
        yield database


def write_config(path: Path, database: ScratchDatabase, ironic_url: str,
                 hostsdir: Path) -> None:
    sections: dict[str, dict[str, Any]] = {
        "DEFAULT": {"auth_strategy": "noauth", "introspection_delay": 0, "standalone": False,
                    "clean_up_period": 2, "graceful_shutdown_timeout": 5},
        "database": {"connection": database.url},
        "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
        "pxe_filter": {"driver": "dnsmasq", "sync_period": 1},
        "dnsmasq_pxe_filter": {"dhcp_hostsdir": str(hostsdir)},
        "processing": {"store_data": "database", "ramdisk_logs_dir": str(path.parent / "logs")},
    }
    path.write_text(render_config(sections))


def wait_file(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text() == text):
        assert time.monotonic() < deadline, \
            f"{path} holds {path.read_text() if path.exists() else None!r}, not {text!r}"
        time.sleep(0.1)


def test_a_conductor_and_an_api_process_introspect_nodes_together(
        ironic: LocalIronic, postgresql: ScratchDatabase, tmp_path: Path) -> None:
    machines = make_fleet(9090, 3)
    uuids = [ironic.enroll_node(None, {}, [m.pxe_mac], provision_state="enroll")["uuid"]
             for m in machines]
    hostsdir, config = tmp_path / "hostsdir", tmp_path / "inspector.conf"
    hostsdir.mkdir()
    write_config(config, postgresql, ironic.url, hostsdir)
    subprocess.run([sys.executable, "-m", "metalscope.cli", "db", "upgrade", "--config-file",
                    str(config)], check=True, capture_output=True)
    conductor = RoleProcess(tmp_path, config, "conductor")
    api = RoleProcess(tmp_path, config, "api", free_port())
    try:
        conductor.wait_for_line("Conductor running")
        assert wait_until_answers(api.url, api.process, 60) is None, api.log()
        with httpx.Client(base_url=api.url, timeout=60, headers=VERSION) as client:
            for uuid in uuids:
                assert client.post(f"/v1/introspection/{uuid}?manage_boot=0").status_code == 202
            for machine in machines:  # the conductor's sync lets the started nodes boot
                wait_file(hostsdir / machine.pxe_mac, f"{machine.pxe_mac}\n")

            conductor.process.send_signal(signal.SIGHUP)
            conductor.wait_for_line("The configuration files are unchanged")

            async def ramdisks() -> list[httpx.Response]:
                async with httpx.AsyncClient(timeout=60) as ramdisk:
                    return list(await asyncio.gather(*(
                        post_inventory(ramdisk, f"{api.url}/v1/continue", ramdisk_data(m))
                        for m in machines)))

            answers = asyncio.run(ramdisks())
            assert [(a.status_code, a.json()) for a in answers] == \
                [(200, {"uuid": uuid}) for uuid in uuids]
            deadline = time.monotonic() + 60
            while {client.get(f"/v1/introspection/{u}").json()["state"] for u in uuids} \
                    != {"finished"}:
                assert time.monotonic() < deadline
                time.sleep(0.3)
            for machine in machines:  # and denies them once finished
                wait_file(hostsdir / machine.pxe_mac, f"{machine.pxe_mac},ignore\n")
        assert conductor.process.poll() is None and api.process.poll() is None
    finally:
        codes = (conductor.stop(), api.stop())
    assert codes == (0, 0), (conductor.log()[-3000:], api.log()[-3000:])
    conductor_log, api_log = conductor.log(), api.log()
    assert "now the leader for periodic tasks" in conductor_log
    assert "leader" not in api_log
    assert "Started server process" not in conductor_log
    assert "metalscope.pxe_filter" not in api_log
    for uuid, machine in zip(uuids, machines, strict=True):
        assert ironic.get_node(uuid)["properties"].get("memory_mb") == str(machine.memory_mb)
        ironic.delete_node(uuid)
