"""LocalUpstreamInspector: ironic-inspector 12.5.0 (API and conductor in one standalone
process) from its own virtual environment, for tests and benchmarks that compare MetalScope
with it or hand a database from one to the other.

Its database tool, ``ironic-inspector-dbsync``, runs with the same configuration file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from metalscope.testing.service import (
    free_port,
    render_config,
    stop_process_group,
    wait_until_answers,
)

START_TIMEOUT = 120.0

#: The synchronous drivers ironic-inspector's environment has, per database.
_UPSTREAM_DRIVERS = {"postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql",
                     "mariadb": "mysql+pymysql", "sqlite": "sqlite"}


def upstream_database_url(url: str) -> str:
    """``url`` with the driver ironic-inspector's environment has (psycopg2, PyMySQL)."""
    scheme, rest = url.split("://", 1)
    return f"{_UPSTREAM_DRIVERS[scheme.split('+')[0]]}://{rest}"


class LocalUpstreamInspector:
    """``ironic-inspector`` standalone on loopback (noauth, fake messaging, noop PXE filter),
    with a generated configuration file. ``options`` are merged over the defaults."""

    def __init__(self, workdir: Path, ironic_url: str, bin_dir: Path,
                 database_url: str | None = None,
                 options: dict[str, dict[str, Any]] | None = None) -> None:
        self.workdir = Path(workdir).absolute()
        self.bin_dir = Path(bin_dir).absolute()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.workdir / "inspector.conf"
        self.log_file = self.workdir / "inspector.log"
        database = database_url or f"sqlite:///{self.workdir / 'inspector.sqlite'}"
        self.sections = self._sections(ironic_url, upstream_database_url(database))
        for section, values in (options or {}).items():
            self.sections.setdefault(section, {}).update(values)
        self.process: subprocess.Popen[bytes] | None = None

    def _sections(self, ironic_url: str, database_url: str) -> dict[str, dict[str, Any]]:
        return {
            "DEFAULT": {"host": "local-inspector", "listen_address": "127.0.0.1",
                        "listen_port": self.port, "auth_strategy": "noauth",
                        "standalone": True, "transport_url": "fake://", "use_stderr": False,
                        "log_file": self.log_file, "can_manage_boot": True,
                        "introspection_delay": 0},
            "database": {"connection": database_url},
            "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
            "pxe_filter": {"driver": "noop"},
            "processing": {"store_data": "database",
                           "ramdisk_logs_dir": self.workdir / "ramdisk-logs"},
            "oslo_concurrency": {"lock_path": self.workdir / "lock"},
        }

    def write_config(self) -> Path:
        (self.workdir / "lock").mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(render_config(self.sections))
        return self.config_file

    def dbsync(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``ironic-inspector-dbsync ARGS`` on this configuration; raises when it fails."""
        self.write_config()
        result = subprocess.run([str(self.bin_dir / "ironic-inspector-dbsync"), "--config-file",
                                 str(self.config_file), *args], capture_output=True, text=True,
                                timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"ironic-inspector-dbsync {' '.join(args)} failed:\n"
                               + result.stderr[-3000:])
        return result

    def start(self, upgrade: bool = True) -> LocalUpstreamInspector:
        """Start the service (after ``ironic-inspector-dbsync upgrade`` unless told not to)."""
        self.write_config()
        if upgrade:
            self.dbsync("upgrade")
        with (self.workdir / "console.log").open("ab") as console:
            self.process = subprocess.Popen(
                [str(self.bin_dir / "ironic-inspector"), "--config-file", str(self.config_file)],
                stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        problem = wait_until_answers(self.url, self.process, START_TIMEOUT)
        if problem is not None:
            self.stop()
            raise RuntimeError(f"ironic-inspector {problem}:\n{self.log_tail()}")
        return self

    def log_tail(self, lines: int = 40) -> str:
        texts = [path.read_text(errors="replace") for path in
                 (self.log_file, self.workdir / "console.log") if path.exists()]
        return "\n".join("\n".join(text.splitlines()[-lines:]) for text in texts)

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process_group(process, 30)

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> LocalUpstreamInspector:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
