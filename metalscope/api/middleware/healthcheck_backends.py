"""The ``[healthcheck]backends``: oslo.middleware's file-based checks, by the same names.

``disable_by_file``
    unavailable while the file ``disable_by_file_path`` exists;
``disable_by_files_ports``
    unavailable while the file that ``disable_by_file_paths`` (``port:path`` entries) gives
    for the port the request came in on exists;
``enable_by_files``
    unavailable while one of the ``enable_by_file_paths`` is missing.

Each check is asked on every health request, so creating or removing a file takes effect at
once. Unknown names are ignored with a warning, as oslo.middleware ignores them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from metalscope.errors import ConfigurationError
from metalscope.settings import HealthcheckSection

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthcheckResult:
    """One backend's answer; the class name is what detailed output calls its ``class``."""

    available: bool
    reason: str
    details: str = ""


class HealthBackend(Protocol):
    def check(self, server_port: int | None) -> HealthcheckResult:
        """Whether the service is to be reported available, and why."""


OK = "OK"


@dataclass(frozen=True)
class DisableByFile:
    path: str | None

    def check(self, server_port: int | None) -> HealthcheckResult:
        if not self.path:
            return HealthcheckResult(True, OK, "No 'disable_by_file_path' configuration value "
                                               "specified")
        if os.path.exists(self.path):
            return HealthcheckResult(False, "DISABLED BY FILE", f"Path '{self.path}' was found")
        return HealthcheckResult(True, OK, f"Path '{self.path}' was not found")


def parse_port_paths(entries: list[str]) -> dict[int, str]:
    """``port:path`` entries by port; ConfigurationError for an entry of another form."""
    paths: dict[int, str] = {}
    for entry in filter(None, (raw.strip() for raw in entries)):
        port, sep, path = entry.partition(":")
        if not sep or not port.strip().isdigit():
            raise ConfigurationError(f"[healthcheck]disable_by_file_paths: {entry!r} is not "
                                     "of the form port:path")
        paths[int(port)] = path
    return paths


@dataclass(frozen=True)
class DisableByFilesPorts:
    paths: dict[int, str]

    def check(self, server_port: int | None) -> HealthcheckResult:
        path = self.paths.get(server_port) if server_port is not None else None
        if not path:
            LOG.warning("Health check: disable_by_files_ports has no disable_by_file_paths "
                        "entry for port %s", server_port)
            return HealthcheckResult(True, OK)
        if os.path.exists(path):
            return HealthcheckResult(False, "DISABLED BY FILE")
        return HealthcheckResult(True, OK)


@dataclass(frozen=True)
class EnableByFiles:
    paths: tuple[str, ...]

    def check(self, server_port: int | None) -> HealthcheckResult:
        for path in self.paths:
            if not os.path.exists(path):
                LOG.warning("Health check: %s is missing", path)
                return HealthcheckResult(False, "FILE PATH MISSING", f"File path {path} is missing")
        return HealthcheckResult(True, OK, "Specified file paths are available")


BACKENDS: dict[str, Callable[[HealthcheckSection], HealthBackend]] = {
    "disable_by_file": lambda section: DisableByFile(section.disable_by_file_path),
    "disable_by_files_ports": lambda section: DisableByFilesPorts(
        parse_port_paths(section.disable_by_file_paths)),
    "enable_by_files": lambda section: EnableByFiles(tuple(section.enable_by_file_paths)),
}


def create_backends(section: HealthcheckSection) -> list[HealthBackend]:
    """The configured backends, in the configured order."""
    if {"disable_by_file", "enable_by_files"} <= set(section.backends):
        raise ConfigurationError("[healthcheck]backends: enable_by_files and disable_by_file "
                                 "cannot be enabled at the same time")
    backends = []
    for name in section.backends:
        if name not in BACKENDS:
            LOG.warning("[healthcheck]backends: unknown backend %s is ignored (known: %s)",
                        name, ", ".join(BACKENDS))
            continue
        backends.append(BACKENDS[name](section))
    return backends
