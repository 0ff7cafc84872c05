"""Upstream ironic-inspector 12.5.0 as a process, for tests that compare its answers with
MetalScope's: standalone (API and conductor in one process), noauth, SQLite, PXE filter
``noop``, from the Ironic virtual environment (``METALSCOPE_IRONIC_VENV``, default
``.venv-ironic``), on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from metalscope.testing.service import free_port, render_config, wait_until_answers

START_TIMEOUT = 120.0


class LocalUpstreamInspector:
    """``ironic-inspector --config-file …`` after ``ironic-inspector-dbsync upgrade``."""

    def __init__(self, workdir: Path, ironic_url: str, bin_dir: Path) -> None:
        self.workdir = workdir.absolute()
        self.bin_dir = bin_dir.absolute()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "inspector.conf"
        self.log_file = self.workdir / "inspector.log"
        self.sections = self._sections(ironic_url)
        self.process: subprocess.Popen[bytes] | None = None

    def _sections(self, ironic_url: str) -> dict[str, dict[str, Any]]:
        return {
            "DEFAULT": {"host": "upstream-inspector", "listen_address": "127.0.0.1",
                        "listen_port": self.port, "auth_strategy": "noauth",
                        "standalone": True, "transport_url": "fake://", "use_stderr": False,
                        "log_file": self.log_file, "introspection_delay": 0},
            "database": {"connection": f"sqlite:///{self.workdir / 'inspector.sqlite'}"},
            "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
            "pxe_filter": {"driver": "noop"},
            "processing": {"ramdisk_logs_dir": self.workdir / "ramdisk-logs"},
            "oslo_concurrency": {"lock_path": self.workdir / "lock"},
        }

    def start(self) -> LocalUpstreamInspector:
        (self.workdir / "lock").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.sections))
        subprocess.run([str(self.bin_dir / "ironic-inspector-dbsync"), "--config-file",
                        str(self.config_file), "upgrade"], check=True, capture_output=True)
        with (self.workdir / "console.log").open("ab") as console:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "ironic-inspector"), "--config-file", str(self.config_file)],
                stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        problem = wait_until_answers(self.url, self.process, START_TIMEOUT)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"ironic-inspector {problem}, see {self.log_file}")
        return self

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

    def __enter__(self) -> LocalUpstreamInspector:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
