"""The benchmark workload: enroll a fleet, start introspection on every node, let simulated
ramdisks call back, and measure each phase.

Everything here talks HTTP to an Ironic and an inspector given by URL; which inspector it is
does not matter. The process-level measurements (CPU seconds, RSS) go through psutil on the
process trees whose root PIDs the caller passes in.
"""

from __future__ import annotations

import asyncio
import datetime
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from metalscope.simulator import PostResult, SimulatedNode, ramdisk_data, run_fleet

INSPECTOR_VERSION = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
ENROLL_CONCURRENCY = 16
LIST_LIMIT = 1000
#: Statuses are polled only once every request of a phase has been answered, so the polling
#: does not compete with the measured work; the end of processing is then read from the
#: records' ``finished_at``, not from the poll that saw it.
POLL_INTERVAL = 0.25
PHASE_TIMEOUT = 1800.0
#: How long processing may go on after the last callback got its answer (or gave up).
SETTLE_TIMEOUT = 300.0
LIST_SAMPLES = 5
RSS_INTERVAL = 0.1


# -- enrollment (not measured) ------------------------------------------------------------------

async def enroll_fleet(ironic_url: str, api_version: str,
                       machines: Sequence[SimulatedNode]) -> list[str]:
    """Create one ``manageable`` fake-hardware node per machine (BMC address in driver_info,
    the PXE MAC as its port); return the node UUIDs in the machines' order."""
    headers = {"X-OpenStack-Ironic-API-Version": api_version}
    async with httpx.AsyncClient(base_url=ironic_url, headers=headers, timeout=120) as client:
        uuids = await _bounded(ENROLL_CONCURRENCY, [lambda m=m: _enroll(client, m)
                                                    for m in machines])
        await _wait_manageable(client, len(machines))
    return uuids


async def _enroll(client: httpx.AsyncClient, machine: SimulatedNode) -> str:
    driver_info = {"ipmi_address": machine.bmc_address} if machine.bmc_address else {}
    node = _ok(await client.post("/v1/nodes", json={
        "name": machine.name, "driver": "fake-hardware", "driver_info": driver_info}))
    _ok(await client.post("/v1/ports", json={"node_uuid": node["uuid"],
                                             "address": machine.pxe_mac}))
    _ok(await client.put(f"/v1/nodes/{node['uuid']}/states/provision",
                         json={"target": "manage"}))
    return str(node["uuid"])


async def _wait_manageable(client: httpx.AsyncClient, count: int) -> None:
    fields = "uuid,provision_state,target_provision_state,reservation"
    deadline = time.monotonic() + PHASE_TIMEOUT
    while time.monotonic() < deadline:
        nodes = _ok(await client.get("/v1/nodes", params={"fields": fields,
                                                          "limit": count}))["nodes"]
        settled = [n for n in nodes if n["provision_state"] == "manageable"
                   and n["target_provision_state"] is None and n["reservation"] is None]
        if len(settled) == count:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("enrolled nodes did not all reach manageable")


def _ok(response: httpx.Response) -> Any:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered "
                           f"{response.status_code}: {response.text[:300]}")
    return response.json() if response.content else None


async def _bounded(concurrency: int, jobs: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run the jobs with at most ``concurrency`` at a time; results in the jobs' order."""
    results: list[Any] = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in pending:
            results[index] = await job()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(jobs)))))
    return results


# -- process measurements ---------------------------------------------------------------------

def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process tree (waited-for children included)."""
    user = system = 0.0
    for process in _tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        user += times.user + times.children_user
        system += times.system + times.children_system
    return user, system


def rss_bytes(pid: int) -> int:
    total = 0
    for process in _tree(pid):
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class PeakRss:
    """Samples a process tree's resident memory in a thread; ``peak`` is the highest sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(RSS_INTERVAL)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))


# -- inspector statuses -------------------------------------------------------------------------

async def statuses(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every introspection status, page by page (``limit=1000`` each)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": LIST_LIMIT}
    while True:
        page = _ok(await client.get("/v1/introspection", params=params))["introspection"]
        found += page
        if len(page) < LIST_LIMIT:
            return found
        params["marker"] = page[-1]["uuid"]


async def wait_until(client: httpx.AsyncClient, done: Callable[[list[dict[str, Any]]], bool],
                     timeout: float) -> tuple[bool, list[dict[str, Any]]]:
    """Poll the statuses until ``done`` holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        current = await statuses(client)
        if done(current):
            return True, current
        if time.monotonic() > deadline:
            return False, current
        await asyncio.sleep(POLL_INTERVAL)


def _all_in(count: int, accept: Callable[[dict[str, Any]], bool]) -> Callable[
        [list[dict[str, Any]]], bool]:
    return lambda current: len(current) >= count and all(accept(s) for s in current)


# -- the measured phases ------------------------------------------------------------------------

@dataclass
class PhaseCosts:
    """CPU seconds of the inspector and Ironic trees and Ironic calls counted over a phase."""

    inspector_cpu: float = 0.0
    inspector_system_cpu: float = 0.0  # the part of inspector_cpu spent in the kernel
    ironic_cpu: float = 0.0
    ironic_calls: dict[str, Any] = field(default_factory=dict)


@dataclass
class Probes:
    """How the workload observes the processes: PIDs, and the Ironic call counter."""

    inspector_pid: int
    ironic_pid: int
    calls: Callable[[], dict[str, Any]]  # counts since the last reset
    reset_calls: Callable[[], None]


class CostMeter:
    """Measures :class:`PhaseCosts` between ``__enter__`` and ``__exit__``."""

    def __init__(self, probes: Probes) -> None:
        self.probes = probes
        self.costs = PhaseCosts()

    def __enter__(self) -> CostMeter:
        self.probes.reset_calls()
        self._inspector = cpu_seconds(self.probes.inspector_pid)
        self._ironic = cpu_seconds(self.probes.ironic_pid)
        return self

    def __exit__(self, *exc: object) -> None:
        inspector = [now - then for now, then in zip(cpu_seconds(self.probes.inspector_pid),
                                                       self._inspector, strict=True)]
        ironic = sum(cpu_seconds(self.probes.ironic_pid)) - sum(self._ironic)
        self.costs = PhaseCosts(sum(inspector), inspector[1], ironic, self.probes.calls())


@dataclass
class StartPhase:
    seconds: float  # first POST to every record in ``waiting``
    latencies: list[float]
    costs: PhaseCosts


@dataclass
class ProcessingPhase:
    seconds: float  # first callback to every record finished
    results: list[PostResult]
    final: list[dict[str, Any]]
    costs: PhaseCosts


async def start_all(inspector_url: str, uuids: Sequence[str], concurrency: int,
                    probes: Probes) -> StartPhase:
    """``POST /v1/introspection/<uuid>?manage_boot=false`` for every node, ``concurrency`` at
    a time, then wait until every record is ``waiting``."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=inspector_url, headers=INSPECTOR_VERSION,
                                 timeout=300, limits=limits) as client:
        with CostMeter(probes) as meter:
            began = time.perf_counter()
            latencies = await _bounded(concurrency, [lambda u=u: _start(client, u)
                                                     for u in uuids])
            waiting, _ = await wait_until(
                client, _all_in(len(uuids), lambda s: s["state"] == "waiting"), PHASE_TIMEOUT)
            seconds = time.perf_counter() - began
    if not waiting:
        raise RuntimeError("the introspections did not all reach the waiting state")
    return StartPhase(seconds, latencies, meter.costs)


async def _start(client: httpx.AsyncClient, uuid: str) -> float:
    began = time.perf_counter()
    _ok(await client.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"}))
    return time.perf_counter() - began


async def process_all(inspector_url: str, machines: Sequence[SimulatedNode], concurrency: int,
                      probes: Probes) -> ProcessingPhase:
    """Every machine's ramdisk posts its data (``concurrency`` at a time, IPA's retries);
    the phase ends when every record is finished."""
    # The recorded figures were measured before the simulator had a dmi section.
    documents = [ramdisk_data(machine, with_dmi=False) for machine in machines]
    async with httpx.AsyncClient(base_url=inspector_url, headers=INSPECTOR_VERSION,
                                 timeout=300) as client:
        with CostMeter(probes) as meter:
            began, began_wall = time.perf_counter(), time.time()
            results = await run_fleet(inspector_url, documents, concurrency)
            _, final = await wait_until(client, _all_in(len(machines), lambda s: s["finished"]),
                                        SETTLE_TIMEOUT)
            polled = time.perf_counter() - began
    last = last_finished(final)
    seconds = polled if last is None else min(polled, max(last - began_wall, 1e-3))
    return ProcessingPhase(seconds, results, final, meter.costs)


def last_finished(final: Sequence[dict[str, Any]]) -> float | None:
    """The latest ``finished_at`` as a Unix time (a naive timestamp is UTC, as upstream's),
    or None when a record has not finished."""
    stamps = []
    for status in final:
        if not status.get("finished_at"):
            return None
        stamp = datetime.datetime.fromisoformat(status["finished_at"])
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=datetime.UTC)
        stamps.append(stamp.timestamp())
    return max(stamps, default=None)


def list_latency(inspector_url: str) -> float:
    """Median seconds of ``GET /v1/introspection?limit=1000``, each on a new connection."""
    samples = []
    for _ in range(LIST_SAMPLES):
        with httpx.Client(base_url=inspector_url, headers=INSPECTOR_VERSION,
                          timeout=60) as client:
            began = time.perf_counter()
            _ok(client.get("/v1/introspection", params={"limit": LIST_LIMIT}))
            samples.append(time.perf_counter() - began)
    return statistics.median(samples)
