"""LocalIronic: a real Ironic (API and conductor in one process) on loopback, in fake mode.

Used by the integration and compatibility tests, the benchmarks and ``metalscope demo``. It
writes an ``ironic.conf`` (``fake-hardware``, SQLite, ``noauth``, ``rpc_transport = none``,
periodic tasks off), creates the schema with ``ironic-dbsync``, runs the ``ironic`` command of
an Ironic virtual environment as a child process and enrolls test nodes through the REST API.

Start-up, measured with Ironic 39.0 on two cores: ``ironic-dbsync create_schema`` takes about
3.5 s, so the freshly created (still empty) database is kept as a schema file, keyed by the
Ironic release, and copied for every later start. With that file, ``start()`` returns in
3.2-4 s (about 3 s of it is Python importing Ironic); without it, about 6.5 s. ``stop()``
(SIGTERM, graceful) takes about 2.3 s. Every start begins with an empty Ironic; ``resume()``
(and ``restart()``) runs it again on the same port with the database it had, as an outage
test needs: each run's log is kept (``ironic.log.1``, ``ironic.log.2``, ...) and
``api_requests()`` reads the requests of all of them.

Facts about this Ironic that tests and MetalScope rely on (checked against Ironic 39.0, API
1.1 to 1.115):

* ``fake-hardware`` accepts arbitrary ``driver_info`` keys (``ipmi_address``,
  ``redfish_address``, anything else) and returns them unchanged, so BMC addresses can be
  recorded on fake nodes.
* New nodes start in ``enroll``; ``manage`` reaches ``manageable`` before the 202 answer is
  read, but the conductor keeps the node reserved for a few more milliseconds. The node's
  ``power_state`` stays ``null`` until the first power action.
* Power actions answer 202 in 40-70 ms and finish in the background within about 100 ms.
  ``PUT .../management/boot_device`` answers 204 in about 50 ms; the fake management
  interface accepts only ``pxe`` (anything else is a 400 "Invalid boot device <d>
  specified.") and always reports ``persistent: false``. ``[fake]power_delay`` and
  ``[fake]management_delay`` (seconds, via ``options``) simulate slow BMCs.
* A request that finds the node reserved waits inside Ironic
  (``[conductor]node_locked_retry_attempts`` = 3, 1 s apart), so a call right after a power
  action on the same node typically takes about 1 s.
* Ironic does answer **409 NodeLocked** ("Node <uuid> is locked by host local-conductor,
  please retry after the current operation is completed.") after about 2.2 s when several
  power or boot-device requests for one node arrive at once.
* The ``next`` link of a collection page keeps ``limit``, ``marker`` and the sort keys but
  drops filters such as ``node=`` (``GET /v1/ports/detail?node=…``): a client must carry its
  own query over to the following pages.
* Error bodies are ``{"error_message": "<JSON string>"}`` whose inner JSON carries
  ``faultstring``; microversion errors (406) carry ``description`` instead.

The same class runs Ironic 32.1 (API up to 1.101, start-up about as fast), the last release
with the ``inspector`` inspect interface: ``metalscope/testing/inspector_interface.py`` gives
the ``options`` that make it drive a MetalScope. The schema cache file names the release, so
both releases can share one cache folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from metalscope.testing.service import free_port, render_config

HARDWARE_TYPE = "fake-hardware"
CONDUCTOR_HOST = "local-conductor"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
SETTLE_TIMEOUT = 30.0
POLL_INTERVAL = 0.05

# The launcher outlives a crashed worker and forks new ones forever; only its log tells.
_WORKER_DIED = re.compile(r"cotyledon\S* \[-\] Child \d+ (exited|killed)")
# One API request in the log:
# "... INFO ironic.api [...] 127.0.0.1 - PATCH /v1/nodes/x - 200 (49.6ms)"
_API_REQUEST = re.compile(r" ironic\.api \[[^\]]*\] \S+ - (?P<method>[A-Z]+) (?P<path>\S+) - "
                          r"(?P<status>\d{3}) ")

# Provision actions leading from ``enroll`` to each state enroll_node can reach.
_PROVISION_PATHS: dict[str, tuple[tuple[str, str], ...]] = {
    "enroll": (),
    "manageable": (("manage", "manageable"),),
    "available": (("manage", "manageable"), ("provide", "available")),
    "active": (("manage", "manageable"), ("provide", "available"), ("active", "active")),
}

# Conductor periodic tasks switched off: they only add noise and load in a test Ironic.
_QUIET_CONDUCTOR = {
    "automated_clean": False,
    "sync_power_state_interval": 0,
    "power_failure_recovery_interval": 0,
    "check_provision_state_interval": 0,
    "sync_local_state_interval": 0,
    "check_allocations_interval": 0,
    "cache_clean_up_interval": 0,
    "node_history_cleanup_interval": 0,
    "conductor_cleanup_interval": 0,
}

_FAKE_INTERFACES = {
    "enabled_hardware_types": HARDWARE_TYPE,
    "enabled_bios_interfaces": "fake,no-bios",
    "enabled_boot_interfaces": "fake",
    "enabled_console_interfaces": "fake,no-console",
    "enabled_deploy_interfaces": "fake",
    "enabled_firmware_interfaces": "fake,no-firmware",
    "enabled_inspect_interfaces": "fake,no-inspect",
    "enabled_management_interfaces": "fake",
    "enabled_network_interfaces": "noop",
    "enabled_power_interfaces": "fake",
    "enabled_raid_interfaces": "fake,no-raid",
    "enabled_rescue_interfaces": "fake,no-rescue",
    "enabled_storage_interfaces": "fake,noop",
    "enabled_vendor_interfaces": "fake,no-vendor",
    "default_network_interface": "noop",
}


def ironic_sections(workdir: Path, port: int) -> dict[str, dict[str, Any]]:
    """The ``ironic.conf`` of a standalone fake-mode Ironic keeping its files in ``workdir``."""
    return {
        "DEFAULT": {"host": CONDUCTOR_HOST, "auth_strategy": "noauth", "rpc_transport": "none",
                    "use_stderr": False, "log_file": workdir / "ironic.log", "debug": False,
                    **_FAKE_INTERFACES},
        "api": {"host_ip": "127.0.0.1", "port": port, "api_workers": 1},
        "database": {"connection": f"sqlite:///{workdir / 'ironic.db'}"},
        "dhcp": {"dhcp_provider": "none"},
        "conductor": dict(_QUIET_CONDUCTOR),
        "oslo_concurrency": {"lock_path": workdir / "lock"},
    }


def ironic_release(bin_dir: Path) -> str | None:
    """The Ironic release installed next to ``bin_dir``, from its dist-info folder name
    (``ironic-32.1.0.dist-info``; other projects' folders never match: their names differ
    after ``ironic``, e.g. ``ironic_inspector-…``). The schema cache is keyed by it, so
    virtual environments with different releases never share a schema file."""
    for info in sorted(bin_dir.parent.glob("lib*/python*/site-packages/ironic-*.dist-info")):
        release = info.name.removeprefix("ironic-").removesuffix(".dist-info")
        if release[:1].isdigit():
            return release
    return None


@dataclass(frozen=True)
class ApiRequest:
    """One request Ironic's API answered, as its log records it."""

    method: str
    path: str
    status: int


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LocalIronic:
    """An Ironic child process on ``127.0.0.1:<port>`` plus helpers to enroll test nodes.

    ``bin_dir`` is the ``bin`` folder of a virtual environment with Ironic installed.
    ``schema_cache_dir`` keeps the empty schema between starts (default: ``workdir``);
    ``options`` are merged over the generated configuration, section by section.
    """

    def __init__(self, workdir: Path, bin_dir: Path, port: int | None = None,
                 schema_cache_dir: Path | None = None,
                 options: dict[str, dict[str, Any]] | None = None) -> None:
        self.workdir = Path(workdir).absolute()
        self.bin_dir = Path(bin_dir).absolute()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.schema_cache_dir = Path(schema_cache_dir or self.workdir).absolute()
        self.config_file = self.workdir / "ironic.conf"
        self.database_file = self.workdir / "ironic.db"
        self.log_file = self.workdir / "ironic.log"
        self.console_file = self.workdir / "ironic-console.log"
        self.sections = ironic_sections(self.workdir, self.port)
        for section, values in (options or {}).items():
            self.sections.setdefault(section, {}).update(values)
        #: Highest API microversion of the running Ironic, used by the helpers.
        self.api_version: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> LocalIronic:
        """Write the configuration, prepare an empty database, launch Ironic, wait for its API."""
        (self.workdir / "lock").mkdir(parents=True, exist_ok=True)
        for log in (self.log_file, self.console_file, *self._earlier_logs()):
            log.unlink(missing_ok=True)  # start-up failures are detected in the log
        self.config_file.write_text(render_config(self.sections))
        self._prepare_database()
        return self._launch(timeout)

    def resume(self, timeout: float = START_TIMEOUT) -> LocalIronic:
        """Run Ironic again after ``stop()``, on the same port, with its database as it was
        (nodes, ports, states). The log of the run before is kept as ``ironic.log.<n>``."""
        if self.process is not None:
            raise RuntimeError("LocalIronic is running; stop() it first")
        if not self.database_file.exists():
            raise RuntimeError("LocalIronic has no database to resume; call start()")
        if self.log_file.exists():
            self.log_file.rename(self.log_file.with_name(
                f"{self.log_file.name}.{len(self._earlier_logs()) + 1}"))
        return self._launch(timeout)

    def restart(self, downtime: float = 0.0, timeout: float = START_TIMEOUT) -> LocalIronic:
        """``stop()``, ``downtime`` seconds without Ironic, then ``resume()``."""
        self.stop()
        time.sleep(downtime)
        return self.resume(timeout)

    def _earlier_logs(self) -> list[Path]:
        logs = self.log_file.parent.glob(f"{self.log_file.name}.*")
        return sorted((p for p in logs if p.suffix[1:].isdigit()), key=lambda p: int(p.suffix[1:]))

    def api_requests(self) -> list[ApiRequest]:
        """Every request Ironic's API answered since ``start()``, over all its runs."""
        requests = []
        for log in (*self._earlier_logs(), self.log_file):
            if log.exists():
                requests += [ApiRequest(m["method"], m["path"], int(m["status"]))
                             for m in _API_REQUEST.finditer(log.read_text(errors="replace"))]
        return requests

    def _launch(self, timeout: float) -> LocalIronic:
        with self.console_file.open("ab") as console:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "ironic"), "--config-file", str(self.config_file)],
                stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM the Ironic process group, SIGKILL whatever is left after a grace period."""
        if self._http is not None:
            self._http.close()
            self._http = None
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT)
        # The API/conductor worker is a child of the launcher: make sure it is gone too.
        self._signal_group(process, signal.SIGKILL)
        process.wait()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # the group start() created for this process

    def __enter__(self) -> LocalIronic:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Ironic's log file and of its console output."""
        return (f"--- {self.log_file} ---\n{_tail(self.log_file, lines)}\n"
                f"--- {self.console_file} ---\n{_tail(self.console_file, lines)}")

    def _prepare_database(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.database_file}{suffix}").unlink(missing_ok=True)
        cache = self._schema_cache_file()
        if cache is not None and cache.exists():
            shutil.copyfile(cache, self.database_file)
            return
        self._run_dbsync()
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            shutil.copyfile(self.database_file, partial)
            os.replace(partial, cache)  # atomic: concurrent sessions never see half a file

    def _schema_cache_file(self) -> Path | None:
        release = ironic_release(self.bin_dir)
        if release is None:
            return None
        return self.schema_cache_dir / f"ironic-schema-{release}.sqlite"

    def _run_dbsync(self) -> None:
        result = subprocess.run(
            [str(self.bin_dir / "ironic-dbsync"), "--config-file", str(self.config_file),
             "create_schema"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"ironic-dbsync create_schema failed ({result.returncode}):\n"
                               f"{output}\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2) as probe:
            while not self._answers(probe):
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"Ironic exited with status {self.process.returncode} "
                                       f"during start-up:\n{self.log_tail()}")
                if self._worker_died():
                    raise RuntimeError(f"Ironic's worker process died during start-up:\n"
                                       f"{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Ironic did not answer GET /v1 within {timeout:.0f} s:\n"
                                       f"{self.log_tail()}")
                time.sleep(0.1)
            self.api_version = probe.get("/").json()["default_version"]["version"]
        self._http = httpx.Client(base_url=self.url, timeout=30, headers={
            "X-OpenStack-Ironic-API-Version": self.api_version})

    def _worker_died(self) -> bool:
        return self.log_file.exists() and _WORKER_DIED.search(
            self.log_file.read_text(errors="replace")) is not None

    @staticmethod
    def _answers(probe: httpx.Client) -> bool:
        try:
            return probe.get("/v1").status_code == 200
        except httpx.TransportError:
            return False

    # -- REST helpers -------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._http is None:
            raise RuntimeError("LocalIronic is not running; call start() first")
        return self._http.request(method, path, **kwargs)

    def _checked(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        if response.is_error:
            raise RuntimeError(f"{method} {path} failed with {response.status_code}: "
                               f"{response.text}")
        return response.json() if response.content else None

    def enroll_node(self, name: str | None, driver_info: dict[str, Any], macs: list[str],
                    properties: dict[str, Any] | None = None,
                    provision_state: str = "manageable", driver: str = HARDWARE_TYPE,
                    **fields: Any) -> dict[str, Any]:
        """Create a node (``fake-hardware`` unless ``driver`` says otherwise) with one port per
        MAC and move it to ``provision_state``.

        ``provision_state`` is one of ``enroll``, ``manageable``, ``available`` or ``active``;
        extra keyword arguments are node fields (``uuid``, ``resource_class``, …). Returns the
        node as Ironic shows it once the state has settled.
        """
        if provision_state not in _PROVISION_PATHS:
            raise ValueError(f"Cannot enroll a node into {provision_state!r}, "
                             f"choose one of {sorted(_PROVISION_PATHS)}")
        body = {"driver": driver, "driver_info": driver_info,
                "properties": properties or {}, **fields}
        if name is not None:
            body["name"] = name
        node = self._checked("POST", "/v1/nodes", json=body)
        for mac in macs:
            self._checked("POST", "/v1/ports", json={"node_uuid": node["uuid"], "address": mac})
        for action, target in _PROVISION_PATHS[provision_state]:
            self.set_provision_state(node["uuid"], action, target)
        return self.get_node(node["uuid"])

    def set_provision_state(self, node_id: str, action: str, expected: str,
                            timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        """Request a provision action and wait until the node rests in ``expected``."""
        self.request_provision_action(node_id, action)
        return self.wait_for_rest(node_id, expected, timeout)

    def request_provision_action(self, node_id: str, action: str) -> None:
        """``PUT /v1/nodes/<node>/states/provision`` (``inspect``, ``abort``, ...); returns
        when Ironic answers, without waiting for the node to settle."""
        self._checked("PUT", f"/v1/nodes/{node_id}/states/provision", json={"target": action})

    def wait_for_rest(self, node_id: str, expected: str,
                      timeout: float = SETTLE_TIMEOUT) -> dict[str, Any]:
        """Wait until the node has no target state and no reservation; it must be ``expected``."""
        deadline = time.monotonic() + timeout
        fields = "provision_state,target_provision_state,reservation,last_error"
        while True:
            node: dict[str, Any] = self._checked("GET", f"/v1/nodes/{node_id}",
                                                 params={"fields": fields})
            if node["target_provision_state"] is None and node["reservation"] is None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"Node {node_id} did not settle in {expected} within "
                                   f"{timeout:.0f} s (now {node['provision_state']})")
            time.sleep(POLL_INTERVAL)
        if node["provision_state"] != expected:
            raise RuntimeError(f"Node {node_id} rests in {node['provision_state']}, not "
                               f"{expected}: {node['last_error']}")
        return node

    def get_node(self, node_id: str) -> dict[str, Any]:
        """The node with every field."""
        node: dict[str, Any] = self._checked("GET", f"/v1/nodes/{node_id}")
        return node

    def list_ports(self, node_id: str) -> list[dict[str, Any]]:
        """Every port of the node, with every field."""
        ports: list[dict[str, Any]] = self._checked(
            "GET", "/v1/ports/detail", params={"node": node_id})["ports"]
        return ports

    def delete_node(self, node_id: str, timeout: float = SETTLE_TIMEOUT) -> None:
        """Delete the node (and its ports); a missing node is fine, a busy one is waited for."""
        deadline = time.monotonic() + timeout
        while True:
            response = self._call("DELETE", f"/v1/nodes/{node_id}")
            if response.status_code in (204, 404):
                return
            if response.status_code in (400, 409) and "maintenance mode" in response.text:
                # Nodes in states such as ``active`` can only be deleted in maintenance (409).
                self._checked("PUT", f"/v1/nodes/{node_id}/maintenance", json={})
                continue
            if response.status_code != 409 or time.monotonic() > deadline:
                raise RuntimeError(f"Cannot delete node {node_id}: {response.status_code} "
                                   f"{response.text}")
            time.sleep(0.2)
