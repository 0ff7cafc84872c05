"""100,000 introspection records: the API, start-up and recovery of a real ``metalscope
serve`` on 1,000 to 100,000 finished records with stored data, on SQLite and PostgreSQL, the
clean-up's periodic searches, and the bytes a stored introspection takes against upstream.

    .venv/bin/python benchmarks/records_scale.py [--records 1000,10000,100000]
        [--databases sqlite,postgresql] [--requests 300] [--interrupted 1000]
        [--bytes-records 1000] [--skip served,rounds,bytes]
    .venv/bin/python benchmarks/records_scale.py --records "" --skip served   # bytes only
    .venv/bin/python benchmarks/records_scale.py --show benchmarks/results/records_scale.json

**Records.** Each database gets a fresh, migrated schema (SQLite in a temporary file;
PostgreSQL in its own database ``metalscope_records_*`` on the server of
``metalscope.testing.databases``), filled in bulk through the project's tables and codec:
N records ``finished`` (every 20th ``error``), each with what an introspection of a
simulated machine leaves (one of 32 models: 1U to 2U servers, 2-4 NICs, processed by
upstream's six default hooks): both stored documents (compact JSON, as the service writes
them), a history version (the service's codec; every fifth node has two older versions
too), its hardware summary and its callback digest. Plus ``--interrupted`` records left
``processing`` (without stored data), ``starting`` or ``aborting`` by a "stopped instance",
each with lookup attributes. PostgreSQL's statistics are brought up to date (``VACUUM
ANALYZE``) and SQLite's (``ANALYZE``), as autovacuum or an operator would.

**Served.** A real Ironic (``.venv-ironic``, fake hardware, no nodes: the service only
needs it to answer) and ``metalscope serve`` on that database (noauth, ``store_data =
database``, no periodic clean-up since Ironic knows none of the nodes, defaults
otherwise). Start-up: from the process's start to the first 200 of
``GET /``. Recovery: from the process's start until no record is left in a working state
(the service settles them at start; each ends in ``error``, a database write and no Ironic
call). Then ``--requests`` requests each, one keep-alive connection, nodes picked at random:
``GET /v1/introspection`` (first page, the default 1,000 records, and ``limit=50``), the
same after a ``marker`` at 90% of the records, a status ``GET /v1/introspection/{uuid}``
and ``GET /v1/introspection/{uuid}/data``; p50 and p95.

**Rounds.** With the service stopped, what the periodic duties search the database for,
through the repository (median of 5): the PXE filter's "is an introspection running",
the interrupted records, the timeouts, the history pruning of every node (first round,
then a steady one) and the summary backfill's search.

**Bytes.** ``--bytes-records`` finished records with the same documents, in MetalScope's
schema and in upstream ironic-inspector 12.5.0's (created by its own
``ironic-inspector-dbsync upgrade`` from ``.venv-ironic``; its rows as it writes them: the
record and its two ``introspection_data`` rows, ``json.dumps`` text, attributes and options
deleted at the end); the database's bytes per record (SQLite: the file after ``VACUUM``;
PostgreSQL: every table with its indexes and TOAST, after ``VACUUM FULL``), less the empty
schema's.

``METALSCOPE_SOURCE=DIR`` runs the service and the repository from another checkout (an
export of an earlier commit: the "before" figures). Figures go to stdout and to
``benchmarks/results/records_scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("METALSCOPE_SOURCE") or REPO).resolve()
sys.path.insert(0, str(SOURCE))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from metalscope.extensions import ExtensionRegistry  # noqa: E402
from metalscope.fleet.summary import summarise  # noqa: E402
from metalscope.pxe_filter.inputs import introspection_active  # noqa: E402
from metalscope.settings.loader import load_settings  # noqa: E402
from metalscope.simulator import make_node, ramdisk_data  # noqa: E402
from metalscope.storage import history_codec, migrate  # noqa: E402
from metalscope.storage import tables as t  # noqa: E402
from metalscope.storage.engine import create_engine, create_sync_engine  # noqa: E402
from metalscope.storage.fleet import summary_values  # noqa: E402
from metalscope.storage.repository import Repository, utcnow  # noqa: E402
from metalscope.testing.databases import ScratchDatabase, server_problem  # noqa: E402
from metalscope.testing.ironic import LocalIronic  # noqa: E402
from metalscope.testing.service import free_port, render_config, stop_process_group  # noqa: E402
from metalscope.testing.upstream import LocalUpstreamInspector  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "records_scale.json"
HOOKS = ("ramdisk_error,root_disk_selection,scheduler,validate_interfaces,capabilities,"
         "pci_devices")
SEED = 20261206
MODELS = 32
BATCH = 2000
EPOCH = datetime.datetime(2026, 1, 1)
WORKING = ("starting", "processing", "reapplying", "aborting", "enrolling")
PREFIX = "metalscope_records"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def uuid_of(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n * 2654435761 % 2**48:012x}"


@dataclass(frozen=True)
class Model:
    """One simulated machine's stored introspection, ready to insert."""

    processed: dict[str, Any]
    unprocessed: dict[str, Any]
    processed_text: str
    unprocessed_text: str
    encoded: Any
    summary: Any


def models() -> list[Model]:
    settings = load_settings(overrides={"processing": {"processing_hooks": HOOKS,
                                                       "store_data": "database"}})
    registry = ExtensionRegistry.from_settings(settings)
    found = []
    for index in range(MODELS):
        posted = ramdisk_data(make_node(SEED, index))
        unprocessed = {k: v for k, v in posted.items() if k != "logs"}
        processed = copy.deepcopy(posted)
        for _name, hook in registry.hooks:
            hook.before_processing(processed)
        processed.pop("logs", None)
        found.append(Model(processed, unprocessed,
                           json.dumps(processed, separators=(",", ":")),
                           json.dumps(unprocessed, separators=(",", ":")),
                           history_codec.encode(processed, unprocessed),
                           summarise(processed)))
    return found


# -- filling ------------------------------------------------------------------------------
def finished_rows(n: int, machine: Model, *, versions: int) -> dict[str, list[dict[str, Any]]]:
    uuid = uuid_of(n)
    started = EPOCH + datetime.timedelta(seconds=n)
    finished = started + datetime.timedelta(minutes=6)
    error = "Introspection timeout" if n % 20 == 7 else None
    has_age = "age_from" in t.introspection_history.c
    history = []
    for version in range(1, versions + 1):
        end = finished - datetime.timedelta(days=30 * (versions - version))
        row = {"uuid": uuid, "version": version, "started_at": end - datetime.timedelta(
            minutes=6), "finished_at": end, "recorded_at": end, "source": "inband",
            "error": error, "changed": version > 1, "summary": None,
            "codec": machine.encoded.codec, "raw_bytes": machine.encoded.raw_bytes,
            "stored_bytes": machine.encoded.stored_bytes,
            "processed": machine.encoded.processed, "unprocessed": machine.encoded.unprocessed}
        if has_age:
            row["age_from"] = None if version == versions else end
        history.append(row)
    return {
        "nodes": [{"uuid": uuid, "state": "error" if error else "finished", "version_id": "v",
                   "started_at": started, "finished_at": finished, "error": error,
                   "manage_boot": True}],
        "introspection_data": [
            {"uuid": uuid, "processed": True, "data": machine.processed_text},
            {"uuid": uuid, "processed": False, "data": machine.unprocessed_text}],
        "introspection_history": history,
        "hardware_summaries": [{"uuid": uuid, **summary_values(
            f"rack{n // 40:04d}-u{n % 40:02d}", machine.summary, finished)}],
        "ramdisk_callbacks": [{"node_uuid": uuid, "received_at": finished,
                               "digest": hashlib.sha256(uuid.encode()).hexdigest()}],
    }


def interrupted_rows(n: int, k: int) -> dict[str, list[dict[str, Any]]]:
    uuid = uuid_of(n)
    state = ("processing", "processing", "starting", "aborting")[k % 4]
    return {
        "nodes": [{"uuid": uuid, "state": state, "version_id": "v",
                   "started_at": EPOCH + datetime.timedelta(seconds=n), "finished_at": None,
                   "error": None, "manage_boot": True}],
        "attributes": [{"uuid": uuid_of(10**8 + 2 * n + i), "node_uuid": uuid, "name": name,
                        "value": value} for i, (name, value) in enumerate((
                            ("bmc_address", f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"),
                            ("mac", f"52:54:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                                    f"{n & 255:02x}:01")))],
    }


ORDER = ("nodes", "attributes", "introspection_data", "introspection_history",
         "hardware_summaries", "ramdisk_callbacks")


def fill(url: str, records: int, interrupted: int, machines: list[Model],
         deep_history: bool = True) -> float:
    """Migrate and fill (``deep_history``: every fifth node with two older versions too);
    seconds taken."""
    began = time.perf_counter()
    migrate.upgrade(url)
    engine = create_sync_engine(url)
    try:
        pending: dict[str, list[dict[str, Any]]] = {name: [] for name in ORDER}
        with engine.begin() as conn:
            def rows() -> Iterator[dict[str, list[dict[str, Any]]]]:
                for n in range(records):
                    yield finished_rows(n, machines[n % MODELS],
                                        versions=3 if deep_history and n % 5 == 0 else 1)
                for k in range(interrupted):
                    yield interrupted_rows(records + k, k)

            for count, group in enumerate(rows(), 1):
                for name, values in group.items():
                    pending[name] += values
                if count % BATCH == 0:
                    _flush(conn, pending)
            _flush(conn, pending)
        _analyze(engine)
    finally:
        engine.dispose()
    return time.perf_counter() - began


def _flush(conn: sa.Connection, pending: dict[str, list[dict[str, Any]]]) -> None:
    for name in ORDER:
        if pending[name]:
            conn.execute(sa.insert(t.metadata.tables[name]), pending[name])
            pending[name].clear()


def _analyze(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


# -- served -------------------------------------------------------------------------------
def working_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.nodes).where(
            t.nodes.c.state.in_(WORKING))).scalar() or 0)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def timed(client: httpx.Client, paths: Callable[[int], str], count: int) -> dict[str, float]:
    for i in range(10):  # warm-up
        client.get(paths(i)).raise_for_status()
    samples = []
    for i in range(count):
        path = paths(i)
        began = time.perf_counter()
        answer = client.get(path)
        samples.append(time.perf_counter() - began)
        answer.raise_for_status()
    return {"p50_ms": round(statistics.median(samples) * 1000, 2),
            "p95_ms": round(percentile(samples, 0.95) * 1000, 2), "requests": count}


def serve(url: str, ironic_url: str, workdir: Path, records: int, interrupted: int,
          requests: int) -> dict[str, Any]:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "metalscope.conf"
    config.write_text(render_config({
        # No periodic clean-up: Ironic holds none of these nodes, so its sync would forget
        # them (the rounds are measured in process, below); the recovery at start still runs.
        "DEFAULT": {"listen_address": "127.0.0.1", "listen_port": port,
                    "auth_strategy": "noauth", "debug": False, "clean_up_period": 0},
        "database": {"connection": url},
        "ironic": {"auth_type": "none", "endpoint_override": ironic_url},
        "pxe_filter": {"driver": "noop"},
        "processing": {"store_data": "database", "processing_hooks": HOOKS,
                       "ramdisk_logs_dir": str(workdir / "ramdisk-logs")}}))
    base = f"http://127.0.0.1:{port}"
    engine = create_sync_engine(url)
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    began = time.perf_counter()
    with (workdir / "console.log").open("ab") as console:
        process = subprocess.Popen(
            [sys.executable, "-m", "metalscope.cli", "serve", "--config-file", str(config)],
            stdout=console, stderr=subprocess.STDOUT, start_new_session=True, env=env,
            cwd=workdir)  # not the checkout: ``-m`` puts the working folder first
    try:
        startup = recovered = None
        while recovered is None or startup is None:
            if process.poll() is not None:
                raise RuntimeError(f"metalscope serve exited with {process.returncode}: "
                                   + (workdir / "console.log").read_text()[-3000:])
            now = time.perf_counter() - began
            if now > 600:
                raise RuntimeError("metalscope serve did not start or recover in 600 s")
            if startup is None:
                try:
                    if httpx.get(base + "/", timeout=1).status_code == 200:
                        startup = time.perf_counter() - began
                except httpx.HTTPError:
                    pass
            if recovered is None and working_count(engine) == 0:
                recovered = time.perf_counter() - began
            time.sleep(0.02)
        rng = random.Random(records)
        finished = [uuid_of(rng.randrange(records)) for _ in range(requests + 10)]
        marker = uuid_of(records // 10)  # started_at grows with n: 90% down the list
        figures: dict[str, Any] = {"startup_s": round(startup, 3),
                                   "recovered_s": round(recovered, 3)}
        with httpx.Client(base_url=base, timeout=60) as client:
            figures["requests"] = {
                "list, first page (1,000)": timed(client, lambda i: "/v1/introspection",
                                                  requests),
                "list, first page (limit=50)": timed(
                    client, lambda i: "/v1/introspection?limit=50", requests),
                "list, marker at 90% (1,000)": timed(
                    client, lambda i: f"/v1/introspection?marker={marker}", requests),
                "list, marker at 90% (limit=50)": timed(
                    client, lambda i: f"/v1/introspection?marker={marker}&limit=50", requests),
                "status": timed(client, lambda i: f"/v1/introspection/{finished[i]}",
                                requests),
                "data": timed(client, lambda i: f"/v1/introspection/{finished[i]}/data",
                              requests),
            }
        left = working_count(engine)
        assert left == 0, f"{left} records still in a working state"
        return figures
    finally:
        stop_process_group(process, 30)
        engine.dispose()


# -- rounds -------------------------------------------------------------------------------
async def rounds(url: str) -> dict[str, float]:
    repo = Repository(create_engine(url))
    year = datetime.timedelta(days=365)

    async def median_ms(action: Callable[[], Any], repeat: int = 5) -> float:
        samples = []
        for _ in range(repeat):
            began = time.perf_counter()
            await action()
            samples.append(time.perf_counter() - began)
        return round(statistics.median(samples) * 1000, 2)

    try:
        figures = {
            "PXE filter: is an introspection running": await median_ms(
                lambda: introspection_active(repo)),
            "interrupted records (recovery)": await median_ms(repo.unsettled),
            "timeouts (unfinished, started before)": await median_ms(
                lambda: repo.active_started_before(utcnow() - datetime.timedelta(hours=1))),
            "summary backfill search": await median_ms(lambda: repo.fleet.unsummarised(300)),
        }
        began = time.perf_counter()
        await repo.prune_history(None, max_versions=10, max_age=year)
        figures["history pruning, every node, first round"] = round(
            (time.perf_counter() - began) * 1000, 2)
        figures["history pruning, every node, next rounds"] = await median_ms(
            lambda: repo.prune_history(None, max_versions=10, max_age=year))
        return figures
    finally:
        await repo.engine.dispose()


# -- bytes --------------------------------------------------------------------------------
def database_bytes(url: str) -> dict[str, int]:
    """Bytes per table (indexes and TOAST included), after the database was compacted."""
    engine = create_sync_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM FULL ANALYZE"))
                rows = conn.execute(sa.text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind = 'r'")).all()
            return {str(name): int(size) for name, size in rows}
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM"))
            rows = conn.execute(sa.text(
                "SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d "
                "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1")).all()
        return {str(name): int(size) for name, size in rows}
    finally:
        engine.dispose()


def upstream_fill(url: str, records: int, machines: list[Model]) -> None:
    engine = create_sync_engine(url)
    try:
        metadata = sa.MetaData()
        nodes = sa.Table("nodes", metadata, autoload_with=engine)
        data = sa.Table("introspection_data", metadata, autoload_with=engine)
        with engine.begin() as conn:
            for start in range(0, records, BATCH):
                node_rows, data_rows = [], []
                for n in range(start, min(records, start + BATCH)):
                    row = finished_rows(n, machines[n % MODELS], versions=1)["nodes"][0]
                    node_rows.append(row)
                    machine = machines[n % MODELS]
                    data_rows += [
                        {"uuid": row["uuid"], "processed": True,
                         "data": json.dumps(machine.processed)},
                        {"uuid": row["uuid"], "processed": False,
                         "data": json.dumps(machine.unprocessed)}]
                conn.execute(sa.insert(nodes), node_rows)
                conn.execute(sa.insert(data), data_rows)
    finally:
        engine.dispose()


def bytes_per_record(kind: str, records: int, machines: list[Model], stack: ExitStack,
                     workdir: Path, ironic_bin: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"database": kind, "records": records}
    for side in ("metalscope", "upstream"):
        url = scratch(kind, f"{side}_bytes", stack, workdir)
        if side == "metalscope":
            migrate.upgrade(url)
            empty = database_bytes(url)
            fill(url, records, 0, machines, deep_history=False)
        else:
            tool = LocalUpstreamInspector(workdir / "upstream-dbsync", "http://127.0.0.1:9",
                                          ironic_bin, database_url=url)
            tool.dbsync("upgrade")
            empty = database_bytes(url)
            upstream_fill(url, records, machines)
        full = database_bytes(url)
        tables = {name: full[name] - empty.get(name, 0) for name in full
                  if full[name] - empty.get(name, 0) > 0}
        total = sum(tables.values())
        result[side] = {"bytes_per_record": round(total / records),
                        "tables_per_record": {k: round(v / records) for k, v in
                                              sorted(tables.items())}}
    result["ratio"] = round(result["metalscope"]["bytes_per_record"]
                            / result["upstream"]["bytes_per_record"], 3)
    return result


# -- driver -------------------------------------------------------------------------------
def scratch(kind: str, name: str, stack: ExitStack, workdir: Path) -> str:
    if kind == "sqlite":
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=workdir)))
        return f"sqlite:///{folder / (name + '.sqlite')}"
    return stack.enter_context(ScratchDatabase.create(kind, f"{PREFIX}_{name}")).url


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", default="1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--interrupted", type=int, default=1000)
    parser.add_argument("--bytes-records", type=int, default=1000)
    parser.add_argument("--skip", default="", help="served, rounds, bytes (comma-separated)")
    parser.add_argument("--json", default=str(RESULTS))
    parser.add_argument("--show", metavar="JSON", help="print the tables of a results file")
    args = parser.parse_args(argv)
    if args.show:
        print(report(json.loads(Path(args.show).read_text())))
        return 0
    skip = set(filter(None, args.skip.split(",")))
    ironic_bin = REPO / ".venv-ironic" / "bin"
    results: dict[str, Any] = {"source": str(SOURCE), "started": time.strftime("%F %T"),
                               "load_before": load(), "runs": [], "bytes": []}
    log("preparing the simulated machines")
    machines = models()
    kinds = [k for k in args.databases.split(",")
             if k == "sqlite" or server_problem(k) is None]
    with tempfile.TemporaryDirectory(prefix="records-scale-") as tmp, ExitStack() as outer:
        workdir = Path(tmp)
        ironic = None
        if "served" not in skip:
            ironic = outer.enter_context(LocalIronic(
                workdir / "ironic", ironic_bin,
                schema_cache_dir=REPO / ".work" / "ironic-schema"))
        for kind in kinds:
            for records in (int(n) for n in args.records.split(",") if n):
                with ExitStack() as stack:
                    url = scratch(kind, f"n{records}", stack, workdir)
                    log(f"{kind}, {records} records: filling")
                    run: dict[str, Any] = {"database": kind, "records": records,
                                           "interrupted": args.interrupted,
                                           "fill_s": round(fill(url, records,
                                                                args.interrupted,
                                                                machines), 1)}
                    if ironic is not None:
                        log(f"{kind}, {records} records: serving")
                        run["load"] = load()
                        run.update(serve(url, ironic.url, workdir / f"serve-{kind}-{records}",
                                         records, args.interrupted, args.requests))
                    if "rounds" not in skip:
                        log(f"{kind}, {records} records: periodic searches")
                        run["rounds_ms"] = asyncio.run(rounds(url))
                    run["load_after"] = load()
                    results["runs"].append(run)
                    print(json.dumps(run), flush=True)
            if "bytes" not in skip:
                log(f"{kind}: bytes per stored introspection")
                with ExitStack() as stack:
                    results["bytes"].append(bytes_per_record(
                        kind, args.bytes_records, machines, stack, workdir, ironic_bin))
    results["load_after"] = load()
    Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(report(results))
    return 0


def report(results: dict[str, Any]) -> str:
    lines = [f"source {results['source']}, load average {results['load_before']} before, "
             f"{results.get('load_after')} after"]
    runs = results["runs"]
    if runs and "requests" in runs[0]:
        names = list(runs[0]["requests"])
        lines.append("p50 / p95 ms        " + "".join(
            f"{r['database'][:6]:>8} {r['records']:>7}" for r in runs))
        for name in names:
            lines.append(f"{name:<32}" + "".join(
                f"{r['requests'][name]['p50_ms']:>7.1f}/{r['requests'][name]['p95_ms']:<7.1f}"
                for r in runs))
        lines.append(f"{'start-up s':<32}" + "".join(f"{r['startup_s']:>15.2f}" for r in runs))
        lines.append(f"{'recovered s':<32}" + "".join(f"{r['recovered_s']:>15.2f}"
                                                      for r in runs))
    if runs and "rounds_ms" in runs[0]:
        for name in runs[0]["rounds_ms"]:
            lines.append(f"{name[:40]:<40}" + "".join(f"{r['rounds_ms'][name]:>10.1f}"
                                                      for r in runs))
    for entry in results["bytes"]:
        lines.append(f"{entry['database']}: bytes per record MetalScope "
                     f"{entry['metalscope']['bytes_per_record']:,} "
                     f"{entry['metalscope']['tables_per_record']}, upstream "
                     f"{entry['upstream']['bytes_per_record']:,} "
                     f"{entry['upstream']['tables_per_record']}, ratio {entry['ratio']}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
