"""Fleet page queries: ``FleetStore.page`` on a fleet of 10,000 and 100,000 nodes.

    .venv/bin/python benchmarks/fleet_queries.py [--nodes 10000,100000]
        [--databases sqlite,postgresql] [--repeat 20]

Each database gets a fresh, migrated schema (SQLite in a temporary file; PostgreSQL and
MariaDB on the test servers of ``metalscope.testing.databases``) filled in bulk: 92% of the
nodes finished, 3% failed after processing (both with a summary from one of 60 simulated
machine models, memory and disks varied per node), 3% waiting and 2% failed before
processing (no summary). PostgreSQL's statistics are brought up to date (``ANALYZE``), as
autovacuum would. Then each page is asked ``--repeat`` times through the service's async
engine, exactly as the fleet page asks it (rows, COUNT, counts by state), and the median
and p95 are reported:

* first page: the default sort (``finished_at`` descending), 50 rows;
* deep offset: the same sort, 50 rows at 90% of the fleet;
* search: a substring of one serial number (one match), and of a CPU model (many);
* memory sort: ``memory_mib`` descending, first page and at 90% of the fleet;
* state filter: ``error`` nodes, sorted by name.

Figures go to stdout as a table and to ``benchmarks/results/fleet_queries.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from metalscope.fleet.query import FleetQuery  # noqa: E402
from metalscope.fleet.summary import HardwareSummary, summarise  # noqa: E402
from metalscope.simulator import make_node, ramdisk_data  # noqa: E402
from metalscope.storage import migrate  # noqa: E402
from metalscope.storage import tables as t  # noqa: E402
from metalscope.storage.engine import create_engine, create_sync_engine  # noqa: E402
from metalscope.storage.fleet import FleetStore, summary_values  # noqa: E402
from metalscope.testing.databases import ScratchDatabase, server_problem  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "fleet_queries.json"
MODELS = 60
BATCH = 5000
EPOCH = datetime.datetime(2026, 1, 1)


def models() -> list[HardwareSummary]:
    return [summarise(ramdisk_data(make_node(7, index))) for index in range(MODELS)]


def uuid_of(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n * 2654435761 % 2**48:012x}"


def fleet(size: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(nodes row, hardware_summaries row or None) for every node."""
    machines = models()
    for n in range(size):
        started = EPOCH + datetime.timedelta(seconds=n * 37 % (size * 30))
        kind = n % 100
        state = ("waiting" if kind < 3 else "error" if kind < 8 else "finished")
        node = {"uuid": uuid_of(n), "state": state, "version_id": "v", "started_at": started,
                "finished_at": None if state == "waiting" else
                started + datetime.timedelta(minutes=6),
                "error": "Introspection timeout" if kind < 5 and state == "error" else
                (f"Rule {n % 7} failed: BMC {n % 251} unreachable" if state == "error" else None),
                "manage_boot": True}
        if state == "waiting" or kind < 5:
            yield node, None
            continue
        machine = machines[n % MODELS]
        summary = replace(machine, serial=f"SN{n:07d}X",
                          memory_mib=(n * 7919 % 64 + 1) * 16384,
                          disk_bytes=(n * 104729 % 40 + 1) * 480 * 10**9,
                          macs=tuple(f"52:54:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:"
                                     f"{n & 255:02x}:{i:02x}" for i in range(len(machine.macs))))
        row = summary_values(f"rack{n // 40:04d}-u{n % 40:02d}", summary,
                             node["finished_at"])
        yield node, {"uuid": node["uuid"], **row}


def populate(url: str, size: int) -> float:
    migrate.upgrade(url)
    engine = create_sync_engine(url)
    began = time.perf_counter()
    try:
        nodes: list[dict[str, Any]] = []
        summaries: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for node, summary in fleet(size):
                nodes.append(node)
                if summary is not None:
                    summaries.append(summary)
                if len(nodes) >= BATCH:
                    _flush(conn, nodes, summaries)
            _flush(conn, nodes, summaries)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        elif engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - began


def _flush(conn: sa.Connection, nodes: list[dict[str, Any]],
           summaries: list[dict[str, Any]]) -> None:
    if nodes:
        conn.execute(sa.insert(t.nodes), nodes)
    if summaries:
        conn.execute(sa.insert(t.hardware_summaries), summaries)
    nodes.clear()
    summaries.clear()


def queries(size: int) -> list[tuple[str, FleetQuery]]:
    deep = size * 9 // 10
    return [
        ("first page", FleetQuery()),
        ("deep offset", FleetQuery(offset=deep)),
        ("search, 1 match", FleetQuery(search=f"n{size // 2 + 7:07d}x")),
        ("search, many", FleetQuery(search="xeon(r) gold")),
        ("memory sort", FleetQuery(sort="memory_mib")),
        ("memory sort, deep", FleetQuery(sort="memory_mib", offset=deep)),
        ("state error", FleetQuery(state="error", sort="name", descending=False)),
    ]


async def measure(url: str, size: int, repeat: int) -> list[dict[str, Any]]:
    engine = create_engine(url)
    store = FleetStore(engine)
    rows = []
    try:
        for name, query in queries(size):
            page = await store.page(query)  # warm-up
            samples = []
            for _ in range(repeat):
                began = time.perf_counter()
                await store.page(query)
                samples.append(time.perf_counter() - began)
            samples.sort()
            rows.append({"query": name, "rows": len(page.rows), "total": page.total,
                         "median_ms": statistics.median(samples) * 1000,
                         "p95_ms": samples[max(0, int(len(samples) * 0.95) - 1)] * 1000})
    finally:
        await engine.dispose()
    return rows


def run(kind: str, size: int, repeat: int, stack: ExitStack) -> list[dict[str, Any]]:
    if kind == "sqlite":
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        url = f"sqlite:///{folder}/fleet.sqlite"
    else:
        url = stack.enter_context(ScratchDatabase.create(kind, "metalscope_bench")).url
    fill = populate(url, size)
    rows = asyncio.run(measure(url, size, repeat))
    return [{"database": kind, "nodes": size, "fill_s": fill, **row} for row in rows]


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (f"{'database':<11} {'nodes':>7} {'query':<18} {'rows':>4} {'total':>7} "
              f"{'median ms':>9} {'p95 ms':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['database']:<11} {row['nodes']:>7} {row['query']:<18} {row['rows']:>4} "
              f"{row['total']:>7} {row['median_ms']:>9.2f} {row['p95_ms']:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="10000,100000", help="fleet sizes, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="sqlite, postgresql, mariadb, comma-separated")
    parser.add_argument("--repeat", type=int, default=20, help="timed pages per query")
    parser.add_argument("--json", metavar="PATH", default=str(RESULTS),
                        help="where the rows go as JSON")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for kind in args.databases.split(","):
        problem = None if kind == "sqlite" else server_problem(kind)
        if problem is not None:
            print(f"{kind}: skipped ({problem})")
            continue
        for size in (int(n) for n in args.nodes.split(",")):
            with ExitStack() as stack:
                rows += run(kind, size, args.repeat, stack)
    print_table(rows)
    Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
