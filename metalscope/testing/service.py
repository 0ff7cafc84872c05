"""LocalMetalScope: a MetalScope process on loopback, for the demo, tests and benchmarks.

It writes an ironic-inspector style configuration file, creates the schema with
``metalscope db upgrade`` and runs ``metalscope serve`` as a child process — the same
commands an operator runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process_group(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM to a child started with ``start_new_session``, SIGKILL after ``timeout``."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_answers(url: str, process: subprocess.Popen[bytes] | None, timeout: float,
                       verify: Any = True) -> str | None:
    """Wait until ``GET url/`` answers 200: None then, else what went wrong (the process
    exited, or no answer within ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return f"exited with {process.returncode}"
        try:
            if httpx.get(url + "/", verify=verify, timeout=1).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return "did not answer in time"


def render_config(sections: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in options.items()]
        lines.append("")
    return "\n".join(lines)


class LocalMetalScope:
    """Runs ``metalscope serve`` with a generated configuration file."""

    def __init__(self, workdir: Path, ironic_url: str, port: int | None = None,
                 options: dict[str, dict[str, Any]] | None = None,
                 python: str = sys.executable) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.python = python
        self.config_file = self.workdir / "metalscope.conf"
        #: Standard output and error of ``serve``.
        self.console_file = self.workdir / "metalscope.log"
        self.sections = self._sections(ironic_url, options or {})
        #: Where the service's log lines go: the file ``[DEFAULT]log_file``/``log_dir`` name,
        #: else the console file (no log file: oslo.log's default, standard output).
        self.log_file = self._configured_log_file() or self.console_file
        self.process: subprocess.Popen[bytes] | None = None
        #: httpx ``verify`` for the readiness probe (a CA file or context when serving TLS).
        self.verify: Any = True

    def _sections(self, ironic_url: str,
                  options: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {
            "DEFAULT": {"listen_address": "127.0.0.1", "listen_port": self.port,
                        "auth_strategy": "noauth", "introspection_delay": 0,
                        "clean_up_period": 5},
            "database": {"connection": f"sqlite:///{self.workdir / 'metalscope.sqlite'}"},
            "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
            "pxe_filter": {"driver": "noop"},
            "processing": {"store_data": "database",
                           "ramdisk_logs_dir": str(self.workdir / "ramdisk-logs")},
        }
        for section, values in options.items():
            sections.setdefault(section, {}).update(values)
        return sections

    def _configured_log_file(self) -> Path | None:
        default = self.sections["DEFAULT"]
        log_file, log_dir = default.get("log_file"), default.get("log_dir")
        if log_file:
            return Path(log_dir or "", log_file)
        return Path(log_dir, "metalscope.log") if log_dir else None

    def _command(self, *args: str) -> list[str]:
        return [self.python, "-m", "metalscope.cli", *args, "--config-file", str(self.config_file)]

    def start(self, timeout: float = 60) -> LocalMetalScope:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.sections))
        subprocess.run(self._command("db", "upgrade"), check=True, capture_output=True)
        log = self.console_file.open("ab")
        self.process = subprocess.Popen(self._command("serve"), stdout=log,
                                        stderr=subprocess.STDOUT,
                                        start_new_session=True, env={**os.environ})
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        problem = wait_until_answers(self.url, self.process, timeout, self.verify)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"metalscope serve {problem}:\n" + self.log_tail())

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the console and, when it is another file, of the log file."""
        files = dict.fromkeys([self.console_file, self.log_file])
        return "\n".join(_tail(path, lines) for path in files if path.exists())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> LocalMetalScope:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _tail(path: Path, lines: int) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
