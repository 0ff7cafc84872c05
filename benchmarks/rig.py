"""The processes of one measurement: a fresh Ironic holding the enrolled fleet and an
inspector using it, whose calls are counted in Ironic's request log; plus the fleet itself,
enrolled once per node count, and optional py-spy profiling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from inspectors import Inspector, MetalScopeInspector, UpstreamInspector
from ironic_calls import IronicCallLog
from workload import Probes, enroll_fleet

from metalscope.simulator import SimulatedNode, make_fleet
from metalscope.testing.ironic import LocalIronic, ironic_release

SEED = 2026


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Toolchain:
    """Where the programs come from: the Ironic virtual environment (Ironic and upstream
    ironic-inspector) and the Python that runs MetalScope."""

    ironic_bin: Path
    metalscope_python: Path
    py_spy: Path


class Fleet:
    """N simulated machines enrolled in Ironic (``manageable``, BMC address in driver_info,
    the PXE MAC as a port). The Ironic database is kept in ``cache_dir`` under the name
    LocalIronic looks for when it prepares an empty database, so every Ironic started with
    ``schema_cache_dir=cache_dir`` starts with exactly these nodes, and the enrollment itself
    (not measured) happens once per node count and Ironic release."""

    def __init__(self, workdir: Path, tools: Toolchain, count: int) -> None:
        self.machines: list[SimulatedNode] = make_fleet(SEED, count)
        release = ironic_release(tools.ironic_bin) or "unknown"
        self.cache_dir = workdir / "fleets" / f"ironic-{release}-seed{SEED}-{count}"
        self._database = self.cache_dir / f"ironic-schema-{release}.sqlite"
        self._uuids_file = self.cache_dir / "uuids.json"
        self.uuids: list[str] = []
        if self._database.exists() and self._uuids_file.exists():
            self.uuids = json.loads(self._uuids_file.read_text())
        else:
            self._enroll(workdir, tools)

    def _enroll(self, workdir: Path, tools: Toolchain) -> None:
        log(f"enrolling {len(self.machines)} nodes (once; kept in {self.cache_dir})")
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        ironic = LocalIronic(self.cache_dir / "ironic", tools.ironic_bin,
                             schema_cache_dir=workdir / "ironic-schema")
        with ironic:
            assert ironic.api_version is not None
            uuids = asyncio.run(enroll_fleet(ironic.url, ironic.api_version, self.machines))
        shutil.copyfile(ironic.database_file, self._database)
        self._uuids_file.write_text(json.dumps(uuids))
        shutil.rmtree(self.cache_dir / "ironic")
        self.uuids = uuids


def _both(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run two blocking calls at once; re-raise the first failure once both are done."""
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(first), pool.submit(second)]
    for future in futures:
        future.result()


class Rig:
    """Fresh Ironic from the fleet's database and an inspector talking to it.

    Ironic and the inspector start (and stop) at the same time: the inspector does not need
    Ironic until the first request.
    """

    def __init__(self, inspector_name: str, fleet: Fleet, tools: Toolchain, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)
        self.ironic = LocalIronic(workdir / "ironic", tools.ironic_bin,
                                  schema_cache_dir=fleet.cache_dir)
        self.calls = IronicCallLog(self.ironic.log_file)
        self.inspector: Inspector
        if inspector_name == "metalscope":
            self.inspector = MetalScopeInspector(workdir / inspector_name, self.ironic.url,
                                                 str(tools.metalscope_python))
        else:
            self.inspector = UpstreamInspector(workdir / inspector_name, self.ironic.url,
                                               tools.ironic_bin)

    def __enter__(self) -> Rig:
        try:
            _both(self.ironic.start, self.inspector.start)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _both(self.inspector.stop, self.ironic.stop)

    def probes(self) -> Probes:
        assert self.ironic.process is not None
        return Probes(self.inspector.pid(), self.ironic.process.pid, self.calls.counts,
                      self.calls.reset)


@contextlib.contextmanager
def py_spy(tools: Toolchain, pid: int, output: Path | None) -> Iterator[None]:
    """Record a py-spy profile of ``pid`` (GIL-holding samples, i.e. CPU) while the block
    runs, when ``output`` is set: a flame graph for ``.svg``, folded stacks for ``.txt``,
    speedscope for ``.json``."""
    if output is None:
        yield
        return
    kind = {".svg": "flamegraph", ".txt": "raw", ".json": "speedscope"}[output.suffix]
    spy = subprocess.Popen([str(tools.py_spy), "record", "--pid", str(pid), "--rate", "100",
                            "--gil", "--format", kind, "--output", str(output)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
