"""EmulatedBmcs: one sushy-emulator (fake driver) serving many Redfish systems on loopback,
with HTTP basic authentication, for the out-of-band end-to-end tests and the benchmark.

Each :class:`EmulatedSystem` is a fake system (UUID, name, power state, NICs) with, when it
has drives, one storage controller holding them (``SUSHY_EMULATOR_STORAGE`` and
``SUSHY_EMULATOR_DRIVES``). The fake driver serves no processors, memory or BIOS. The systems'
state is kept in a folder of this instance (``SUSHY_EMULATOR_STATE_DIR``; the emulator's
default is a folder of /tmp shared by every emulator on the machine); :meth:`reconfigure`
restarts the emulator on the same port with other systems, as a change of hardware between two
inspections. The password file is an htpasswd with a bcrypt hash (cost 4: fast to check).
"""

from __future__ import annotations

import contextlib
import os
import pprint
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import bcrypt
import httpx

from metalscope.testing.service import free_port

START_TIMEOUT = 30.0
USERNAME = "admin"
PASSWORD = "redfish-secret"


@dataclass(frozen=True)
class EmulatedDrive:
    drive_id: str
    capacity_bytes: int
    protocol: str = "SATA"


@dataclass(frozen=True)
class EmulatedSystem:
    uuid: str
    name: str
    macs: tuple[str, ...]
    drives: tuple[EmulatedDrive, ...] = ()
    power_state: str = "Off"

    @property
    def path(self) -> str:
        return f"/redfish/v1/Systems/{self.uuid}"


@dataclass
class EmulatedBmcs:
    """The emulator child process; ``address`` and ``USERNAME``/``PASSWORD`` reach it."""

    workdir: Path
    systems: list[EmulatedSystem]
    emulator: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        storage = {s.uuid: [{"Id": "1", "Name": "Local Storage Controller",
                             "StorageControllers": [{"MemberId": "0", "Name": "Integrated RAID",
                                                     "SpeedGbps": 12}],
                             "Drives": [d.drive_id for d in s.drives]}]
                   for s in self.systems if s.drives}
        drives = {(s.uuid, "1"): [{"Id": d.drive_id, "Name": f"Drive {d.drive_id}",
                                   "CapacityBytes": d.capacity_bytes, "Protocol": d.protocol}
                                  for d in s.drives]
                  for s in self.systems if s.drives}
        systems = [{"uuid": s.uuid, "name": s.name, "power_state": s.power_state,
                    "nics": [{"mac": mac} for mac in s.macs]} for s in self.systems]
        values = {
            "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
            "SUSHY_EMULATOR_LISTEN_PORT": self.port,
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_STATE_DIR": str(self.workdir / "state"),
            "SUSHY_EMULATOR_AUTH_FILE": str(self.workdir / "htpasswd"),
            "SUSHY_EMULATOR_FAKE_SYSTEMS": systems,
            "SUSHY_EMULATOR_STORAGE": storage,
            "SUSHY_EMULATOR_DRIVES": drives,
        }
        return "".join(f"{key} = {pprint.pformat(value)}\n" for key, value in values.items())

    def start(self) -> EmulatedBmcs:
        self.workdir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.workdir / "state", ignore_errors=True)
        digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (self.workdir / "htpasswd").write_text(f"{USERNAME}:{digest}\n")
        config = self.workdir / "emulator.conf"
        config.write_text(self.config())
        with (self.workdir / "emulator.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.emulator), "--config", str(config)], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._wait_ready()
        return self

    def reconfigure(self, systems: list[EmulatedSystem]) -> None:
        """Serve ``systems`` instead (same port, credentials and UUIDs as given)."""
        self.stop()
        self.systems = systems
        self.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=2, auth=(USERNAME, PASSWORD)) as probe:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(f"{self.address}/redfish/v1/Systems").status_code == 200:
                        return
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"sushy-emulator exited: {self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sushy-emulator did not answer: {self.log_tail()}")
                time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        log = self.workdir / "emulator.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> EmulatedBmcs:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
