"""The two inspectors under test, started the same way: fresh SQLite database, noauth, noop PXE
filter, data stored in the database, the same processing hooks, Ironic behind a URL.

``MetalScopeInspector`` runs ``metalscope serve`` (through ``LocalMetalScope``);
``UpstreamInspector`` runs ironic-inspector 12.5.0 in standalone mode (API and conductor in one
process) from the Ironic virtual environment, after ``ironic-inspector-dbsync upgrade``.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any, Protocol


from metalscope.testing.service import LocalMetalScope, free_port, render_config, wait_until_answers

#: The hooks both inspectors run: upstream's ``$default_processing_hooks``, spelled out.
PROCESSING_HOOKS = ("ramdisk_error,root_disk_selection,scheduler,validate_interfaces,"
                    "capabilities,pci_devices")
START_TIMEOUT = 120.0

# The same values for both inspectors (LocalMetalScope's own default period is 5 s).
_COMMON: dict[str, dict[str, Any]] = {
    "DEFAULT": {"introspection_delay": 0, "clean_up_period": 60, "debug": False},
    "processing": {"store_data": "database", "processing_hooks": PROCESSING_HOOKS},
    "pxe_filter": {"driver": "noop"},
}


class Inspector(Protocol):
    """One inspector process, as the benchmark drives it."""

    name: str
    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def pid(self) -> int: ...


def _merged(base: dict[str, dict[str, Any]],
            extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in extra.items():
        merged.setdefault(section, {}).update(values)
    return merged


class MetalScopeInspector:
    """``metalscope serve`` from this checkout's virtual environment."""

    name = "metalscope"

    def __init__(self, workdir: Path, ironic_url: str, python: str) -> None:
        self._service = LocalMetalScope(workdir, ironic_url, options=_COMMON, python=python)
        self.url = self._service.url
        self.log_file = self._service.log_file

    def start(self) -> None:
        self._service.start(timeout=START_TIMEOUT)

    def stop(self) -> None:
        self._service.stop()

    def pid(self) -> int:
        assert self._service.process is not None
        return self._service.process.pid


class UpstreamInspector:
    """``ironic-inspector`` 12.5.0 standalone, from the Ironic virtual environment."""

    name = "upstream"

    def __init__(self, workdir: Path, ironic_url: str, bin_dir: Path) -> None:
        self.workdir = workdir.absolute()
        self.bin_dir = bin_dir.absolute()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "inspector.conf"
        self.log_file = self.workdir / "inspector.log"
        self.sections = _merged(_COMMON, self._own_sections(ironic_url))
        self.process: subprocess.Popen[bytes] | None = None

    def _own_sections(self, ironic_url: str) -> dict[str, dict[str, Any]]:
        return {
            "DEFAULT": {"host": "bench-inspector", "listen_address": "127.0.0.1",
                        "listen_port": self.port, "auth_strategy": "noauth",
                        "standalone": True, "transport_url": "fake://", "use_stderr": False,
                        "log_file": self.log_file, "can_manage_boot": True},
            "database": {"connection": f"sqlite:///{self.workdir / 'inspector.sqlite'}"},
            "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
            "processing": {"ramdisk_logs_dir": self.workdir / "ramdisk-logs"},
            "oslo_concurrency": {"lock_path": self.workdir / "lock"},
        }

    def start(self) -> None:
        (self.workdir / "lock").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.sections))
        subprocess.run([str(self.bin_dir / "ironic-inspector-dbsync"), "--config-file",
                        str(self.config_file), "upgrade"], check=True, capture_output=True)
        with (self.workdir / "console.log").open("ab") as console:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "ironic-inspector"), "--config-file", str(self.config_file)],
                stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        problem = wait_until_answers(self.url, self.process, START_TIMEOUT)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"ironic-inspector {problem}, see {self.log_file}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid
