"""The two inspectors under test, started the same way: fresh SQLite database, noauth, noop PXE
filter, data stored in the database, the same processing hooks, Ironic behind a URL.

``MetalScopeInspector`` runs ``metalscope serve`` (through ``LocalMetalScope``);
``UpstreamInspector`` runs ironic-inspector 12.5.0 in standalone mode (API and conductor in one
process) from the Ironic virtual environment, after ``ironic-inspector-dbsync upgrade``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from metalscope.testing.service import LocalMetalScope
from metalscope.testing.upstream import LocalUpstreamInspector

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
        self._service = LocalUpstreamInspector(
            workdir, ironic_url, bin_dir,
            options=_merged(_COMMON, {"DEFAULT": {"host": "bench-inspector"}}))
        self.url = self._service.url
        self.log_file = self._service.log_file

    def start(self) -> None:
        self._service.start()

    def stop(self) -> None:
        self._service.stop()

    def pid(self) -> int:
        return self._service.pid()
