"""The inspectors of the idle-cost benchmark: one configuration file, two programs.

Both ``ironic-inspector`` 12.5.0 (standalone: API and conductor in one process) and
``metalscope serve`` read the very same file: noauth, their own SQLite database, Ironic behind
``endpoint_override``, data stored in the database, every period at its default
(``[pxe_filter]sync_period`` 15 s, ``[DEFAULT]clean_up_period`` 60 s, ``timeout`` 3600 s), and
the PXE filter either ``dnsmasq`` in hosts-directory mode with no dnsmasq process (empty
start/stop commands) or ``noop``. Only the folder the file points into differs between runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from metalscope.testing.service import free_port, render_config

START_TIMEOUT = 900.0
STOP_TIMEOUT = 60.0
PROGRAMS = ("upstream", "metalscope")
PXE_FILTERS = ("dnsmasq", "noop")


@dataclass(frozen=True)
class ServiceSpec:
    """``upstream``, ``metalscope``, ``upstream-noop`` or ``metalscope-noop``."""

    name: str

    @property
    def program(self) -> str:
        return self.name.split("-")[0]

    @property
    def pxe_filter(self) -> str:
        return "noop" if self.name.endswith("-noop") else "dnsmasq"

    def __post_init__(self) -> None:
        if self.program not in PROGRAMS or self.name not in (
                self.program, f"{self.program}-noop"):
            raise ValueError(f"unknown service {self.name!r}")


def config_sections(workdir: Path, port: int, ironic_url: str,
                    pxe_filter: str) -> dict[str, dict[str, Any]]:
    """The configuration both programs read (defaults left out are the defaults)."""
    return {
        "DEFAULT": {"host": "idle-inspector", "listen_address": "127.0.0.1",
                    "listen_port": port, "auth_strategy": "noauth", "standalone": True,
                    "transport_url": "fake://", "use_stderr": False,
                    "log_file": workdir / "service.log", "debug": False},
        "database": {"connection": f"sqlite:///{workdir / 'inspector.sqlite'}"},
        "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
        "pxe_filter": {"driver": pxe_filter},
        "dnsmasq_pxe_filter": {"dhcp_hostsdir": workdir / "dhcp-hostsdir",
                               "dnsmasq_start_command": "", "dnsmasq_stop_command": ""},
        "processing": {"store_data": "database", "ramdisk_logs_dir": workdir / "ramdisk-logs"},
        "oslo_concurrency": {"lock_path": workdir / "lock"},
    }


class IdleService:
    """One inspector process on a copy of a prepared database."""

    def __init__(self, spec: ServiceSpec, workdir: Path, ironic_url: str, ironic_bin: Path,
                 python: Path, repo: Path) -> None:
        self.spec = spec
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = workdir / "inspector.conf"
        self.database = workdir / "inspector.sqlite"
        self.sections = config_sections(workdir, self.port, ironic_url, spec.pxe_filter)
        self._ironic_bin = ironic_bin
        self._python = python
        self._repo = repo
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.spec.program == "upstream":
            return [str(self._ironic_bin / "ironic-inspector"), "--config-file",
                    str(self.config_file)]
        return [str(self._python), "-m", "metalscope.cli", "serve", "--config-file",
                str(self.config_file)]

    def write_config(self) -> str:
        for folder in ("dhcp-hostsdir", "ramdisk-logs", "lock"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        text = render_config(self.sections)
        self.config_file.write_text(text)
        return text

    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Start the process; the seconds until its API answered."""
        self.write_config()
        began = time.monotonic()
        with (self.workdir / "console.log").open("ab") as console:
            self.process = subprocess.Popen(
                self.command(), stdout=console, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self._repo,
                env={**os.environ, "PYTHONPATH": str(self._repo)})
        deadline = began + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return time.monotonic() - began
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.spec.name} did not answer within {timeout:.0f} s:\n"
                                   + self.log_tail())
            time.sleep(0.5)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for path in (self.workdir / "service.log", self.workdir / "console.log"):
            if path.exists():
                texts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(texts)

    def errors_logged(self) -> int:
        """ERROR and CRITICAL lines in the service's log (a failing periodic task shows)."""
        path = self.workdir / "service.log"
        if not path.exists():
            return 0
        return sum(1 for line in path.read_text(errors="replace").splitlines()
                   if " ERROR " in line or " CRITICAL " in line)
