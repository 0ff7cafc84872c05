"""Out-of-band (Redfish) against in-band (simulated ramdisks) inspection, in one run, against
one real Ironic and one MetalScope.

    .venv/bin/python benchmarks/out_of_band.py                  # 100 nodes each, 16 at a time
    .venv/bin/python benchmarks/out_of_band.py --nodes 20       # a quick look

One sushy-emulator (fake driver, HTTP basic authentication; ``metalscope/testing/redfish.py``)
serves N systems, each with two NICs and two drives; one Ironic 39 (SQLite, ``noauth``, the
``redfish`` hardware type enabled and a policy that shows BMC passwords:
``metalscope/testing/redfish_ironic.py``) holds N ``redfish`` nodes pointing at them (no
ports) and N ``fake-hardware`` nodes with the simulated machines' PXE MACs
(``metalscope.simulator``). Enrollment is not measured (``manage`` checks every redfish node
through the emulator). One MetalScope (SQLite, ``store_data = database``, upstream's default
processing hooks, ``add_ports = all``, ``[redfish]max_concurrent`` at its default 8) then:

* out of band: ``POST /v1/introspection/<uuid>?method=redfish`` (API 1.20) on the N redfish
  nodes, C requests at a time, until every record is finished;
* in band: ``POST /v1/introspection/<uuid>?manage_boot=false`` on the N fake nodes, then the
  simulated ramdisks post their data C at a time (IPA's retries), until every record is
  finished. The simulated ramdisk calls back at once: a real one boots first (minutes).

Per method: the wall time from the first start until the last ``finished_at``, per node; the
time each record took (``started_at`` to ``finished_at``; in band that includes waiting for
the callback), median and p95; Ironic API calls per node, from Ironic's own request log
(``ironic_calls.py``) and by call; CPU seconds of MetalScope and of Ironic per node; Redfish
requests per node, from the emulator's request log. Tables to stdout, progress to stderr,
figures to ``benchmarks/results/out_of_band.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from inspectors import PROCESSING_HOOKS  # noqa: E402
from ironic_calls import IronicCallLog  # noqa: E402
from rig import SEED, log  # noqa: E402
from workload import (  # noqa: E402
    CostMeter,
    PhaseCosts,
    Probes,
    enroll_fleet,
    last_finished,
    process_all,
    start_all,
    statuses,
    wait_until,
)

from metalscope.simulator import make_fleet  # noqa: E402
from metalscope.testing.ironic import LocalIronic, ironic_release  # noqa: E402
from metalscope.testing.redfish import FakeDrive, FakeSystem, LocalRedfishEmulator  # noqa: E402
from metalscope.testing.redfish_ironic import (  # noqa: E402
    enroll_redfish_node,
    redfish_ironic_options,
)
from metalscope.testing.service import LocalMetalScope  # noqa: E402

IRONIC_VENV = REPO / ".venv-ironic"
RESULTS = REPO / "benchmarks" / "results" / "out_of_band.json"
WORKDIR = REPO / ".work" / "benchmarks" / "out-of-band"
API_1_20 = {"X-OpenStack-Ironic-Inspector-API-Version": "1.20"}
PHASE_TIMEOUT = 1800.0
#: ``manage`` of redfish nodes at once: the emulator's fake driver keeps its state in SQLite
#: and backs off when it is locked, so more at once is slower.
ENROLL_CONCURRENCY = 4
OPTIONS: dict[str, dict[str, Any]] = {
    "DEFAULT": {"introspection_delay": 0, "clean_up_period": 60, "debug": False},
    "processing": {"store_data": "database", "processing_hooks": PROCESSING_HOOKS,
                   "add_ports": "all"},
    "pxe_filter": {"driver": "noop"},
}


def fake_systems(count: int) -> list[FakeSystem]:
    return [FakeSystem(
        uuid=f"be4c4000-0000-4000-8000-{n:012x}", name=f"bench-bmc-{n}",
        nics={f"52:54:10:00:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}": f"10.10.{n >> 8}.{n & 0xFF}",
              f"52:54:11:00:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}": f"10.11.{n >> 8}.{n & 0xFF}"},
        drives=(FakeDrive("d0", 240 * 10**9), FakeDrive("d1", 1920 * 10**9)))
        for n in range(count)]


def enroll_redfish(ironic: LocalIronic, emulator: LocalRedfishEmulator) -> list[str]:
    def enroll(system: FakeSystem) -> str:
        node = enroll_redfish_node(ironic, f"oob-{system.name}", emulator.driver_info(system))
        return str(node["uuid"])

    with ThreadPoolExecutor(ENROLL_CONCURRENCY) as pool:
        return list(pool.map(enroll, emulator.systems))


def redfish_requests(emulator: LocalRedfishEmulator) -> int:
    """Requests the emulator answered so far (its werkzeug access log)."""
    text = emulator.log_file.read_text(errors="replace")
    return sum(1 for line in text.splitlines() if '"GET /redfish' in line
               or '"POST /redfish' in line)


async def out_of_band(url: str, uuids: list[str], concurrency: int,
                      probes: Probes) -> tuple[float, list[dict[str, Any]], PhaseCosts]:
    """Start every node with ``method=redfish``; the seconds until the last one finished."""
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=API_1_20, timeout=300,
                                 limits=limits) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def start(uuid: str) -> None:
            async with semaphore:
                answer = await client.post(f"/v1/introspection/{uuid}",
                                           params={"method": "redfish"})
                if answer.status_code != 202:
                    raise RuntimeError(f"start of {uuid}: {answer.status_code} {answer.text}")

        with CostMeter(probes) as meter:
            began_wall = time.time()
            await asyncio.gather(*(start(u) for u in uuids))
            done, final = await wait_until(
                client, lambda current: _all_finished(current, set(uuids)), PHASE_TIMEOUT)
    if not done:
        raise RuntimeError("the out-of-band introspections did not all finish")
    mine = [s for s in final if s["uuid"] in set(uuids)]
    last = last_finished(mine)
    return (last or time.time()) - began_wall, mine, meter.costs


def _all_finished(current: list[dict[str, Any]], wanted: set[str]) -> bool:
    done = {s["uuid"] for s in current if s["uuid"] in wanted and s["finished"]}
    return done == wanted


def durations(final: list[dict[str, Any]]) -> list[float]:
    def stamp(text: str) -> float:
        value = datetime.datetime.fromisoformat(text)
        return (value if value.tzinfo else value.replace(tzinfo=datetime.UTC)).timestamp()
    return [stamp(s["finished_at"]) - stamp(s["started_at"]) for s in final]


def figures(count: int, seconds: float, final: list[dict[str, Any]], costs: PhaseCosts,
            redfish: int) -> dict[str, Any]:
    took = sorted(durations(final))
    return {
        "nodes": count,
        "errors": sum(1 for s in final if s["error"]),
        "wall_s": round(seconds, 2),
        "wall_per_node_s": round(seconds / count, 3),
        "nodes_per_s": round(count / seconds, 2),
        "record_p50_s": round(statistics.median(took), 2),
        "record_p95_s": round(took[min(len(took) - 1, int(0.95 * len(took)))], 2),
        "ironic_calls_per_node": round(costs.ironic_calls.get("total", 0) / count, 2),
        "ironic_calls_per_node_without_port_creation": round(
            (costs.ironic_calls.get("total", 0)
             - costs.ironic_calls.get("by_call", {}).get("POST /v1/ports", 0)) / count, 2),
        "ironic_calls": costs.ironic_calls.get("by_call", {}),
        "metalscope_cpu_per_node_s": round(costs.inspector_cpu / count, 4),
        "ironic_cpu_per_node_s": round(costs.ironic_cpu / count, 4),
        "redfish_requests_per_node": round(redfish / count, 1),
    }


ROWS = (("wall time, first start to last finished", "wall_s", "s"),
        ("wall time per node (fleet)", "wall_per_node_s", "s"),
        ("throughput", "nodes_per_s", "nodes/s"),
        ("one record, started to finished, p50", "record_p50_s", "s"),
        ("one record, started to finished, p95", "record_p95_s", "s"),
        ("Ironic API calls per node", "ironic_calls_per_node", "calls"),
        ("the same without the port creations", "ironic_calls_per_node_without_port_creation",
         "calls"),
        ("MetalScope CPU per node", "metalscope_cpu_per_node_s", "CPU-s"),
        ("Ironic CPU per node", "ironic_cpu_per_node_s", "CPU-s"),
        ("Redfish requests per node", "redfish_requests_per_node", "requests"),
        ("Ironic ports per node afterwards", "ports_per_node", "ports"),
        ("introspections ended in error", "errors", ""))


def table(results: dict[str, Any]) -> str:
    oob, inband = results["out_of_band"], results["in_band"]
    lines = ["| figure | unit | out of band (Redfish) | in band (simulated ramdisk) |",
             "|---|---|---:|---:|"]
    lines += [f"| {name} | {unit} | {oob[key]} | {inband[key]} |" for name, key, unit in ROWS]
    lines.append("")
    for label, phase in (("out of band", oob), ("in band", inband)):
        calls = ", ".join(f"{call} {n / phase['nodes']:.2f}"
                          for call, n in phase["ironic_calls"].items())
        lines.append(f"Ironic calls per node, {label}: {calls}")
    return "\n".join(lines)


def run(count: int, concurrency: int) -> dict[str, Any]:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    bin_dir = IRONIC_VENV / "bin"
    ironic = LocalIronic(WORKDIR / "ironic", bin_dir,
                         schema_cache_dir=REPO / ".work" / "ironic-schema",
                         options=redfish_ironic_options(WORKDIR / "ironic"))
    emulator = LocalRedfishEmulator(WORKDIR / "bmcs", fake_systems(count))
    machines = make_fleet(SEED, count)
    with emulator, ironic:
        assert ironic.api_version is not None and ironic.process is not None
        began = time.perf_counter()
        redfish_uuids = enroll_redfish(ironic, emulator)
        enroll_redfish_s = time.perf_counter() - began
        log(f"{count} redfish nodes enrolled and managed in {enroll_redfish_s:.1f} s")
        inband_uuids = asyncio.run(enroll_fleet(ironic.url, ironic.api_version, machines))
        log(f"{count} fake-hardware nodes enrolled")
        with LocalMetalScope(WORKDIR / "metalscope", ironic.url, options=OPTIONS) as service:
            assert service.process is not None
            calls = IronicCallLog(ironic.log_file)
            probes = Probes(service.process.pid, ironic.process.pid, calls.counts, calls.reset)

            # In band first: its phases wait for every record of the service.
            log(f"in band: {count} nodes, {concurrency} ramdisks at a time")
            start = asyncio.run(start_all(service.url, inband_uuids, concurrency, probes))
            processing = asyncio.run(process_all(service.url, machines, concurrency, probes))
            final = asyncio.run(_statuses(service.url, set(inband_uuids)))
            both = PhaseCosts(
                start.costs.inspector_cpu + processing.costs.inspector_cpu, 0.0,
                start.costs.ironic_cpu + processing.costs.ironic_cpu,
                {"total": start.costs.ironic_calls.get("total", 0)
                 + processing.costs.ironic_calls.get("total", 0),
                 "by_call": _summed(start.costs.ironic_calls, processing.costs.ironic_calls)})
            inband = figures(count, start.seconds + processing.seconds, final, both, 0)
            log(f"out of band: {count} nodes, {concurrency} starts at a time")
            before = redfish_requests(emulator)
            seconds, final, costs = asyncio.run(
                out_of_band(service.url, redfish_uuids, concurrency, probes))
            oob = figures(count, seconds, final, costs, redfish_requests(emulator) - before)
            oob["ports_per_node"] = ports_per_node(ironic, redfish_uuids)
            inband["ports_per_node"] = ports_per_node(ironic, inband_uuids)

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "ironic": ironic_release(bin_dir), "load_average": os.getloadavg()},
        "concurrency": concurrency,
        "enroll_redfish_s": round(enroll_redfish_s, 1),
        "out_of_band": oob, "in_band": inband,
    }


def ports_per_node(ironic: LocalIronic, uuids: list[str]) -> float:
    sample = uuids[:10]
    return round(sum(len(ironic.list_ports(u)) for u in sample) / len(sample), 1)


def _summed(*counts: dict[str, Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for call, n in count.get("by_call", {}).items():
            total[call] = total.get(call, 0) + n
    return dict(sorted(total.items(), key=lambda item: -item[1]))


async def _statuses(url: str, wanted: set[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url, headers=API_1_20, timeout=60) as client:
        return [s for s in await statuses(client) if s["uuid"] in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--show", type=Path, help="print the tables of a results file")
    args = parser.parse_args()
    # A plain SIGTERM would skip the context managers that stop Ironic and the emulator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.show:
        print(table(json.loads(args.show.read_text())))
        return
    results = run(args.nodes, args.concurrency)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
