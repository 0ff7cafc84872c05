"""Upstream's command lines, run from the two wheels installed in a fresh environment.

The wheels of ``metalscope`` and ``metalscope-ironic-inspector-commands`` are built with
``python -m build`` and installed into a new virtual environment (pip's cache makes that
quick); then the exact command lines an operator's units run are run against the session's
real Ironic: the schema with ``ironic-inspector-dbsync``, ``ironic-inspector-status upgrade
check``, the service with ``ironic-inspector --config-file ...`` and a simulated ramdisk
callback whose results land in Ironic; and ``dbsync stamp``/``version`` on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.storage import migrate
from metalscope.testing.databases import ScratchDatabase, server_problem
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import free_port, render_config, wait_until_answers

pytestmark = pytest.mark.integration

VERSION = "0.1.0"


def run(command: list[str], *, timeout: float = 120,
        home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)} if home is not None else None
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HOME of the commands run: a scratch folder, so no file of this machine's user is
    read (pip keeps the real HOME, and its cache)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def commands(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh environment with both wheels installed."""
    work = tmp_path_factory.mktemp("wheels")
    for source in (repo_root, repo_root / "distributions" / "ironic-inspector-commands"):
        built = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"),
                     str(source)], timeout=300)
        assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    wheels = sorted((work / "dist").glob("*.whl"))
    assert [wheel.name.split("-")[0] for wheel in wheels] == [
        "metalscope", "metalscope_ironic_inspector_commands"]
    venv = work / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0
    installed = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                     "-c", str(repo_root / "constraints" / "dev.txt"),
                     f"{wheels[0]}[postgresql]", str(wheels[1])], timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv / "bin"


def write_conf(path: Path, connection: str, ironic_url: str, port: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_config({
        "DEFAULT": {"auth_strategy": "noauth", "listen_address": "127.0.0.1",
                    "listen_port": port, "introspection_delay": 0},
        "database": {"connection": connection},
        "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
        "pxe_filter": {"driver": "noop"},
        "processing": {"store_data": "database",
                       "ramdisk_logs_dir": str(path.parent / "ramdisk-logs")},
    }))
    return path


def test_the_wheels_install_every_command(commands: Path, home: Path) -> None:
    for name in ("ironic-inspector", "ironic-inspector-dbsync", "ironic-inspector-conductor",
                 "ironic-inspector-api-wsgi", "ironic-inspector-status",
                 "ironic-inspector-migrate-data", "metalscope"):
        assert (commands / name).is_file(), name
    result = run([str(commands / "ironic-inspector"), "--version"], home=home)
    assert (result.returncode, result.stdout.strip()) == (0, VERSION)
    result = run([str(commands / "metalscope"), "--version"], home=home)
    assert result.stdout.strip() == f"metalscope, version {VERSION}"


class TestServiceFromUpstreamCommandLines:
    @pytest.fixture(scope="class")
    def conf(self, tmp_path_factory: pytest.TempPathFactory, ironic: LocalIronic) -> Path:
        folder = tmp_path_factory.mktemp("inspector")
        return write_conf(folder / "inspector.conf", f"sqlite:///{folder / 'inspector.sqlite'}",
                          ironic.url, free_port())

    @pytest.fixture(scope="class")
    def service(self, commands: Path, conf: Path, home: Path) -> Iterator[str]:
        """``ironic-inspector-dbsync --config-file X upgrade``, then ``ironic-inspector
        --config-file X`` serving."""
        upgraded = run([str(commands / "ironic-inspector-dbsync"), "--config-file", str(conf),
                        "upgrade"], home=home)
        assert upgraded.returncode == 0, upgraded.stderr
        assert f"MetalScope: {migrate.head_revision()} (head)" in upgraded.stdout
        port = int(conf.read_text().split("listen_port = ")[1].split()[0])
        url = f"http://127.0.0.1:{port}"
        log = (conf.parent / "console.log").open("ab")
        process = subprocess.Popen([str(commands / "ironic-inspector"), "--config-file",
                                    str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HOME": str(home)})
        try:
            problem = wait_until_answers(url, process, 60)
            assert problem is None, problem + (conf.parent / "console.log").read_text()[-3000:]
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()

    def test_status_upgrade_check_succeeds(self, commands: Path, conf: Path, home: Path,
                                           service: str) -> None:
        result = run([str(commands / "ironic-inspector-status"), "--config-file", str(conf),
                      "upgrade", "check"], home=home)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.count("| Result: Success") == 5
        assert "| Check: Ironic API access" in result.stdout
        assert "| Check: Introspection data store" in result.stdout

    def test_ramdisk_callback_end_to_end(self, service: str, ironic: LocalIronic,
                                         make_node: Callable[..., Any]) -> None:
        machine = make_machine(seed=19, index=7, virtual=True)
        node = make_node(macs=[machine.pxe_mac])
        with httpx.Client(base_url=service, timeout=60) as api:
            started = api.post(f"/v1/introspection/{node['uuid']}",
                               params={"manage_boot": "False"})
            assert started.status_code == 202, started.text
            answer = api.post("/v1/continue", json=ramdisk_data(machine))
            assert answer.status_code == 200 and answer.json() == {"uuid": node["uuid"]}
            status = wait_finished(api, node["uuid"])
        assert status["state"] == "finished" and status["error"] is None
        properties = ironic.get_node(node["uuid"])["properties"]
        assert properties["cpus"] == str(machine.cpu.count)
        assert properties["memory_mb"] == str(machine.memory_mb)

    def test_log_names_the_file(self, service: str, conf: Path) -> None:
        assert f"Configuration read from {conf}" in (conf.parent / "console.log").read_text()


def wait_finished(api: httpx.Client, uuid: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(f"/v1/introspection/{uuid}").json()
        if status["finished"] or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def postgresql_url() -> Iterator[str]:
    problem = server_problem("postgresql")
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"PostgreSQL unavailable under CI: {problem}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    with ScratchDatabase.create("postgresql") as database:
        yield database.url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stamp.sqlite'}"
    else:
        yield from postgresql_url()


def test_dbsync_stamp_and_version(commands: Path, database_url: str, tmp_path: Path,
                                  home: Path) -> None:
    """``stamp`` records a revision without migrating; ``version`` and ``current`` print it."""
    conf = write_conf(tmp_path / "stamp.conf", database_url, "http://127.0.0.1:9")
    dbsync = [str(commands / "ironic-inspector-dbsync"), "--config-file", str(conf)]
    stamped = run([*dbsync, "stamp", "--revision", migrate.UPSTREAM_HEAD], home=home)
    assert stamped.returncode == 0, stamped.stderr
    assert stamped.stdout.splitlines() == [
        "MetalScope: none", f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]
    stamped = run([*dbsync, "stamp", "--revision", "head"], home=home)
    heads = [f"MetalScope: {migrate.head_revision()} (head)",
             f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]
    assert stamped.stdout.splitlines() == heads, stamped.stderr
    for subcommand in ("version", "current"):
        assert run([*dbsync, subcommand], home=home).stdout.splitlines() == heads
    refused = run([*dbsync, "revision", "-m", "x"], home=home)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
