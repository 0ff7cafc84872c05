"""What an idle inspector costs Ironic, at 10,000 and 100,000 enrolled nodes.

    .venv/bin/python benchmarks/idle_cost.py --sizes 10000 100000 --warmup 60 --window 300
    .venv/bin/python benchmarks/idle_cost.py --dry-run        # the plan and the configuration
    .venv/bin/python benchmarks/idle_cost.py --show benchmarks/results/idle_cost-before.json

For each size N: N ``fake-hardware`` nodes with one port each are written straight into a real
Ironic's SQLite database (``ironic_population.py``) and N finished introspection records with
stored data into both inspectors' databases (``introspection_records.py``; kept between runs
in ``.work/idle_cost``). One Ironic (API and conductor in one process, SQLite, noauth, its
periodic tasks off) starts from that database, and then each service in turn runs idle
against it with the same configuration file (``idle_services.py``) and default periods:

* ``baseline``: Ironic alone;
* ``upstream`` / ``metalscope``: ironic-inspector 12.5.0 / MetalScope, PXE filter ``dnsmasq``
  (hosts directory, no dnsmasq process);
* ``upstream-noop`` / ``metalscope-noop``: the same with the ``noop`` PXE filter.

Each service gets a fresh copy of its database, a warm-up, then a measurement window. The
service reaches Ironic through ``counting_proxy.py`` (requests and response bytes per call);
Ironic's own request log counts the same requests as a cross-check. CPU seconds (user +
system) and RSS come from ``/proc`` for each process tree (``proc_stats.py``). Figures are per
minute of the window; Ironic's CPU is given raw and minus the baseline's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import introspection_records  # noqa: E402
import ironic_population  # noqa: E402
from counting_proxy import CountingProxy, Tally, difference, total  # noqa: E402
from idle_services import IdleService, ServiceSpec, config_sections  # noqa: E402
from ironic_calls import count_calls  # noqa: E402
from proc_stats import tree_cpu_seconds, tree_rss_bytes  # noqa: E402

from metalscope.testing.ironic import LocalIronic, ironic_release  # noqa: E402
from metalscope.testing.service import render_config  # noqa: E402

SERVICES = ("baseline", "upstream", "metalscope", "upstream-noop", "metalscope-noop")
IRONIC_BIN = REPO / ".venv-ironic" / "bin"
PYTHON = REPO / ".venv" / "bin" / "python"
WORKDIR = REPO / ".work" / "idle_cost"
RESULTS = REPO / "benchmarks" / "results" / "idle_cost.json"
IRONIC_START_TIMEOUT = 900.0
RSS_SAMPLE = 5.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- arithmetic --------------------------------------------------------------------------------

def per_minute(amount: float, seconds: float) -> float:
    """``amount`` counted over ``seconds``, as a rate per minute."""
    if seconds <= 0:
        raise ValueError("a window must last longer than 0 s")
    return amount * 60.0 / seconds


@dataclass(frozen=True)
class Snapshot:
    """Counters read at one moment of a run."""

    at: float  # time.monotonic()
    calls: Mapping[str, Tally]
    ironic_cpu: float
    service_cpu: float | None


@dataclass(frozen=True)
class Figures:
    """One service's window, per minute (RSS: the largest sample of the window)."""

    window_s: float
    requests_per_min: float
    kib_per_min: float
    ironic_cpu_per_min: float
    service_cpu_per_min: float | None
    rss_mib: float | None
    by_call_per_min: dict[str, dict[str, float]]


def window_figures(before: Snapshot, after: Snapshot, rss_bytes: int | None) -> Figures:
    seconds = after.at - before.at
    calls = difference(after.calls, before.calls)
    overall = total(calls)
    service_cpu = None
    if before.service_cpu is not None and after.service_cpu is not None:
        service_cpu = per_minute(after.service_cpu - before.service_cpu, seconds)
    return Figures(
        window_s=round(seconds, 1),
        requests_per_min=per_minute(overall.requests, seconds),
        kib_per_min=per_minute(overall.response_bytes, seconds) / 1024,
        ironic_cpu_per_min=per_minute(after.ironic_cpu - before.ironic_cpu, seconds),
        service_cpu_per_min=service_cpu,
        rss_mib=None if rss_bytes is None else rss_bytes / (1 << 20),
        by_call_per_min={name: {"requests": per_minute(tally.requests, seconds),
                                "kib": per_minute(tally.response_bytes, seconds) / 1024}
                         for name, tally in sorted(calls.items())},
    )


def minus_baseline(value: float, baseline: float | None) -> float | None:
    return None if baseline is None else value - baseline


def ratio(upstream: float | None, metalscope: float | None) -> float | None:
    """How many times less MetalScope costs (None when a side is missing or zero)."""
    if upstream is None or metalscope is None or metalscope <= 0:
        return None
    return upstream / metalscope


# -- preparation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """The databases of one size, kept between runs."""

    nodes: int
    ironic_cache_dir: Path  # holds ironic-schema-<release>.sqlite, as LocalIronic expects
    records: introspection_records.RecordDatabases


def prepare(size: int, workdir: Path, ironic_bin: Path, python: Path) -> Prepared:
    release = ironic_release(ironic_bin) or "unknown"
    size_dir = workdir / f"n{size}"
    cache_dir = size_dir / "ironic"
    fleet = cache_dir / f"ironic-schema-{release}.sqlite"
    records_dir = size_dir / "records"
    done = size_dir / "prepared"
    if not done.exists():
        shutil.rmtree(size_dir, ignore_errors=True)
        began = time.monotonic()
        ironic_population.build(ironic_bin, fleet, size,
                                schema_cache=workdir / f"ironic-empty-{release}.sqlite")
        log(f"{size} nodes written into Ironic's database in {time.monotonic() - began:.0f} s")
        began = time.monotonic()
        introspection_records.build(records_dir, size, ironic_bin, python)
        log(f"{size} records written into both inspectors' databases in "
            f"{time.monotonic() - began:.0f} s")
        done.write_text("ok\n")
    return Prepared(size, cache_dir, introspection_records.RecordDatabases(
        records_dir / "metalscope.sqlite", records_dir / "upstream.sqlite"))


# -- one run -----------------------------------------------------------------------------------

def logged_calls(log_file: Path, start: int, end: int) -> dict[str, Any]:
    """The requests Ironic logged between two sizes of its log (whole lines)."""
    with log_file.open("rb") as opened:
        opened.seek(start)
        text = opened.read(end - start)
    return count_calls(text[:text.rfind(b"\n") + 1])


def snapshot(proxy: CountingProxy, ironic_pid: int, service_pid: int | None) -> Snapshot:
    return Snapshot(time.monotonic(), proxy.counts.snapshot(), tree_cpu_seconds(ironic_pid),
                    None if service_pid is None else tree_cpu_seconds(service_pid))


def measure(name: str, proxy: CountingProxy, ironic: LocalIronic, service: IdleService | None,
            warmup: float, window: float) -> dict[str, Any]:
    assert ironic.process is not None
    ironic_pid = ironic.process.pid
    service_pid = None if service is None else service.pid()
    time.sleep(warmup)
    log_start = ironic.log_file.stat().st_size
    load_before = os.getloadavg()
    before = snapshot(proxy, ironic_pid, service_pid)
    rss_peak = 0
    end = before.at + window
    while (now := time.monotonic()) < end:
        time.sleep(min(RSS_SAMPLE, end - now))
        if service is not None:
            if not service.alive():
                raise RuntimeError(f"{name} died during the window:\n{service.log_tail()}")
            rss_peak = max(rss_peak, tree_rss_bytes(service_pid or 0))
    after = snapshot(proxy, ironic_pid, service_pid)
    logged = logged_calls(ironic.log_file, log_start, ironic.log_file.stat().st_size)
    figures = window_figures(before, after, rss_peak if service is not None else None)
    return {**asdict(figures), "warmup_s": warmup,
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "ironic_log_requests": logged["total"],
            "ironic_log_requests_per_min": per_minute(logged["total"], after.at - before.at),
            "ironic_rss_mib": tree_rss_bytes(ironic_pid) / (1 << 20)}


ATTEMPTS = 2


def discard(folder: Path) -> None:
    """Move ``folder`` aside and delete it in the background: a hosts directory of 100,000
    files takes minutes to delete on a busy disk."""
    trash = folder.parent.parent / "trash" / f"{folder.name}-{time.monotonic_ns()}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    folder.rename(trash)
    threading.Thread(target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True},
                     name=f"discard-{folder.name}").start()


def run_service(name: str, prepared: Prepared, run_dir: Path, proxy: CountingProxy,
                ironic: LocalIronic, warmup: float, window: float, ironic_bin: Path,
                python: Path, source: Path) -> dict[str, Any]:
    """One service's warm-up and window (``baseline``: Ironic alone). Its folder, with the
    database copy, is removed afterwards; its logs are kept in ``failed/`` when it failed."""
    if name == "baseline":
        return {**measure(name, proxy, ironic, None, warmup, window), "start_s": None}
    spec = ServiceSpec(name)
    service_dir = run_dir / name
    shutil.rmtree(service_dir, ignore_errors=True)
    service_dir.mkdir(parents=True)
    service = IdleService(spec, service_dir, proxy.url, ironic_bin, python, source)
    shutil.copyfile(prepared.records.upstream if spec.program == "upstream"
                    else prepared.records.metalscope, service.database)
    if spec.program == "metalscope":  # the schema of the code measured (not measured)
        began = time.monotonic()
        introspection_records.create_metalscope_schema(python, service.database, source)
        log(f"metalscope db upgrade of the copy: {time.monotonic() - began:.1f} s")
    failed = True
    try:
        started = service.start()
        log(f"{name} answered after {started:.1f} s")
        result = measure(name, proxy, ironic, service, warmup, window)
        failed = False
    finally:
        errors = service.errors_logged()
        service.stop()
        if failed:
            kept = run_dir.parent / "failed" / f"n{prepared.nodes}-{name}-{int(time.time())}"
            kept.mkdir(parents=True, exist_ok=True)
            for log_name in ("service.log", "console.log", "inspector.conf"):
                if (service_dir / log_name).exists():
                    shutil.copy(service_dir / log_name, kept / log_name)
            log(f"{name} failed; its logs are in {kept}")
        discard(service_dir)
    return {**result, "start_s": round(started, 1), "errors_logged": errors}


def run_size(prepared: Prepared, services: Sequence[str], warmup: float, window: float,
             workdir: Path, ironic_bin: Path, python: Path,
             results: dict[str, dict[str, Any]], save: Any, source: Path = REPO) -> None:
    """Fill ``results`` service by service, calling ``save()`` after each. A service that
    fails (to start, or during its window) is tried once more, then recorded as failed."""
    run_dir = workdir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    ironic = LocalIronic(run_dir / "ironic", ironic_bin, schema_cache_dir=prepared.ironic_cache_dir)
    began = time.monotonic()
    ironic.start(timeout=IRONIC_START_TIMEOUT)
    log(f"Ironic with {prepared.nodes} nodes answered after {time.monotonic() - began:.0f} s")
    proxy = CountingProxy("127.0.0.1", ironic.port).start()
    try:
        for name in services:
            errors_before = len(proxy.errors())
            for attempt in range(1, ATTEMPTS + 1):
                log(f"N={prepared.nodes} {name}: warm-up {warmup:.0f} s, window {window:.0f} s")
                try:
                    result = run_service(name, prepared, run_dir, proxy, ironic, warmup,
                                         window, ironic_bin, python, source)
                except RuntimeError as exc:
                    log(f"N={prepared.nodes} {name} attempt {attempt} failed: "
                        f"{str(exc).splitlines()[0]}")
                    result = {"failed": str(exc).splitlines()[0]}
                    continue
                result["attempt"] = attempt
                log(f"N={prepared.nodes} {name}: {summary_line(result)}")
                break
            result["proxy_errors"] = proxy.errors()[errors_before:]
            results[name] = result
            save()
    finally:
        proxy.stop()
        ironic.stop()


def summary_line(result: Mapping[str, Any]) -> str:
    service_cpu = result.get("service_cpu_per_min")
    rss = result.get("rss_mib")
    return (f"{result['requests_per_min']:.1f} req/min ({result['ironic_log_requests']} in "
            f"Ironic's log), {result['kib_per_min']:.0f} KiB/min, Ironic "
            f"{result['ironic_cpu_per_min']:.2f} CPU-s/min, service "
            + ("-" if service_cpu is None else f"{service_cpu:.2f} CPU-s/min")
            + ("" if rss is None else f", {rss:.0f} MiB") + f", load {result['load_after'][0]}")


# -- report ------------------------------------------------------------------------------------

_LABELS = {"baseline": "Ironic alone", "upstream": "upstream 12.5.0, dnsmasq",
           "metalscope": "MetalScope, dnsmasq", "upstream-noop": "upstream 12.5.0, noop",
           "metalscope-noop": "MetalScope, noop"}


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def table(sizes: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Markdown: one row per size and service."""
    rows = ["| nodes | service, PXE filter | Ironic requests/min | KiB read from Ironic/min | "
            "Ironic CPU-s/min (minus Ironic alone) | service CPU-s/min | RSS MiB | load avg |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size, services in sizes.items():
        baseline = services.get("baseline", {}).get("ironic_cpu_per_min")
        for name, result in services.items():
            if "failed" in result:
                rows.append(f"| {int(size):,} | {_LABELS.get(name, name)} | failed: "
                            f"{result['failed'][:60]} | | | | | |")
                continue
            cpu = result["ironic_cpu_per_min"]
            extra = minus_baseline(cpu, baseline) if name != "baseline" else None
            rows.append(
                f"| {int(size):,} | {_LABELS.get(name, name)} | "
                f"{_number(result['requests_per_min'], 1)} | {_number(result['kib_per_min'], 0)} | "
                f"{_number(cpu, 2)}" + ("" if extra is None else f" ({extra:+.2f})") + " | "
                f"{_number(result.get('service_cpu_per_min'), 2)} | "
                f"{_number(result.get('rss_mib'), 0)} | {result['load_after'][0]:.1f} |")
    return "\n".join(rows)


def ratios(services: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """upstream / MetalScope per figure (Ironic CPU minus the baseline), PXE filter dnsmasq."""
    upstream, metalscope = services.get("upstream"), services.get("metalscope")
    if upstream is None or metalscope is None or "failed" in upstream or "failed" in metalscope:
        return {}
    baseline = services.get("baseline", {}).get("ironic_cpu_per_min")
    return {
        "requests": ratio(upstream["requests_per_min"], metalscope["requests_per_min"]),
        "kib": ratio(upstream["kib_per_min"], metalscope["kib_per_min"]),
        "ironic_cpu_minus_baseline": ratio(
            minus_baseline(upstream["ironic_cpu_per_min"], baseline),
            minus_baseline(metalscope["ironic_cpu_per_min"], baseline)),
        "service_cpu": ratio(upstream.get("service_cpu_per_min"),
                             metalscope.get("service_cpu_per_min")),
    }


def show(document: Mapping[str, Any]) -> str:
    lines = [table(document["sizes"]), ""]
    for size, services in document["sizes"].items():
        found = ratios(services)
        if found:
            lines.append(f"N={int(size):,} upstream/MetalScope: " + ", ".join(
                f"{key} {'n/a' if value is None else f'{value:.1f}x'}"
                for key, value in found.items()))
    return "\n".join(lines)


def merge(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Several runs (say one per size, each with its own warm-up and window) as one
    document; a size measured twice keeps the later run's services over the earlier's."""
    sizes: dict[str, dict[str, Any]] = {}
    for document in documents:
        for size, services in document["sizes"].items():
            sizes.setdefault(size, {}).update(services)
    first, last = documents[0], documents[-1]
    return {"label": first.get("label", ""), "started": first.get("started"),
            "finished": last.get("finished"), "machine": first.get("machine"),
            "runs": [{key: document.get(key) for key in
                      ("label", "source", "started", "finished", "warmup_s", "window_s",
                       "services")}
                     | {"sizes": list(document["sizes"])} for document in documents],
            "sizes": sizes}


# -- command line ------------------------------------------------------------------------------

def plan_text(sizes: Sequence[int], services: Sequence[str], warmup: float,
              window: float) -> str:
    per_service = warmup + window + 15
    minutes = len(sizes) * len(services) * per_service / 60
    example = render_config(config_sections(Path("<run>/<service>"), 5050,
                                             "http://127.0.0.1:<proxy>", "dnsmasq"))
    return (f"sizes {list(sizes)}, services {list(services)}, warm-up {warmup:.0f} s, window "
            f"{window:.0f} s: about {minutes:.0f} min plus preparation and start-up\n"
            f"configuration file of every service (noop services: [pxe_filter]driver = noop):"
            f"\n{example}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--services", default=",".join(SERVICES),
                        help="comma-separated, from " + ", ".join(SERVICES))
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--label", default="", help="kept in the JSON (e.g. the commit)")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="the MetalScope code to run (a checkout or an exported tree)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan and the configuration; start nothing")
    parser.add_argument("--show", type=Path, help="print the tables of a saved run")
    parser.add_argument("--merge", type=Path, nargs="+",
                        help="write these saved runs as one document to --json")
    args = parser.parse_args(argv)
    if args.merge:
        merged = merge([json.loads(path.read_text()) for path in args.merge])
        args.json.write_text(json.dumps(merged, indent=1) + "\n")
        print(show(merged))
        return 0
    if args.show:
        print(show(json.loads(args.show.read_text())))
        return 0
    services = [name.strip() for name in args.services.split(",") if name.strip()]
    for name in services:
        if name != "baseline":
            ServiceSpec(name)
    print(plan_text(args.sizes, services, args.warmup, args.window))
    if args.dry_run:
        return 0
    document: dict[str, Any] = {
        "label": args.label,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "ironic": ironic_release(IRONIC_BIN), "load_at_start": os.getloadavg()},
        "warmup_s": args.warmup, "window_s": args.window, "services": services,
        "source": str(args.source.resolve()),
        "sizes": {},
    }

    def save() -> None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=1) + "\n")

    for size in args.sizes:
        prepared = prepare(size, args.workdir, IRONIC_BIN, PYTHON)
        results: dict[str, dict[str, Any]] = {}
        document["sizes"][str(size)] = results
        run_size(prepared, services, args.warmup, args.window, args.workdir, IRONIC_BIN,
                 PYTHON, results, save, args.source.resolve())
    document["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    save()
    print(show(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
