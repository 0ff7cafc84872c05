"""Fleet page latency with 10,000 nodes: the rendered ``/ui/`` as a browser asks for it.

A SQLite database is seeded through the repository and the FleetStore, as the processing
writes it: ``--nodes`` status records (``finished`` but one in twenty ``error`` and one in
fifty ``waiting``) and, for every processed one, the hardware summary of a simulated machine
(``metalscope.simulator``, deterministic) with a matched rule for one in three. The app
(API role: no background duties) then answers in-process over ASGI, so the figures are
MetalScope's own time: query, view model and template, without a network.

Measured, for each page, the median and p95 of ``--repeat`` requests (after a warm-up) and
the size of the HTML: the first page, a deep page (offset 9,950), a search that matches a
few nodes, a search that matches many, a sort by memory, the ``error`` filter, 500 rows on
one page and one node page.

Usage: ``.venv/bin/python benchmarks/fleet_page.py [--nodes 10000] [--repeat 50]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from metalscope.app import create_app
from metalscope.coordination import LocalCoordinator
from metalscope.extensions import ExtensionRegistry
from metalscope.fleet.summary import HardwareSummary, MatchedRule, summarise
from metalscope.process_roles import Role
from metalscope.pxe_filter.base import NoopFilter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings, load_settings
from metalscope.simulator import make_node, ramdisk_data
from metalscope.state_machine import Event
from metalscope.storage import migrate
from metalscope.storage.data_store import create_store
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository

SEED = 15
T0 = datetime.datetime(2026, 1, 1)
ERROR = "The ramdisk reported an error: disk /dev/sdb failed"
RULE = MatchedRule("b0000000-0000-4000-8000-000000000001", "big memory")


def uuid_of(number: int) -> str:
    return f"b1000000-0000-4000-8000-{number:012d}"


def summary_of(number: int) -> HardwareSummary:
    machine = make_node(SEED, number % 4096)
    rules = (RULE,) if number % 3 == 0 else ()
    processed = ramdisk_data(machine)
    base = summarise(processed)
    return HardwareSummary(**{**base.__dict__, "rules": rules})


async def seed(url: str, nodes: int) -> float:
    began = time.perf_counter()
    repo = Repository(create_engine(url))
    summaries = [summary_of(n) for n in range(min(nodes, 4096))]
    try:
        for number in range(nodes):
            uuid = uuid_of(number)
            await repo.start_introspection(uuid, False, [], None)
            record = await repo.get_node(uuid)
            assert record is not None
            record = await repo.transition(record, Event.WAIT)
            if number % 50 == 7:
                continue  # still waiting for its ramdisk: no summary
            if number % 20 == 3:
                await repo.transition(record, Event.ERROR, error=ERROR)
            else:
                record = await repo.transition(record, Event.PROCESS)
                await repo.transition(record, Event.FINISH)
            await repo.fleet.save_summary(uuid, f"rack{number // 40:03d}-node{number % 40:02d}",
                                          summaries[number % len(summaries)],
                                          T0 + datetime.timedelta(seconds=number))
    finally:
        await repo.engine.dispose()
    return time.perf_counter() - began


def services_opener(settings: Settings) -> Any:
    @asynccontextmanager
    async def opener(s: Settings) -> AsyncIterator[Services]:
        repo = Repository(create_engine(s.database.connection))
        svc = Services(settings=s, repo=repo, ironic=None,  # type: ignore[arg-type]
                       coordinator=LocalCoordinator(), extensions=ExtensionRegistry(),
                       pxe_filter=NoopFilter(), data_store=create_store(s, repo),
                       pacer=BootPacer(0))
        try:
            yield svc
        finally:
            svc.json_parser.close()
            await repo.engine.dispose()
    return opener


PAGES = (
    ("first page", "/ui/"),
    ("deep page", "/ui/?offset=9950"),
    ("search, few", "/ui/?q=rack017-node0"),
    ("search, many", "/ui/?q=dell"),
    ("sort by memory", "/ui/?sort=memory_mib"),
    ("error filter", "/ui/?state=error"),
    ("500 rows", "/ui/?limit=500"),
    ("node page", f"/ui/nodes/{uuid_of(1234)}"),
)


async def measure(settings: Settings, repeat: int) -> list[dict[str, Any]]:
    app = create_app(settings, services_opener(settings), role=Role.API)
    rows = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, path in PAGES:
                samples, size, status = [], 0, 0
                for attempt in range(repeat + 3):
                    began = time.perf_counter()
                    response = await client.get(path)
                    if attempt >= 3:
                        samples.append(time.perf_counter() - began)
                    size, status = len(response.content), response.status_code
                samples.sort()
                rows.append({"page": name, "path": path, "status": status,
                             "median_ms": statistics.median(samples) * 1000,
                             "p95_ms": samples[max(0, int(len(samples) * 0.95) - 1)] * 1000,
                             "html_kb": size / 1000})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'page':<16} {'status':>6} {'median ms':>9} {'p95 ms':>8} {'HTML KB':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['page']:<16} {row['status']:>6} {row['median_ms']:>9.1f} "
              f"{row['p95_ms']:>8.1f} {row['html_kb']:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=10_000, help="status records seeded")
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per page")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON there")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'fleet.sqlite'}"
        migrate.upgrade(url)
        settings = load_settings(overrides={"database": {"connection": url},
                                            "processing": {"store_data": "none"}})
        seconds = asyncio.run(seed(url, args.nodes))
        print(f"{args.nodes:,} nodes seeded in {seconds:.1f} s (SQLite, through the "
              f"repository and the FleetStore)\n")
        rows = asyncio.run(measure(settings, args.repeat))
    print_table(rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(rows, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
