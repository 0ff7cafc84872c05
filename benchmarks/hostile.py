"""Legitimate ramdisk callbacks while hostile clients attack, MetalScope and upstream
ironic-inspector 12.5.0 side by side.

    .venv/bin/python benchmarks/hostile.py
    .venv/bin/python benchmarks/hostile.py --only metalscope --callbacks 20

For every phase (``quiet``, then one attack at a time: ``header-flood``, ``body-flood``,
``slow-clients``, ``redos-rule``) and each inspector, a fresh Ironic (fake hardware) starts
from an enrolled fleet, the inspector starts against it and introspection starts on every
node. One callback warms the inspector up (not measured); the attack begins; two seconds
later the legitimate ramdisks post their data, four at a time, one attempt each, while
``GET /`` is probed every 0.2 s and the inspector's resident memory is sampled every 0.1 s.
The attack stops when the last legitimate callback has its answer. Every connection goes to
loopback; every attack is bounded in connections, bytes and time (``attacks.py``).

Targets (MetalScope): peak RSS under 512 MiB in every phase, and the legitimate callbacks'
p95 within 2x of the quiet phase. Figures go to stdout and ``benchmarks/results/hostile.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from attacks import (  # noqa: E402
    REDOS_RULE,
    Attack,
    Tally,
    body_flood,
    header_flood,
    redos_callbacks,
    slow_clients,
)
from report import METALSCOPE, UPSTREAM  # noqa: E402
from rig import SEED, Fleet, Rig, Toolchain, log  # noqa: E402
from workload import INSPECTOR_VERSION, PeakRss, start_all  # noqa: E402

from metalscope.simulator import SimulatedNode, ramdisk_data  # noqa: E402

IRONIC_VENV = REPO / ".venv-ironic"
RESULTS = REPO / "benchmarks" / "results" / "hostile.json"
WORKDIR = REPO / ".work" / "benchmarks"
PHASES = ("quiet", "header-flood", "body-flood", "slow-clients", "redos-rule")
HOSTILE_RAMDISKS = 4
LEGIT_CONCURRENCY = 4
RAMP_UP = 2.0
CALLBACK_TIMEOUT = 60.0
PROBE_INTERVAL = 0.2
PROBE_TIMEOUT = 30.0
PHASE_LIMIT = 240.0
RSS_TARGET_MIB = 512
P95_TARGET_RATIO = 2.0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def attack_for(phase: str, hostile: list[SimulatedNode]) -> Attack | None:
    if phase == "header-flood":
        return header_flood()
    if phase == "body-flood":
        return body_flood()
    if phase == "slow-clients":
        return slow_clients()
    if phase == "redos-rule":
        return redos_callbacks([ramdisk_data(machine) for machine in hostile])
    return None


async def _post(client: httpx.AsyncClient, body: bytes) -> tuple[float, int | None]:
    began = time.perf_counter()
    try:
        response = await client.post("/v1/continue", content=body,
                                     headers={"Content-Type": "application/json"})
        status: int | None = response.status_code
    except httpx.HTTPError:
        status = None
    return time.perf_counter() - began, status


async def legit_callbacks(url: str,
                          machines: Sequence[SimulatedNode]) -> list[tuple[float, int | None]]:
    """Each machine's ramdisk posts once, ``LEGIT_CONCURRENCY`` at a time."""
    bodies = iter([json.dumps(ramdisk_data(m)).encode() for m in machines])
    results: list[tuple[float, int | None]] = []
    limits = httpx.Limits(max_connections=LEGIT_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=CALLBACK_TIMEOUT, limits=limits) as client:
        async def worker() -> None:
            for body in bodies:
                results.append(await _post(client, body))
        await asyncio.gather(*(worker() for _ in range(LEGIT_CONCURRENCY)))
    return results


async def probe_root(url: str, stop: asyncio.Event) -> list[float]:
    """``GET /`` every ``PROBE_INTERVAL`` seconds, each on a new connection; the latencies
    (a probe without an answer counts as ``PROBE_TIMEOUT``)."""
    latencies = []
    while not stop.is_set():
        began = time.perf_counter()
        try:
            async with httpx.AsyncClient(base_url=url, timeout=PROBE_TIMEOUT) as client:
                await client.get("/")
            latencies.append(time.perf_counter() - began)
        except httpx.HTTPError:
            latencies.append(PROBE_TIMEOUT)
        await asyncio.sleep(PROBE_INTERVAL)
    return latencies


async def run_phase(url: str, attack: Attack | None, warm_up: SimulatedNode,
                    legit: Sequence[SimulatedNode]) -> dict[str, Any]:
    # One callback first, not measured: the inspector's first one opens its connection to
    # Ironic and negotiates the API version.
    await legit_callbacks(url, [warm_up])
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    stop, done = asyncio.Event(), asyncio.Event()
    attacking = asyncio.ensure_future(attack(host, port, stop)) if attack else None
    await asyncio.sleep(RAMP_UP if attack else 0)
    probing = asyncio.ensure_future(probe_root(url, done))
    began = time.perf_counter()
    results = await legit_callbacks(url, legit)
    seconds = time.perf_counter() - began
    done.set()
    stop.set()
    probes = await probing
    tally: Tally | None = await attacking if attacking else None
    latencies = [latency for latency, status in results if status == 200]
    return {
        "callbacks": len(results),
        "callbacks_ok": len(latencies),
        "callback_statuses": sorted(str(status) for _, status in results if status != 200),
        "callback_p50_s": percentile(latencies, 0.5),
        "callback_p95_s": percentile(latencies, 0.95),
        "callbacks_s": round(seconds, 2),
        "root_p95_s": percentile(probes, 0.95),
        "root_max_s": max(probes, default=None),
        "attack": tally.as_dict() if tally else None,
    }


async def prepare(rig: Rig, uuids: Sequence[str], phase: str) -> None:
    await start_all(rig.inspector.url, uuids, 16, rig.probes())
    if phase == "redos-rule":
        async with httpx.AsyncClient(base_url=rig.inspector.url, headers=INSPECTOR_VERSION,
                                     timeout=60) as client:
            (await client.post("/v1/rules", json=REDOS_RULE)).raise_for_status()


async def final_states(url: str, uuids: Sequence[str]) -> dict[str, int]:
    """How many of ``uuids`` ended in each state, once nothing is in flight (bounded wait)."""
    async with httpx.AsyncClient(base_url=url, headers=INSPECTOR_VERSION, timeout=60) as client:
        deadline = time.monotonic() + 120
        while True:
            states = [(await client.get(f"/v1/introspection/{u}")).json()["state"] for u in uuids]
            if all(s in ("finished", "error", "waiting") for s in states) or \
                    time.monotonic() > deadline:
                return {s: states.count(s) for s in sorted(set(states))}
            await asyncio.sleep(0.5)


def measure(name: str, phase: str, fleet: Fleet, tools: Toolchain,
            legit_count: int) -> dict[str, Any]:
    """One phase of one inspector; the fleet's first machine warms up, the next
    ``legit_count`` are measured, the rest are the hostile ramdisks of ``redos-rule``."""
    warm_up, legit = fleet.machines[0], fleet.machines[1:legit_count + 1]
    hostile = fleet.machines[legit_count + 1:]
    uuids = fleet.uuids if phase == "redos-rule" else fleet.uuids[:legit_count + 1]
    with Rig(name, fleet, tools, WORKDIR / "hostile") as rig:
        asyncio.run(prepare(rig, uuids, phase))
        with PeakRss(rig.inspector.pid()) as rss:
            figures = asyncio.run(asyncio.wait_for(
                run_phase(rig.inspector.url, attack_for(phase, hostile), warm_up, legit),
                PHASE_LIMIT))
        figures["peak_rss_mib"] = round(rss.peak / 2**20, 1)
        figures["legit_final_states"] = asyncio.run(final_states(rig.inspector.url,
                                                                 fleet.uuids[1:legit_count + 1]))
    return figures


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 2) if value is not None and base else None


def summarise(results: dict[str, dict[str, Any]], names: Sequence[str]) -> str:
    lines = [f"{'phase':<13} {'inspector':<10} {'ok':>6} {'p50 s':>7} {'p95 s':>7} "
             f"{'p95/quiet':>9} {'GET / p95':>9} {'GET / max':>9} {'RSS MiB':>8}  attack"]
    for phase in PHASES:
        for name in names:
            figures = results.get(phase, {}).get(name)
            if figures is None:
                continue
            if "failed" in figures:
                lines.append(f"{phase:<13} {name:<10} failed: {figures['failed']}")
                continue
            quiet = results.get("quiet", {}).get(name, {}).get("callback_p95_s")
            cells = [figures["callback_p50_s"], figures["callback_p95_s"]]
            lines.append(
                f"{phase:<13} {name:<10} {figures['callbacks_ok']:>3}/{figures['callbacks']:<2} "
                + " ".join(f"{c:>7.2f}" if c is not None else f"{'-':>7}" for c in cells)
                + f" {_fmt(_ratio(figures['callback_p95_s'], quiet)):>9}"
                f" {_fmt(figures['root_p95_s']):>9} {_fmt(figures['root_max_s']):>9}"
                f" {figures['peak_rss_mib']:>8.0f}  {json.dumps(figures['attack'] or {})}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def check_targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """MetalScope's targets, phase by phase: met or missed, with the figure."""
    checks = []
    quiet = results.get("quiet", {}).get(METALSCOPE, {}).get("callback_p95_s")
    for phase in PHASES:
        figures = results.get(phase, {}).get(METALSCOPE)
        if figures is None:
            continue
        if "failed" in figures:
            checks.append({"phase": phase, "target": "the phase completes",
                           "value": figures["failed"], "met": False})
            continue
        checks.append({"phase": phase, "target": f"peak RSS < {RSS_TARGET_MIB} MiB",
                       "value": figures["peak_rss_mib"],
                       "met": figures["peak_rss_mib"] < RSS_TARGET_MIB})
        if phase != "quiet":
            ratio = _ratio(figures["callback_p95_s"], quiet)
            complete = figures["callbacks_ok"] == figures["callbacks"]
            checks.append({"phase": phase, "target": f"callback p95 <= {P95_TARGET_RATIO}x quiet, "
                                                     "every callback answered 200",
                           "value": ratio, "met": complete and ratio is not None
                           and ratio <= P95_TARGET_RATIO})
    return checks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=[METALSCOPE, UPSTREAM])
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--callbacks", type=int, default=40,
                        help="legitimate callbacks per phase (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-setup", action="store_true", help="do not run scripts/setup")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.no_setup:
        subprocess.run([str(REPO / "scripts" / "setup")], check=True)
    tools = Toolchain(ironic_bin=IRONIC_VENV / "bin",
                      metalscope_python=REPO / ".venv" / "bin" / "python",
                      py_spy=REPO / ".venv" / "bin" / "py-spy")
    fleet = Fleet(WORKDIR, tools, 1 + args.callbacks + HOSTILE_RAMDISKS)
    names = [n for n in (METALSCOPE, UPSTREAM) if args.only in (None, n)]
    began = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    phases = ["quiet", *[p for p in args.phases if p != "quiet"]]
    for phase in phases:
        for name in names:
            log(f"{phase}: {name} ...")
            try:
                figures = measure(name, phase, fleet, tools, args.callbacks)
            except Exception as exc:  # the inspector gave way: that is a result too
                figures = {"failed": f"{type(exc).__name__}: {exc}"}
            results.setdefault(phase, {})[name] = figures
            log(f"  {json.dumps(figures)}")
    text = summarise(results, names)
    targets = check_targets(results)
    print(text + "\n")
    for check in targets:
        print(f"{'MET   ' if check['met'] else 'MISSED'} {check['phase']:<13} "
              f"{check['target']}: {check['value']}")
    report = {"command": " ".join([".venv/bin/python", "benchmarks/hostile.py", *sys.argv[1:]]),
              "started_at": datetime.datetime.now(datetime.UTC).isoformat(
                  timespec="seconds"),
              "cpus": os.cpu_count(), "fleet_seed": SEED, "legit_callbacks": args.callbacks,
              "duration_s": round(time.monotonic() - began), "phases": results,
              "targets": targets, "table": text}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    log(f"done in {(time.monotonic() - began) / 60:.1f} min; results in {args.output}")
    return 0 if all(check["met"] for check in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
