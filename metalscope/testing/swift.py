"""LocalSwift: a real Swift on loopback, for the tests of ``[processing]store_data = swift``.

It runs Swift from a virtual environment of its own (``.venv-swift``, pinned in
``constraints/swift.txt``): one account, one container and one object server on one device
folder in ``workdir`` (the filesystem must take user xattrs, as ext4 and tmpfs do), rings of
one replica built in one go by Swift's own ``RingBuilder``, and a proxy without
authentication, whose accounts are created on first use (``AUTH_<anything>``). Every server
listens on a free loopback port with ``workers = 0`` (a forked worker would die at start).

:meth:`LocalSwift.keystone_proxy` adds a second proxy on the same servers that authenticates
through a real Keystone as a deployment does (keystonemiddleware's ``authtoken`` and Swift's
``keystoneauth``, the ``object-store`` service in the catalog), for clients configured with
keystoneauth's password options.

Start-up takes about two seconds (the four servers import Swift side by side); ``stop()`` is
immediate.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from metalscope.testing.service import free_port, render_config, stop_process_group

if TYPE_CHECKING:
    from metalscope.testing.keystone import LocalKeystone

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
DEVICE = "sdb1"
SERVERS = ("account", "container", "object")
#: Partition power of the rings: small, since there is one device.
PART_POWER = 6

# Runs in Swift's own virtual environment: builds the three rings of one device each.
_RINGS = """\
import sys
from swift.common.ring import RingBuilder
folder, part_power, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for spec in sys.argv[4:]:
    kind, port = spec.split(":")
    builder = RingBuilder(part_power, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
                     "device": device, "weight": 1})
    builder.rebalance()
    builder.save(f"{folder}/{kind}.builder")
    builder.get_ring().save(f"{folder}/{kind}.ring.gz")
"""


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def check_user_xattrs(folder: Path) -> None:
    """Refuse a folder whose filesystem does not take user extended attributes (Swift's
    object server keeps each object's metadata in them)."""
    probe = folder / ".xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.metalscope", b"1")
    except OSError as exc:
        raise RuntimeError(f"The filesystem of {folder} does not take user extended "
                           f"attributes, which Swift needs: {exc}") from exc
    finally:
        probe.unlink()


@dataclass(frozen=True)
class KeystoneSwift:
    """A proxy authenticating through Keystone, and the credentials of a user of it."""

    url: str
    auth_url: str
    project: str
    project_id: str
    username: str
    password: str

    @property
    def account_url(self) -> str:
        return f"{self.url}/v1/AUTH_{self.project_id}"

    def options(self) -> dict[str, Any]:
        """A ``[swift]`` section reaching it as a deployment would: keystoneauth's password
        plugin, the endpoint found in the service catalog."""
        return {"auth_type": "password", "auth_url": self.auth_url,
                "username": self.username, "password": self.password,
                "project_name": self.project, "user_domain_id": "default",
                "project_domain_id": "default"}


class _Server:
    """One Swift server process (``swift-<kind>-server CONF``)."""

    def __init__(self, name: str, command: list[str], port: int, log: Path) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def problem(self) -> str | None:
        """Why it is not serving yet (None once it accepts connections)."""
        if self.process is None:
            return "not started"
        if self.process.poll() is not None:
            return f"exited with {self.process.returncode}:\n{_tail(self.log)}"
        return None if _listening(self.port) else "not listening yet"

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process_group(process, STOP_TIMEOUT)


class LocalSwift:
    """Swift's servers on loopback; ``url`` is the proxy without authentication.

    ``bin_dir`` is the ``bin`` folder of a virtual environment with Swift (and
    keystonemiddleware, for :meth:`keystone_proxy`).
    """

    def __init__(self, workdir: Path, bin_dir: Path) -> None:
        self.workdir = Path(workdir).absolute()
        self.bin_dir = Path(bin_dir).absolute()
        self.ports = {kind: free_port() for kind in (*SERVERS, "proxy")}
        self.url = f"http://127.0.0.1:{self.ports['proxy']}"
        self._servers: dict[str, _Server] = {}
        self._keystone_swift: KeystoneSwift | None = None

    # -- configuration --------------------------------------------------------------------

    def _common(self, port: int, name: str) -> dict[str, Any]:
        return {"bind_ip": "127.0.0.1", "bind_port": port, "workers": 0,
                "swift_dir": self.workdir, "devices": self.workdir / "devices",
                "mount_check": False, "log_name": name, "log_level": "WARNING"}

    def _backend_config(self, kind: str) -> str:
        return render_config({
            "DEFAULT": self._common(self.ports[kind], kind),
            "pipeline:main": {"pipeline": f"{kind}-server"},
            f"app:{kind}-server": {"use": f"egg:swift#{kind}"},
        })

    def _proxy_config(self, port: int, name: str, auth: list[str],
                      filters: dict[str, dict[str, Any]]) -> str:
        pipeline = ["catch_errors", "proxy-logging", *auth, "proxy-server"]
        sections = {
            "DEFAULT": self._common(port, name),
            "pipeline:main": {"pipeline": " ".join(pipeline)},
            "app:proxy-server": {"use": "egg:swift#proxy", "account_autocreate": True},
            "filter:catch_errors": {"use": "egg:swift#catch_errors"},
            "filter:proxy-logging": {"use": "egg:swift#proxy_logging"},
        }
        sections.update({f"filter:{key}": value for key, value in filters.items()})
        return render_config(sections)

    def _write_common_files(self) -> None:
        device = self.workdir / "devices" / DEVICE
        device.mkdir(parents=True, exist_ok=True)
        check_user_xattrs(device)
        (self.workdir / "swift.conf").write_text(render_config({
            "swift-hash": {"swift_hash_path_prefix": "metalscope",
                           "swift_hash_path_suffix": "tests"},
            "storage-policy:0": {"name": "Policy-0", "default": "yes"},
        }))
        script = self.workdir / "build_rings.py"
        script.write_text(_RINGS)
        result = subprocess.run(
            [str(self.bin_dir / "python"), str(script), str(self.workdir), str(PART_POWER),
             DEVICE, *(f"{kind}:{self.ports[kind]}" for kind in SERVERS)],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"Building Swift's rings failed:\n{result.stderr[-3000:]}")

    # -- life cycle -----------------------------------------------------------------------

    def _server(self, name: str, kind: str, port: int, config: str) -> _Server:
        path = self.workdir / f"{name}.conf"
        path.write_text(config)
        server = _Server(name, [str(self.bin_dir / f"swift-{kind}-server"), str(path)], port,
                         self.workdir / f"{name}.log")
        self._servers[name] = server
        return server

    def start(self) -> LocalSwift:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._write_common_files()
            for kind in SERVERS:
                self._server(kind, kind, self.ports[kind], self._backend_config(kind)).start()
            self._server("proxy", "proxy", self.ports["proxy"],
                         self._proxy_config(self.ports["proxy"], "proxy", [], {})).start()
            self._wait_ready(list(self._servers.values()))
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, servers: list[_Server]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            problems = {s.name: s.problem() for s in servers}
            exited = {name: p for name, p in problems.items() if p and p.startswith("exited")}
            if exited:
                raise RuntimeError("Swift's servers did not start: " + "; ".join(
                    f"{name} {problem}" for name, problem in exited.items()))
            if not any(problems.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Swift's servers did not start in time: {problems}")
            time.sleep(0.05)

    def stop(self) -> None:
        for server in reversed(list(self._servers.values())):
            server.stop()

    def __enter__(self) -> LocalSwift:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @contextmanager
    def proxy_stopped(self) -> Iterator[None]:
        """The proxy without authentication is down inside the block (its port refuses
        connections), and serves again after it."""
        proxy = self._servers["proxy"]
        proxy.stop()
        try:
            yield
        finally:
            proxy.start()
            self._wait_ready([proxy])

    # -- without authentication -----------------------------------------------------------

    def account_url(self, account: str = "metalscope") -> str:
        """The URL of an account of the proxy without authentication."""
        return f"{self.url}/v1/AUTH_{account}"

    def options(self, account: str = "metalscope") -> dict[str, Any]:
        """A ``[swift]`` section reaching ``account`` through the proxy without
        authentication."""
        return {"auth_type": "none", "endpoint_override": self.account_url(account)}

    def get_object(self, account: str, container: str, name: str) -> httpx.Response:
        """An object as Swift serves it (any status), read without authentication."""
        return httpx.get(f"{self.account_url(account)}/{container}/{name}", timeout=30)

    def list_container(self, account: str, container: str) -> list[str]:
        """The object names of a container (empty when it does not exist)."""
        response = httpx.get(f"{self.account_url(account)}/{container}", timeout=30)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.text.split()

    # -- through Keystone -----------------------------------------------------------------

    def keystone_proxy(self, keystone: LocalKeystone, project: str = "swift-data",
                       username: str = "swift-data-user",
                       password: str = "swift-data-secret") -> KeystoneSwift:
        """Start a second proxy that authenticates through ``keystone`` (keystonemiddleware
        ``authtoken`` with a ``swift`` service user of project ``swift-service``, Swift's
        ``keystoneauth``), register it in the catalog as ``object-store`` and create a member
        user of ``project``. Done once; later calls return the same proxy."""
        if self._keystone_swift is not None:
            return self._keystone_swift
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        keystone.create_project("swift-service")
        keystone.create_user("swift", "swift-service-secret",
                             project_roles={"swift-service": ["service", "admin"]})
        keystone.create_service_endpoint("object-store", "swift",
                                         f"{url}/v1/AUTH_$(project_id)s")
        project_id = keystone.create_project(project)
        keystone.create_user(username, password, project_roles={project: ["member"]})
        filters: dict[str, dict[str, Any]] = {
            "authtoken": {
                "paste.filter_factory": "keystonemiddleware.auth_token:filter_factory",
                "www_authenticate_uri": keystone.url, "auth_url": keystone.url,
                "auth_type": "password", "username": "swift",
                "password": "swift-service-secret", "project_name": "swift-service",
                "user_domain_id": "default", "project_domain_id": "default",
                "delay_auth_decision": True, "interface": "public"},
            "keystoneauth": {"use": "egg:swift#keystoneauth",
                             "operator_roles": "admin, member"},
        }
        config = self._proxy_config(port, "proxy-keystone", ["authtoken", "keystoneauth"],
                                    filters)
        server = self._server("proxy-keystone", "proxy", port, config)
        server.start()
        self._wait_ready([server])
        self._keystone_swift = KeystoneSwift(url, keystone.url, project, project_id, username,
                                             password)
        return self._keystone_swift
