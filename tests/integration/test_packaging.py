"""The ``metalscope`` distribution as an operator gets it, and the deployment examples run.

Once per session the checkout is built (``python -m build``: the sdist, then the wheel from
that sdist) and the wheel is installed into a fresh virtual environment (pins from
``constraints/dev.txt``; pip's download cache is used). The installed commands then run
from a folder outside the checkout, so nothing is imported from it: the command lines of
``deploy/metalscope.service`` and ``deploy/Containerfile`` are read from those files
(:mod:`tests.deploy_files`) with only the paths, the port and the binaries swapped, and run
against the session's real Ironic.
"""

from __future__ import annotations

import configparser
import email.parser
import os
import signal
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import metalscope
from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.storage import migrate
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import free_port
from tests.deploy_files import (
    CONTAINERFILE,
    DEPLOY,
    EXAMPLE_CONFIG,
    command_line,
    exec_form,
    healthcheck,
    instruction_arguments,
    read_containerfile,
    read_unit,
    timespan_seconds,
    value,
    values,
)

pytestmark = pytest.mark.integration

CONFIG = "/etc/metalscope/metalscope.conf"
BINARY = "/usr/bin/metalscope"
IMAGE_PORT = ":5050/"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    bin_dir: Path
    site_packages: Path

    @property
    def python(self) -> str:
        return str(self.bin_dir / "python")

    @property
    def metalscope(self) -> str:
        return str(self.bin_dir / "metalscope")


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            check=False, **kwargs)
    assert result.returncode == 0, (f"{argv} exited {result.returncode}:\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="session")
def built(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist (so the
    sdist is proven to build a wheel by itself)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(repo_root)])
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(out.iterdir())
    return Built(wheels[0], sdists[0])


@pytest.fixture(scope="session")
def installed(built: Built, repo_root: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh virtual environment with the wheel (and its pinned dependencies) only."""
    target = tmp_path_factory.mktemp("venv")
    venv.create(target, with_pip=True)
    run([str(target / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "-c", str(repo_root / "constraints" / "dev.txt"), str(built.wheel)])
    site = run([str(target / "bin" / "python"), "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    return Installed(target / "bin", Path(site))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder outside the checkout."""
    folder = tmp_path / "run"
    folder.mkdir()
    return folder


def package_files(root: Path) -> set[str]:
    """Every file of the ``metalscope`` package in the checkout, as archive paths."""
    package = root / "metalscope"
    return {path.relative_to(root).as_posix() for path in package.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


class TestDistribution:
    def test_twine_check_strict(self, built: Built) -> None:
        result = run([sys.executable, "-m", "twine", "check", "--strict",
                      str(built.wheel), str(built.sdist)])
        assert result.stdout.count("PASSED") == 2, result.stdout

    def test_metadata(self, built: Built, repo_root: Path) -> None:
        with zipfile.ZipFile(built.wheel) as wheel:
            info = f"metalscope-{metalscope.__version__}.dist-info"
            meta = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
            license_text = wheel.read(f"{info}/licenses/LICENSE").decode()
        assert meta["Name"] == "metalscope"
        assert meta["Version"] == metalscope.__version__
        assert built.wheel.name == f"metalscope-{metalscope.__version__}-py3-none-any.whl"
        assert meta["License-Expression"] == "Apache-2.0"
        assert meta["License-File"] == "LICENSE"
        assert license_text == (repo_root / "LICENSE").read_text()
        assert "Apache License" in license_text and "Version 2.0" in license_text
        assert meta["Author"] == "MetalScope developers"
        assert meta["Requires-Python"] == ">=3.11"
        assert meta["Description-Content-Type"] == "text/markdown"
        assert meta.get_payload().strip() == (repo_root / "README.md").read_text().strip()
        classifiers = meta.get_all("Classifier")
        assert "Programming Language :: Python :: 3.11" in classifiers
        assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639
        assert meta.get_all("Project-URL")

    def test_wheel_carries_every_file_of_the_package(self, built: Built,
                                                     repo_root: Path) -> None:
        """Alembic's script folders, the device list, py.typed...: whatever the package
        holds in the checkout is in the wheel."""
        with zipfile.ZipFile(built.wheel) as wheel:
            shipped = {name for name in wheel.namelist() if name.startswith("metalscope/")}
        expected = package_files(repo_root)
        assert expected - shipped == set()
        assert {"metalscope/data/known_accelerators.yaml",
                "metalscope/storage/migrations/env.py",
                "metalscope/storage/upstream_schema/env.py"} <= shipped

    def test_sdist_holds_the_sources_the_wheel_was_built_from(self, built: Built,
                                                               repo_root: Path) -> None:
        top = built.sdist.name.removesuffix(".tar.gz")
        with tarfile.open(built.sdist) as sdist:
            names = {name.removeprefix(f"{top}/") for name in sdist.getnames()}
        assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= names
        assert package_files(repo_root) <= names
        assert {"deploy/metalscope.service", "deploy/Containerfile"} <= names


class TestInstalledWheel:
    def test_imports_from_the_fresh_environment(self, installed: Installed,
                                                outside: Path) -> None:
        where = run([installed.python, "-c", "import metalscope; print(metalscope.__file__)"],
                    cwd=outside).stdout.strip()
        assert Path(where).is_relative_to(installed.site_packages)

    def test_config_sample(self, installed: Installed, outside: Path) -> None:
        sample = run([installed.metalscope, "config", "sample"], cwd=outside).stdout
        assert "[DEFAULT]" in sample and "[healthcheck]" in sample

    def test_db_upgrade_on_sqlite(self, installed: Installed, outside: Path) -> None:
        conf = outside / "metalscope.conf"
        conf.write_text(f"[database]\nconnection = sqlite:///{outside / 'ms.sqlite'}\n")
        out = run([installed.metalscope, "db", "upgrade", "--config-file", str(conf)],
                  cwd=outside).stdout
        assert f"Database schema is at {migrate.head_revision()}" in out
        out = run([installed.metalscope, "db", "version", "--config-file", str(conf)],
                  cwd=outside).stdout
        assert out.splitlines() == [f"MetalScope: {migrate.head_revision()} (head)",
                                    f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]

    def test_shipped_device_list_is_read(self, installed: Installed, outside: Path) -> None:
        code = ("import yaml; from metalscope.processing_hooks import accelerators as a; "
                "print(len(a.validate_known_devices(yaml.safe_load(a.read_known_devices(None)))))")
        assert int(run([installed.python, "-c", code], cwd=outside).stdout) > 0

    def test_demo_explains_where_ironic_is_missing(self, installed: Installed,
                                                   outside: Path) -> None:
        result = subprocess.run(
            [installed.metalscope, "demo"], cwd=outside, capture_output=True, text=True,
            env={**os.environ, "METALSCOPE_IRONIC_VENV": str(outside / "none")}, check=False)
        assert result.returncode == 1
        assert result.stderr.startswith(f"Error: No Ironic in {outside / 'none'}")
        assert "Traceback" not in result.stderr


# -- the deployment examples, run ----------------------------------------------------------

def service_config(path: Path, state: Path, port: int, ironic_url: str) -> Path:
    """deploy/metalscope.conf with the database in ``state``, loopback, no authentication,
    the session's Ironic and the accelerators hook (which reads the shipped device list)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(EXAMPLE_CONFIG)
    parser["DEFAULT"].update(listen_address="127.0.0.1", listen_port=str(port),
                             auth_strategy="noauth", introspection_delay="0")
    parser["database"]["connection"] = f"sqlite:///{state / 'metalscope.sqlite'}"
    parser["ironic"] = {"auth_type": "none", "endpoint_override": ironic_url}
    parser["processing"]["processing_hooks"] = "$default_processing_hooks,accelerators"
    with path.open("w") as stream:
        parser.write(stream)
    return path


def swapped(argv: list[str], installed: Installed, config: Path) -> list[str]:
    """A command line of the deploy files with the installed binary and the test's config."""
    assert BINARY in argv or "metalscope" in argv
    assert CONFIG in argv
    return [installed.metalscope if arg in (BINARY, "metalscope") else
            str(config) if arg == CONFIG else arg for arg in argv]


def image_healthcheck(installed: Installed, port: int) -> list[str]:
    """The Containerfile's HEALTHCHECK command, with the environment's python and the port."""
    check = healthcheck(instruction_arguments(read_containerfile(), "HEALTHCHECK")[-1])
    argv = list(check.argv)
    assert argv[0] == "python"
    argv[0] = installed.python
    assert IMAGE_PORT in argv[2]
    argv[2] = argv[2].replace(IMAGE_PORT, f":{port}/")
    return argv


def healthy(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                          check=False).returncode == 0


def wait_healthy(argv: list[str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not healthy(argv):
        assert process.poll() is None, f"exited with {process.returncode}:\n{tail(log)}"
        assert time.monotonic() < deadline, f"no healthy answer in time:\n{tail(log)}"
        time.sleep(0.2)


def wait_for_log(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while text not in log.read_text(errors="replace"):
        assert process.poll() is None, (f"exited with {process.returncode} before logging "
                                        f"{text!r}:\n{tail(log)}")
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{tail(log)}"
        time.sleep(0.1)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def introspect_one(url: str, ironic: LocalIronic, make_node: Any) -> str:
    """A whole unmanaged introspection of one simulated machine; its node UUID."""
    machine = make_machine(seed=19, index=1, virtual=True)
    node = make_node(macs=[machine.pxe_mac])
    with httpx.Client(base_url=url, timeout=30) as api:
        response = api.post(f"/v1/introspection/{node['uuid']}",
                            params={"manage_boot": "False"})
        assert response.status_code == 202, response.text
        response = api.post("/v1/continue", json=ramdisk_data(machine))
        assert response.json() == {"uuid": node["uuid"]}, response.text
        deadline = time.monotonic() + START_TIMEOUT
        while not (status := api.get(f"/v1/introspection/{node['uuid']}").json())["finished"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    assert status["state"] == "finished" and status["error"] is None, status
    assert ironic.get_node(node["uuid"])["properties"]["cpus"] == str(machine.cpu.count)
    return str(node["uuid"])


class TestSystemdUnitLines:
    def test_start_reload_stop(self, installed: Installed, ironic: LocalIronic, make_node: Any,
                               tmp_path: Path,
                               stopped_at_end: list[subprocess.Popen[bytes]]) -> None:
        """ExecStartPre, ExecStart, the image's health check, ExecReload and KillSignal, as
        systemd would run them (with the service's WorkingDirectory)."""
        unit = read_unit()
        state = tmp_path / "state"
        state.mkdir()
        port = free_port()
        config = service_config(tmp_path / "metalscope.conf", state, port, ironic.url)
        for line in values(unit, "Service", "ExecStartPre"):
            run(swapped(command_line(line), installed, config), cwd=state)
        log = tmp_path / "journal.log"
        with log.open("wb") as journal:
            process = subprocess.Popen(
                swapped(command_line(value(unit, "Service", "ExecStart")), installed, config),
                cwd=state, stdout=journal, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        stopped_at_end.append(process)
        check = image_healthcheck(installed, port)
        wait_healthy(check, process, log)
        uuid = introspect_one(f"http://127.0.0.1:{port}", ironic, make_node)

        reload = command_line(value(unit, "Service", "ExecReload"))
        run([str(process.pid) if arg == "$MAINPID" else arg for arg in reload])
        wait_for_log(log, "Caught SIGHUP", process)
        assert healthy(check), tail(log)
        assert process.poll() is None, tail(log)
        status = httpx.get(f"http://127.0.0.1:{port}/v1/introspection/{uuid}").json()
        assert status["state"] == "finished"

        process.send_signal(signal.Signals[value(unit, "Service", "KillSignal")])
        stop_timeout = timespan_seconds(value(unit, "Service", "TimeoutStopSec"))
        assert process.wait(timeout=stop_timeout) == 0, tail(log)
        assert "Traceback" not in log.read_text(errors="replace"), tail(log)


class TestContainerCommand:
    def test_entrypoint_upgrades_then_serves(self, installed: Installed, ironic: LocalIronic,
                                             tmp_path: Path,
                                             stopped_at_end: list[subprocess.Popen[bytes]]
                                             ) -> None:
        """The image's ENTRYPOINT and CMD on a new database, found by PATH as in the image."""
        instructions = read_containerfile()
        entrypoint = exec_form(instruction_arguments(instructions, "ENTRYPOINT")[-1])
        assert entrypoint == ["/usr/local/bin/metalscope-entrypoint"]
        cmd = exec_form(instruction_arguments(instructions, "CMD")[-1])
        state = tmp_path / "state"
        state.mkdir()
        port = free_port()
        config = service_config(tmp_path / "metalscope.conf", state, port, ironic.url)
        argv = [str(DEPLOY / "container-entrypoint.sh"),
                *[str(config) if arg == CONFIG else arg for arg in cmd]]
        env = {**os.environ, "PATH": f"{installed.bin_dir}:{os.environ['PATH']}"}
        log = tmp_path / "console.log"
        with log.open("wb") as console:
            process = subprocess.Popen(argv, cwd=state, env=env, stdout=console,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        stopped_at_end.append(process)
        wait_healthy(image_healthcheck(installed, port), process, log)
        assert f"Database schema is at {migrate.head_revision()}" in log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, tail(log)


def docker_daemon() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10,
                              check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not docker_daemon(), reason="no docker daemon to build the image with")
def test_image_builds(built: Built, tmp_path: Path) -> None:
    """Optional: the image from deploy/Containerfile, on a context laid out as in a checkout."""
    context = tmp_path / "context"
    (context / "dist").mkdir(parents=True)
    (context / "dist" / built.wheel.name).write_bytes(built.wheel.read_bytes())
    (context / "deploy").mkdir()
    for path in DEPLOY.iterdir():
        (context / "deploy" / path.name).write_bytes(path.read_bytes())
        (context / "deploy" / path.name).chmod(path.stat().st_mode)
    (context / ".dockerignore").write_text((DEPLOY.parent / ".dockerignore").read_text())
    tag = f"metalscope-test:{os.getpid()}"
    run(["docker", "build", "-q", "-t", tag, "-f", str(context / "deploy" / CONTAINERFILE.name),
         str(context)])
    try:
        sample = run(["docker", "run", "--rm", tag, "metalscope", "config", "sample"]).stdout
        assert "[DEFAULT]" in sample
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)
