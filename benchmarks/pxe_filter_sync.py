"""PXE filter sync cost: MetalScope's incremental drivers beside upstream's algorithms.

Scenario: a fleet of N Ironic ports (one per node), 0.5% of them under introspection. Then
those introspections end and another 0.5% start: 1% of the ports change verdict. Measured:

* upstream: one sync after the change, with upstream's algorithm as spec section 8 describes it
  (reproduced here, not copied): dnsmasq re-reads the whole directory and rewrites the files
  that differ; iptables rebuilds the whole chain in a temporary chain, one process per rule,
  and swaps it in (any change of the sets triggers the rebuild).
* MetalScope, reconcile: one ``reconcile()`` after the change with no ``allow``/``deny`` calls
  (what a ``metalscope pxe-filter`` process does).
* MetalScope, allow/deny: the ``allow``/``deny`` calls the service makes as each
  introspection starts and ends (one per changed node), then the periodic reconcile.

Both approaches get the same in-memory port list: the Ironic call that lists all ports, made
by both at every sync, is not part of the measurement. iptables runs for real in a network
namespace when possible (root); upstream's 100,000-port rebuild is not: 100,000 real processes
take minutes, so it runs against a simulated iptables that counts processes, and its time is
estimated from the per-process cost measured at 10,000.

Usage: ``.venv/bin/python benchmarks/pxe_filter_sync.py [--sizes 10000,100000] [--dry-run]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metalscope.pxe_filter.dnsmasq import (
    UNKNOWN_HOSTS,
    WILDCARD,
    HostsDir,
    entry_text,
    verdict_from_size,
    write_locked,
)
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.pxe_filter.iptables import Chain, ChainConfig
from metalscope.pxe_filter.policy import Verdict
from metalscope.pxe_filter.processes import CommandRunner, Completed, run_command
from metalscope.settings import Settings, load_settings
from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository

CHANGE = 0.01
#: Introspection starts and ends timed one by one (a real iptables deletion in a 100,000-rule
#: chain takes about half a second, so not all 1,000 of them).
EVENTS = 100


@dataclass
class Row:
    table: str          # "sync": one sync after the 1% change; "event": one start or end
    driver: str
    ports: int
    approach: str
    seconds: float
    work: float         # files written (dnsmasq) or processes run (iptables)
    reads: int | str = ""
    estimated: bool = False


# -- the fleet -----------------------------------------------------------------------------------
def fleet_macs(count: int) -> list[str]:
    return [f"52:54:{(i >> 24) & 0xFF:02x}:{(i >> 16) & 0xFF:02x}:{(i >> 8) & 0xFF:02x}:"
            f"{i & 0xFF:02x}" for i in range(count)]


class FleetIronic:
    def __init__(self, macs: Sequence[str]) -> None:
        self.ports = [{"address": m, "extra": {}} for m in macs]

    async def list_ports(self, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return self.ports


def node_uuid(index: int) -> str:
    return f"00000000-0000-4000-8000-{index:012d}"


class Introspections:
    """Introspection records in a real SQLite database, one node per MAC."""

    def __init__(self, repo: Repository, macs: Sequence[str]) -> None:
        self.repo = repo
        self.index = {mac: i for i, mac in enumerate(macs)}

    async def start(self, mac: str) -> None:
        uuid = node_uuid(self.index[mac])
        previous = await self.repo.get_node(uuid)
        await self.repo.start_introspection(uuid, False, [], previous)
        await self.repo.add_attributes(uuid, "mac", [mac])

    async def end(self, mac: str) -> None:
        record = await self.repo.get_node(node_uuid(self.index[mac]))
        assert record is not None
        await self.repo.transition(record, Event.ERROR, error="done")


async def make_repo(path: Path) -> Repository:
    url = f"sqlite:///{path}"
    await asyncio.to_thread(migrate.upgrade, url)
    return Repository(create_engine(url))


def settings_for(driver: str, **sections: dict[str, Any]) -> Settings:
    return load_settings(overrides={"pxe_filter": {"driver": driver}, **sections})


# -- upstream's algorithms, from the spec's description -----------------------------------------
def upstream_dnsmasq_sync(hostsdir: Path, ports: list[dict[str, Any]], active: set[str],
                          busy: bool) -> tuple[int, int]:
    """Spec 8.7 sync: list, re-read the directory (sizes), rewrite what differs.

    Returns (files written, files read).
    """
    ironic = {p["address"] for p in ports}
    active = active & ironic
    allowed: set[str] = set()
    denied: set[str] = set()
    wildcard_size = -1
    reads = 0
    with os.scandir(hostsdir) as entries:
        for entry in entries:
            reads += 1
            size = entry.stat().st_size
            if entry.name == UNKNOWN_HOSTS:
                wildcard_size = size
            elif size == 18:
                allowed.add(entry.name)
            elif size == 25:
                denied.add(entry.name)
    removed = (denied | allowed) - ironic
    writes = 0
    for mac in active - allowed:
        writes += write_locked(hostsdir / mac, entry_text(mac, Verdict.ALLOW))
    for mac in ironic - denied - active:
        writes += write_locked(hostsdir / mac, entry_text(mac, Verdict.DENY))
    unknown = Verdict.ALLOW if busy else Verdict.DENY
    if verdict_from_size(WILDCARD, wildcard_size) is not unknown:
        writes += write_locked(hostsdir / UNKNOWN_HOSTS, entry_text(WILDCARD, unknown))
    for mac in removed:
        if (mac in allowed) != (unknown is Verdict.ALLOW):
            writes += write_locked(hostsdir / mac, entry_text(mac, unknown))
    return writes, reads


async def upstream_iptables_sync(run: CommandRunner, chain: str, interface: str,
                                 ports: list[dict[str, Any]], active: set[str],
                                 last: set[str] | None) -> tuple[int, set[str]]:
    """Spec 8.6 sync (default policy, introspection active): rebuild when the deny set moved.

    Returns (processes run, the deny set applied).
    """
    deny = {p["address"] for p in ports} - active
    if deny == last:
        return 0, deny
    temp = f"{chain}_temp"
    commands: list[list[str]] = []
    commands += _upstream_clean_up(temp, interface)
    commands.append(["-N", temp])
    commands += [["-A", temp, "-m", "mac", "--mac-source", mac, "-j", "DROP"] for mac in deny]
    commands.append(["-A", temp, "-j", "ACCEPT"])
    commands.append(["-I", *_jump(interface, temp)])
    commands += _upstream_clean_up(chain, interface)
    commands.append(["-E", temp, chain])
    for args in commands:
        await run(["iptables", "-w", *args])
    return len(commands), deny


def _jump(interface: str, chain: str) -> list[str]:
    return ["INPUT", "-i", interface, "-p", "udp", "--dport", "67", "-j", chain]


def _upstream_clean_up(chain: str, interface: str) -> list[list[str]]:
    return [["-D", *_jump(interface, chain)], ["-F", chain], ["-X", chain]]


# -- command runners -----------------------------------------------------------------------------
class Counting:
    """Wraps a runner and counts the processes it starts."""

    def __init__(self, run: CommandRunner) -> None:
        self.run = run
        self.count = 0

    async def __call__(self, argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        self.count += 1
        return await self.run(argv, stdin)


def netns_runner(name: str) -> CommandRunner:
    """Runs commands in the namespace; nsenter costs less per process than ``ip netns exec``
    (which also remounts /sys), so the process count dominates as it would on a host."""
    async def run(argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        return await run_command(["nsenter", f"--net=/var/run/netns/{name}", *argv], stdin)
    return run


class SimulatedIptables:
    """Enough of iptables' filter table for both approaches (dry runs): per chain, its rules in
    order (an OrderedDict, so inserting at the top and deleting a rule are O(1))."""

    def __init__(self) -> None:
        self.chains: dict[str, OrderedDict[str, None]] = {"INPUT": OrderedDict()}

    async def __call__(self, argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        args = [a for a in argv[1:] if a not in ("-w", "--noflush")]
        if stdin is not None:
            lines = [line.split() for line in stdin.decode().splitlines()]
            ok = all(self._one(words) for words in lines if words and words[0][0] == "-")
        else:
            ok = self._one(args)
        output = self._listing(args[1]) if ok and args[:1] == ["-S"] else ""
        return Completed(tuple(argv), 0 if ok else 1, output)

    def _listing(self, chain: str) -> str:
        return "".join([f"-N {chain}\n", *(f"-A {chain} {r}\n" for r in self.chains[chain])])

    def _one(self, args: list[str]) -> bool:
        op, chain = args[0], args[1] if len(args) > 1 else ""
        rules = self.chains.get(chain)
        if op == "-h":
            return True
        if op == "-N":
            return rules is None and self.chains.setdefault(chain, OrderedDict()) == {}
        if rules is None:
            return False
        if op == "-F":
            rules.clear()
        elif op == "-X":
            del self.chains[chain]
        elif op == "-E":
            self.chains[args[2]] = self.chains.pop(chain)
        elif op == "-A":
            rules[" ".join(args[2:])] = None
        elif op == "-I":
            rule = " ".join(args[3:] if args[2].isdigit() else args[2:])
            rules[rule] = None
            rules.move_to_end(rule, last=False)
        elif op in ("-D", "-C"):
            rule = " ".join(args[2:])
            if rule not in rules:
                return False
            if op == "-D":
                del rules[rule]
        return True


# -- measurements --------------------------------------------------------------------------------
class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    async def time(self, coro: Any) -> None:
        started = time.perf_counter()
        await coro
        self.seconds += time.perf_counter() - started
        self.calls += 1


async def move_introspections(nodes: Introspections, pxe: DiffFilter | None,
                              ending: Sequence[str], starting: Sequence[str]) -> Timer:
    """End and start introspections; with ``pxe``, make the calls the service makes (timed)."""
    timer = Timer()
    for ended, begun in zip(ending, starting, strict=True):
        await nodes.end(ended)
        if pxe is not None:
            await timer.time(pxe.deny({ended}))
        await nodes.start(begun)
        if pxe is not None:
            await timer.time(pxe.allow({begun}))
    return timer


def split(macs: list[str]) -> tuple[list[str], list[str], str]:
    """Under introspection before, after (0.5% each: 1% change verdict), one more MAC."""
    half = max(1, int(len(macs) * CHANGE / 2))
    return macs[:half], macs[half:2 * half], macs[2 * half]


async def bench_dnsmasq(count: int, workdir: Path) -> list[Row]:
    macs = fleet_macs(count)
    before, after, extra = split(macs)
    ironic = FleetIronic(macs)
    repo = await make_repo(workdir / "dnsmasq.sqlite")
    nodes = Introspections(repo, macs)
    for mac in before:
        await nodes.start(mac)
    ours = workdir / "hosts-metalscope"
    settings = settings_for("dnsmasq", dnsmasq_pxe_filter={"dhcp_hostsdir": str(ours)})
    backend = HostsDir(ours)
    pxe = DiffFilter(backend, settings, repo, ironic)  # type: ignore[arg-type]
    await pxe.start()
    rows = []

    await move_introspections(nodes, None, before, after)
    written = backend.files_written
    timer = Timer()
    await timer.time(pxe.reconcile())
    rows.append(Row("sync", "dnsmasq", count, "MetalScope reconcile", timer.seconds,
                    backend.files_written - written, 0))

    written = backend.files_written
    timer = await move_introspections(nodes, pxe, after[:EVENTS], before[:EVENTS])
    rows.append(Row("event", "dnsmasq", count, "MetalScope allow/deny", timer.seconds / timer.calls,
                    (backend.files_written - written) / timer.calls, 0))
    written, timer = backend.files_written, Timer()
    await timer.time(pxe.reconcile())
    rows.append(Row("event", "dnsmasq", count, "MetalScope reconcile after them", timer.seconds,
                    backend.files_written - written, 0))
    await pxe.stop()
    await repo.engine.dispose()

    theirs = workdir / "hosts-upstream"
    theirs.mkdir()
    upstream_dnsmasq_sync(theirs, ironic.ports, set(before), True)
    started = time.perf_counter()
    writes, reads = upstream_dnsmasq_sync(theirs, ironic.ports, set(after), True)
    rows.append(Row("sync", "dnsmasq", count, "upstream sync", time.perf_counter() - started,
                    writes, reads))
    started = time.perf_counter()
    writes, reads = upstream_dnsmasq_sync(theirs, ironic.ports, set(after) | {extra}, True)
    rows.append(Row("event", "dnsmasq", count, "upstream sync", time.perf_counter() - started,
                    writes, reads))
    return rows


async def bench_iptables(count: int, workdir: Path, real: bool,
                         per_process: float | None) -> tuple[list[Row], float | None]:
    macs = fleet_macs(count)
    before, after, _ = split(macs)
    ironic = FleetIronic(macs)
    repo = await make_repo(workdir / f"iptables-{count}.sqlite")
    nodes = Introspections(repo, macs)
    for mac in before:
        await nodes.start(mac)
    rows = []
    async with Namespace(real, f"msbo{os.getpid() % 10000}") as ours_run:
        runner = Counting(ours_run)
        chain = Chain(ChainConfig(), run=runner)
        pxe = DiffFilter(chain, settings_for("iptables"), repo, ironic)  # type: ignore[arg-type]
        await pxe.start()
        await move_introspections(nodes, None, before, after)
        runner.count, timer = 0, Timer()
        await timer.time(pxe.reconcile())
        rows.append(Row("sync", "iptables", count, "MetalScope reconcile", timer.seconds,
                        runner.count))
        runner.count = 0
        timer = await move_introspections(nodes, pxe, after[:EVENTS], before[:EVENTS])
        rows.append(Row("event", "iptables", count, "MetalScope allow/deny",
                        timer.seconds / timer.calls, runner.count / timer.calls))
        runner.count, timer = 0, Timer()
        await timer.time(pxe.reconcile())
        rows.append(Row("event", "iptables", count, "MetalScope reconcile after them",
                        timer.seconds, runner.count))
        await pxe.stop()
    await repo.engine.dispose()

    upstream_real = real and per_process is None
    async with Namespace(upstream_real, f"msbu{os.getpid() % 10000}") as theirs_run:
        runner = Counting(theirs_run)
        await _prefill_upstream_chain(theirs_run, ironic.ports, set(before))
        started = time.perf_counter()
        processes, _ = await upstream_iptables_sync(runner, "ironic-inspector", "br-ctlplane",
                                                    ironic.ports, set(after), None)
        seconds = time.perf_counter() - started
    estimated = not upstream_real and per_process is not None
    if upstream_real:
        per_process = seconds / processes
    elif per_process is not None:
        seconds = processes * per_process
    label = "upstream rebuild" + ("" if upstream_real else " (dry run)")
    for table in ("sync", "event"):  # any change of the deny set rebuilds the whole chain
        rows.append(Row(table, "iptables", count, label, seconds, processes,
                        estimated=estimated))
    return rows, per_process


async def _prefill_upstream_chain(run: CommandRunner, ports: list[dict[str, Any]],
                                  active: set[str]) -> None:
    """Upstream's chain after its previous sync, loaded in one batch (setup, not measured)."""
    deny = sorted({p["address"] for p in ports} - active)
    lines = ["-N ironic-inspector",
             *(f"-A ironic-inspector -m mac --mac-source {m} -j DROP" for m in deny),
             "-A ironic-inspector -j ACCEPT",
             "-I INPUT -i br-ctlplane -p udp --dport 67 -j ironic-inspector"]
    text = "*filter\n" + "\n".join(lines) + "\nCOMMIT\n"
    result = await run(["iptables-restore", "-w", "--noflush"], text.encode())
    assert result.ok, result.stderr


class Namespace:
    """A network namespace whose iptables the runner drives (or a simulated iptables)."""

    def __init__(self, real: bool, name: str) -> None:
        self.real, self.name = real, name

    async def __aenter__(self) -> CommandRunner:
        if not self.real:
            return SimulatedIptables()
        await asyncio.to_thread(subprocess.run, ["ip", "netns", "add", self.name], check=True,
                                capture_output=True)
        return netns_runner(self.name)

    async def __aexit__(self, *exc: object) -> None:
        if self.real:
            await asyncio.to_thread(subprocess.run, ["ip", "netns", "del", self.name],
                                    capture_output=True)


def namespaces_available() -> bool:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "nsenter", "iptables")):
        return False
    probe = f"msbp{os.getpid() % 10000}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True


# -- report ---------------------------------------------------------------------------------------
def print_table(rows: list[Row], table: str, work: str, with_reads: bool) -> None:
    header = ["ports", "approach", "time", work] + (["files read"] if with_reads else []) + \
             ["time ratio", f"{work} ratio"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        if row.table != table or (row.driver == "dnsmasq") != with_reads:
            continue
        base = next(r for r in rows if r.approach.startswith("upstream")
                    and (r.table, r.driver, r.ports) == (table, row.driver, row.ports))
        cells = [f"{row.ports:,}", row.approach,
                 ("~" if row.estimated else "") + _duration(row.seconds), _number(row.work)]
        if with_reads:
            cells.append(_number(row.reads) if isinstance(row.reads, int) else row.reads)
        if row is base:
            cells += ["1", "1"]
        else:
            cells += [_ratio(base.seconds, row.seconds, "faster"),
                      _ratio(base.work, row.work, "fewer") if row.work else "none"]
        print("| " + " | ".join(cells) + " |")
    print()


def _ratio(base: float, value: float, word: str) -> str:
    ratio = base / value
    if 0.95 <= ratio <= 1.05:
        return "same"
    return f"{ratio:,.0f}× {word}" if ratio >= 10 else f"{ratio:.1f}× {word}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) or value >= 100 else f"{value:.2f}"


def _duration(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


async def main(sizes: list[int], dry_run: bool) -> None:
    real = not dry_run and namespaces_available()
    rows: list[Row] = []
    per_process: float | None = None
    with tempfile.TemporaryDirectory(prefix="pxe-bench-") as tmp:
        for count in sorted(sizes):
            workdir = Path(tmp) / str(count)
            workdir.mkdir()
            print(f"dnsmasq, {count:,} ports ...", file=sys.stderr)
            rows += await bench_dnsmasq(count, workdir)
            print(f"iptables, {count:,} ports ...", file=sys.stderr)
            ipt_rows, per_process = await bench_iptables(
                count, workdir, real, per_process if count > 10_000 else None)
            rows += ipt_rows
    mode = ("real iptables in a network namespace" if real else
            "simulated iptables: processes counted, times are Python-side only")
    print(f"One sync after {CHANGE:.0%} of the ports changed verdict (iptables: {mode}).\n")
    print("dnsmasq (files read: directory entries stat'ed):\n")
    print_table(rows, "sync", "files written", True)
    print("iptables:\n")
    print_table(rows, "sync", "processes", False)
    print(f"Per introspection start or end: MetalScope's allow/deny call (average over "
          f"{EVENTS} ends and {EVENTS} starts) beside the full sync upstream runs at each "
          f"(spec 8.3), and MetalScope's periodic reconcile after those calls.\n")
    print("dnsmasq:\n")
    print_table(rows, "event", "files written", True)
    print("iptables:\n")
    print_table(rows, "event", "processes", False)
    if any(r.estimated for r in rows):
        print(f"~ upstream at more than 10,000 ports: dry run against a simulated iptables "
              f"(100,000 real processes take minutes); time = processes × the per-process time "
              f"measured at 10,000 ({(per_process or 0) * 1000:.1f} ms).")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="comma-separated fleet sizes (default: 10000,100000)")
    parser.add_argument("--dry-run", action="store_true",
                        help="simulate iptables even when network namespaces are available")
    options = parser.parse_args()
    asyncio.run(main([int(s) for s in options.sizes.split(",")], options.dry_run))
