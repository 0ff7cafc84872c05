"""MetalScope and upstream ironic-inspector 12.5.0 side by side, on the same workload.

    .venv/bin/python benchmarks/run.py --nodes 200 1000 --concurrency 1 16 64
    .venv/bin/python benchmarks/run.py --quick

For every node count N the fleet is enrolled once (``manageable``, BMC address in
``driver_info``, the PXE MAC as a port) in a real Ironic (fake hardware, SQLite, noauth) and that
database is kept. Then, for every concurrency C and for each inspector in turn: a fresh Ironic
starts from that database, the inspector starts against it, introspection starts on every
node (``manage_boot=false``), the simulated ramdisks call back C at a time (with IPA's
retries), and the figures are taken; Ironic API calls are counted in Ironic's request log.
Tables go to stdout, progress to stderr, everything to ``benchmarks/results/latest.json``.
``scripts/setup`` runs first: it creates (or checks) the virtual environment holding Ironic
and upstream ironic-inspector, pinned in ``constraints/ironic-sandbox.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # ``metalscope`` even when this Python has it only as a checkout

import own_share  # noqa: E402
import psutil  # noqa: E402
from inspectors import PROCESSING_HOOKS  # noqa: E402
from report import (  # noqa: E402
    METALSCOPE,
    METRICS,
    RATIO_LEGEND,
    UPSTREAM,
    check_targets,
    closed_loop_text,
    figures,
    ratio,
    ratio_summary,
    side_by_side,
    table,
    targets_text,
)
from rig import SEED, Fleet, Rig, Toolchain, log, py_spy  # noqa: E402
from workload import POLL_INTERVAL, PeakRss, list_latency, process_all, start_all  # noqa: E402

from metalscope.testing.ironic import ironic_release  # noqa: E402

IRONIC_VENV = REPO / ".venv-ironic"
RESULTS = REPO / "benchmarks" / "results" / "latest.json"
WORKDIR = REPO / ".work" / "benchmarks"
QUICK_NODES, QUICK_CONCURRENCY = [30], [1, 16, 64]
START_CONCURRENCY = 16


@dataclass(frozen=True)
class Plan:
    """What one invocation measures, and with which programs."""

    tools: Toolchain
    start_concurrency: int
    only: str | None
    profile_dir: Path | None
    profile_format: str

    def profile_path(self, name: str, nodes: int, concurrency: int) -> Path | None:
        if self.profile_dir is None:
            return None
        return self.profile_dir / f"{name}-n{nodes}-c{concurrency}.{self.profile_format}"


def measure(plan: Plan, rig: Rig, fleet: Fleet, concurrency: int) -> dict[str, Any]:
    """Start every introspection, process every node, and take the figures of one inspector."""
    nodes, inspector, probes = len(fleet.uuids), rig.inspector, rig.probes()
    profile = plan.profile_path(inspector.name, nodes, concurrency)
    with PeakRss(inspector.pid()) as rss:
        start = asyncio.run(start_all(inspector.url, fleet.uuids, plan.start_concurrency,
                                      probes))
        accounted = inspector.name == METALSCOPE  # the own share: MetalScope's /metrics
        before = own_share.scrape(inspector.url) if accounted else None
        with py_spy(plan.tools, inspector.pid(), profile):
            processing = asyncio.run(process_all(inspector.url, fleet.machines, concurrency,
                                                 probes))
        after = own_share.scrape(inspector.url) if accounted else None
    result = figures(nodes, start, processing, rss.peak, list_latency(inspector.url))
    if before is not None and after is not None:
        result["own_share"] = own_share.share_between(before, after)
    return result


def run_pair(plan: Plan, fleet: Fleet, concurrency: int, first: str) -> dict[str, Any]:
    """Both inspectors (``first`` first) on fresh rigs; their figures by name."""
    results = {}
    for name in (first, UPSTREAM if first == METALSCOPE else METALSCOPE):
        if plan.only not in (None, name):
            continue
        log(f"N={len(fleet.uuids)} C={concurrency}: {name} ...")
        began = time.monotonic()
        with Rig(name, fleet, plan.tools, WORKDIR / "run") as rig:
            results[name] = measure(plan, rig, fleet, concurrency)
        log(f"  {name}: {results[name]['end_to_end_nodes_per_s']:.1f} nodes/s end to end, "
            f"{time.monotonic() - began:.0f} s with start-up")
    return results


# -- the whole run ------------------------------------------------------------------------------

def machine(tools: Toolchain) -> dict[str, Any]:
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu,
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "ironic": ironic_release(tools.ironic_bin),
            "ironic_inspector": _installed_version(tools.ironic_bin.parent, "ironic_inspector")}


def workload(plan: Plan) -> dict[str, Any]:
    return {"fleet_seed": SEED, "start_concurrency": plan.start_concurrency,
            "manage_boot": False, "processing_hooks": PROCESSING_HOOKS,
            "ironic": "fake-hardware, SQLite, noauth, one process (LocalIronic)",
            "status_poll_interval_s": POLL_INTERVAL}


def _installed_version(venv: Path, dist: str) -> str | None:
    for info in sorted(venv.glob(f"lib*/python*/site-packages/{dist}-*.dist-info")):
        return info.name.removeprefix(f"{dist}-").removesuffix(".dist-info")
    return None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark MetalScope against upstream ironic-inspector, side by side.")
    parser.add_argument("--nodes", type=int, nargs="+", default=[200, 1000], metavar="N")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64], metavar="C",
                        help="ramdisk callbacks in flight (default: 1 16 64)")
    parser.add_argument("--quick", action="store_true", help="smoke run: --nodes "
                        f"{' '.join(map(str, QUICK_NODES))} --concurrency "
                        f"{' '.join(map(str, QUICK_CONCURRENCY))}")
    parser.add_argument("--start-concurrency", type=int, default=START_CONCURRENCY,
                        help="start requests in flight, whatever C (default: %(default)s)")
    parser.add_argument("--only", choices=[METALSCOPE, UPSTREAM],
                        help="run one inspector only (its figures as JSON, no ratios)")
    parser.add_argument("--metalscope-python", type=Path, default=REPO / ".venv" / "bin" / "python",
                        help="the Python that runs MetalScope (default: .venv/bin/python)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record a py-spy profile of each processing phase into DIR "
                             "(pip install py-spy into .venv first)")
    parser.add_argument("--profile-format", choices=["svg", "txt", "json"], default="svg",
                        help="flame graph, folded stacks or speedscope (default: svg)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--show", type=Path, metavar="JSON",
                        help="print the tables of an earlier run's JSON file and exit")
    parser.add_argument("--no-setup", action="store_true", help="do not run scripts/setup")
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.concurrency = QUICK_NODES, QUICK_CONCURRENCY
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    tools = Toolchain(ironic_bin=IRONIC_VENV / "bin", metalscope_python=args.metalscope_python,
                      py_spy=REPO / ".venv" / "bin" / "py-spy")
    profile_dir = args.profile.absolute() if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    return Plan(tools, args.start_concurrency, args.only, profile_dir, args.profile_format)


def show(path: Path) -> None:
    """The tables, ratios and targets of a results file."""
    report = json.loads(path.read_text())
    loads = [" ".join(f"{x:.1f}" for x in report.get(key, [])) for key in
             ("load_average_before", "load_average_after")]
    print(f"{report['command']}\n{report['started_at']}, {report['machine']['cpus']} CPUs "
          f"({report['machine']['cpu']}), load average {loads[0]} before and {loads[1]} after, "
          f"{report.get('duration_s', 0) / 60:.0f} min\n")
    for run in report["runs"]:
        print(table(run["nodes"], run["concurrency"], run) + "\n")
    print(ratio_summary(report["runs"]) + "\n")
    print(side_by_side(report["runs"]) + "\n")
    print(own_share.own_share_text(report["runs"]) + "\n")
    print(targets_text(check_targets(report["runs"])))
    print("\n" + closed_loop_text(report["runs"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show is not None:
        show(args.show)
        return 0
    if not args.no_setup:
        subprocess.run([str(REPO / "scripts" / "setup")], check=True)
    plan, began = make_plan(args), time.monotonic()
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "benchmarks/run.py", *sys.argv[1:]]),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(plan.tools), "workload": workload(plan),
        "load_average_before": os.getloadavg(), "runs": []}
    print(f"{RATIO_LEGEND}\nIntrospection is started {plan.start_concurrency} requests at a time; "
          "C is the number of ramdisk callbacks in flight.\n", flush=True)
    first = METALSCOPE
    for nodes in args.nodes:
        fleet = Fleet(WORKDIR, plan.tools, nodes)
        for concurrency in args.concurrency:
            results = run_pair(plan, fleet, concurrency, first)
            first = UPSTREAM if first == METALSCOPE else METALSCOPE  # alternate who goes first
            if args.only is None:
                report["runs"].append(_run_entry(nodes, concurrency, results))
                print(table(nodes, concurrency, results) + "\n", flush=True)
            else:
                print(json.dumps(results, indent=2), flush=True)
                if METALSCOPE in results:
                    print(own_share.own_share_text([{"nodes": nodes, "concurrency": concurrency,
                                                     **results}]) + "\n", flush=True)
    if args.only is None:
        _finish(report, args.output, time.monotonic() - began)
    return 0


def _run_entry(nodes: int, concurrency: int, results: dict[str, Any]) -> dict[str, Any]:
    ratios = {m.key: ratio(m, results[METALSCOPE][m.key], results[UPSTREAM][m.key])
              for m in METRICS}
    return {"nodes": nodes, "concurrency": concurrency, **results, "ratios": ratios}


def _finish(report: dict[str, Any], output: Path, seconds: float) -> None:
    report["targets"] = check_targets(report["runs"])
    report["load_average_after"] = os.getloadavg()
    report["duration_s"] = round(seconds)
    print(ratio_summary(report["runs"]) + "\n")
    print(own_share.own_share_text(report["runs"]) + "\n")
    print(targets_text(report["targets"]))
    print("\n" + closed_loop_text(report["runs"]))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    log(f"done in {seconds / 60:.1f} min; results in {output}")


if __name__ == "__main__":
    sys.exit(main())
