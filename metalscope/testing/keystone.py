"""LocalKeystone: a real Keystone on loopback, for the keystone authentication tests.

It runs Keystone from a virtual environment of its own (``.venv-keystone``, pinned in
``constraints/keystone.txt``) under the cheroot WSGI server, with a SQLite database and fernet
keys in ``workdir``: ``keystone-manage db_sync`` and ``bootstrap`` (an ``admin`` user with the
admin role on the ``admin`` project and on the system, ``RegionOne`` public and internal
identity endpoints), then helpers create projects, users and role assignments through the
Identity API and issue tokens.

Start-up, measured with Keystone 30.0 on two cores: the server process needs about 6 s to
import Keystone; it starts first and imports while ``db_sync`` (about 3 s, skipped when the
empty schema is cached by Keystone release in ``schema_cache_dir``) and ``bootstrap`` (about
4.5 s) run beside it, so ``start()`` returns in about 7.5 s (12.5 s without the cached schema);
``stop()`` is immediate. The fernet keys are written
directly (a fernet key is 32 random bytes, base64) instead of by ``keystone-manage
fernet_setup``, which would cost another 3 s of imports. Passwords are hashed with bcrypt at
the lowest cost (``password_hash_rounds = 4``) so that issuing tokens stays fast.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from metalscope.testing.service import free_port, render_config

REGION = "RegionOne"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0

# Runs in Keystone's own virtual environment. Keystone parses sys.argv as its own command
# line, so the port is taken off it before Keystone is imported.
_SERVER = """\
import sys
port = int(sys.argv.pop(1))
from cheroot import wsgi
from keystone.wsgi.api import application
server = wsgi.Server(("127.0.0.1", port), application, numthreads=8)
try:
    server.safe_start()
finally:
    server.stop()
"""


def keystone_release(bin_dir: Path) -> str | None:
    """The Keystone release installed next to ``bin_dir``, from its dist-info folder name."""
    for info in sorted(bin_dir.parent.glob("lib*/python*/site-packages/keystone-*.dist-info")):
        return info.name.removeprefix("keystone-").removesuffix(".dist-info")
    return None


def write_fernet_keys(folder: Path, count: int = 2) -> None:
    """A key repository as ``keystone-manage fernet_setup`` leaves it: 0 staged, 1 primary."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for index in range(count):
        path = folder / str(index)
        path.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
        path.chmod(0o600)


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LocalKeystone:
    """A Keystone child process on ``127.0.0.1:<port>`` plus Identity API helpers.

    ``bin_dir`` is the ``bin`` folder of a virtual environment with Keystone and cheroot.
    """

    admin_user = "admin"
    admin_password = "admin-secret"

    def __init__(self, workdir: Path, bin_dir: Path, port: int | None = None,
                 schema_cache_dir: Path | None = None) -> None:
        self.workdir = Path(workdir)
        self.bin_dir = Path(bin_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "keystone.conf"
        self.log_file = self.workdir / "keystone.log"
        self.database = self.workdir / "keystone.sqlite"
        self.schema_cache_dir = Path(schema_cache_dir or self.workdir)
        self.process: subprocess.Popen[bytes] | None = None
        self._admin_token: str | None = None
        self._ids: dict[tuple[str, str], str] = {}

    # -- life cycle -----------------------------------------------------------------------

    def sections(self) -> dict[str, dict[str, Any]]:
        return {
            "DEFAULT": {"log_file": self.log_file, "use_stderr": False, "debug": False},
            "database": {"connection": f"sqlite:///{self.database}"},
            "fernet_tokens": {"key_repository": self.workdir / "fernet-keys"},
            "fernet_receipts": {"key_repository": self.workdir / "fernet-receipts"},
            "identity": {"password_hash_algorithm": "bcrypt", "password_hash_rounds": 4},
            "token": {"expiration": 3600},
            "cache": {"enabled": False},
        }

    def start(self) -> LocalKeystone:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.sections()))
        write_fernet_keys(self.workdir / "fernet-keys")
        write_fernet_keys(self.workdir / "fernet-receipts")
        server = self.workdir / "serve_keystone.py"
        server.write_text(_SERVER)
        env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.config_file)}
        # Started first: it spends seconds importing Keystone while the database is prepared.
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "python"), str(server), str(self.port)], stdout=log,
                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            self._prepare_database()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _manage(self, *args: str) -> None:
        result = subprocess.run([str(self.bin_dir / "keystone-manage"), "--config-file",
                                 str(self.config_file), *args], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"keystone-manage {args[0]} failed:\n{result.stderr[-3000:]}\n"
                               + _tail(self.log_file))

    def _prepare_database(self) -> None:
        cache = self.schema_cache_dir / f"keystone-{keystone_release(self.bin_dir)}-schema.sqlite"
        if cache.is_file():
            shutil.copyfile(cache, self.database)
        else:
            self._manage("db_sync")
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(self.database, partial)
            partial.replace(cache)
        self._manage("bootstrap", "--bootstrap-password", self.admin_password,
                     "--bootstrap-region-id", REGION,
                     "--bootstrap-public-url", self.url, "--bootstrap-internal-url", self.url)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Keystone exited with {self.process.returncode}:\n"
                                   + _tail(self.log_file))
            try:
                if httpx.get(f"{self.url}/v3", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("Keystone did not answer in time:\n" + _tail(self.log_file))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LocalKeystone:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- tokens ---------------------------------------------------------------------------

    def token(self, user: str, password: str, *, project: str | None = None,
              system: bool = False) -> str:
        """A token for ``user`` (domain Default): project-scoped, system-scoped or unscoped."""
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}}}
        if system:
            auth["scope"] = {"system": {"all": True}}
        elif project:
            auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        response = httpx.post(f"{self.url}/v3/auth/tokens", json={"auth": auth}, timeout=30)
        response.raise_for_status()
        return response.headers["X-Subject-Token"]

    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.token(self.admin_user, self.admin_password, system=True)
        return self._admin_token

    def revoke(self, token: str) -> None:
        self._call("DELETE", "/v3/auth/tokens", headers={"X-Subject-Token": token})

    # -- Identity API helpers (as the bootstrap admin) ------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"X-Auth-Token": self.admin_token(), **kwargs.pop("headers", {})}
        response = httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30,
                                 **kwargs)
        response.raise_for_status()
        return response.json() if response.content else {}

    def _id(self, kind: str, name: str) -> str:
        key = (kind, name)
        if key not in self._ids:
            found = self._call("GET", f"/v3/{kind}s", params={"name": name})[f"{kind}s"]
            if not found:
                raise LookupError(f"No {kind} named {name}")
            self._ids[key] = found[0]["id"]
        return self._ids[key]

    def create_project(self, name: str) -> str:
        body = {"project": {"name": name, "domain_id": "default"}}
        project_id: str = self._call("POST", "/v3/projects", json=body)["project"]["id"]
        self._ids[("project", name)] = project_id
        return project_id

    def create_service_endpoint(self, service_type: str, name: str, url: str,
                                interfaces: tuple[str, ...] = ("public", "internal")) -> str:
        """A catalog service with an endpoint per interface in the region; its id."""
        body = {"service": {"type": service_type, "name": name, "enabled": True}}
        service_id: str = self._call("POST", "/v3/services", json=body)["service"]["id"]
        for interface in interfaces:
            self._call("POST", "/v3/endpoints", json={"endpoint": {
                "service_id": service_id, "interface": interface, "url": url,
                "region_id": REGION, "enabled": True}})
        return service_id

    def create_user(self, name: str, password: str, *,
                    project_roles: dict[str, list[str]] | None = None,
                    system_roles: tuple[str, ...] = ()) -> str:
        """A user in domain Default with roles on projects (by name) and on the system."""
        body = {"user": {"name": name, "password": password, "domain_id": "default"}}
        user_id: str = self._call("POST", "/v3/users", json=body)["user"]["id"]
        self._ids[("user", name)] = user_id
        for project, roles in (project_roles or {}).items():
            for role in roles:
                self._call("PUT", f"/v3/projects/{self._id('project', project)}/users/{user_id}"
                                  f"/roles/{self._id('role', role)}")
        for role in system_roles:
            self._call("PUT", f"/v3/system/users/{user_id}/roles/{self._id('role', role)}")
        return user_id
