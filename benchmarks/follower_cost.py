"""What following Ironic's own inspections costs Ironic, at 10,000 and 100,000 nodes.

For each fleet size a real Ironic 39 (SQLite, fake hardware, ``inspect_interface = agent``,
inventories in its database) gets its nodes by a bulk insert into its database, every one
inspected earlier with a small inventory: one node is enrolled through the API and copied,
as Ironic's own rows, ``--nodes`` times. A real ``metalscope serve`` with ``[follower]``
(``poll_interval`` ``--poll-interval``, ``page_size`` 100, ``backfill_per_poll`` 20) then
follows it, and Ironic's own API log counts every request it answers:

* **backfill**: the first ``--duration`` seconds, while the inventories Ironic had before
  the first poll are read, 20 a poll;
* **steady**: the same again once the backfill is over (MetalScope is stopped, its
  ``follower_state`` marked ``backfill_done`` as a finished backfill leaves it, and started
  again: it resumes from its watermark);
* **delay**: meanwhile, ``--inspections`` inspections are made (a node's
  ``inspection_finished_at`` and inventory written into Ironic's database, as Ironic's
  inspection does), at random gaps over the phase; the delay from each ``inspection_finished_at`` to
  the ``recorded_at`` of its version in MetalScope's history, p50/p95/max.

Requests are reported per poll (polls counted by the deletion sweep's page, one per poll)
and per minute at the default ``poll_interval`` (30 s): the per-poll count times two.
``[DEFAULT]clean_up_period`` is 0 here: its ``sync-ironic`` task (nodes deleted from Ironic)
lists every node, which is the drop-in's cost, not the follower's.
Ironic's own answer time of the list request is reported too (it has no index on
``inspection_finished_at``: its database sorts the nodes at each list).

Usage: ``.venv/bin/python benchmarks/follower_cost.py [--nodes 10000 100000]
[--poll-interval 10] [--duration 90] [--inspections 18]``
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from metalscope.testing.ironic_inspection import agent_inspecting_ironic  # noqa: E402
from metalscope.testing.service import LocalMetalScope  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "follower_cost.json"
#: ``GET /v1/nodes?... - 200 (10.6ms)`` in Ironic's API log, with its time.
_LINE = re.compile(r"^(?P<when>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*ironic\.api .* - "
                   r"(?P<method>[A-Z]+) (?P<path>\S+) - (?P<status>\d{3}) "
                   r"\((?P<ms>[\d.]+)ms\)", re.MULTILINE)
_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def inventory(index: int, memory_mb: int = 65536) -> tuple[str, str]:
    """A compact inventory and plugin data, as Ironic stores them (JSON text)."""
    mac = f"52:54:{index >> 24 & 255:02x}:{index >> 16 & 255:02x}:{index >> 8 & 255:02x}:" \
          f"{index & 255:02x}"
    data = {"cpu": {"count": 32, "architecture": "x86_64", "model_name": "Xeon Gold 6226R"},
            "memory": {"physical_mb": memory_mb, "total": memory_mb * 2**20},
            "disks": [{"name": "/dev/sda", "size": 960 * 10**9, "serial": f"S{index:08d}",
                       "model": "PM883"}],
            "interfaces": [{"name": "eno1", "mac_address": mac, "ipv4_address": None}],
            "system_vendor": {"manufacturer": "Dell Inc.", "product_name": "PowerEdge R640",
                              "serial_number": f"SN{index:07d}"},
            "bmc_address": "192.0.2.1"}
    plugin = {"root_disk": {"name": "/dev/sda", "size": 960 * 10**9},
              "all_interfaces": {"eno1": {"mac": mac}}}
    return json.dumps(data), json.dumps(plugin)


def stamp(moment: datetime.datetime) -> str:
    return moment.strftime(_STAMP)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def populate(database: Path, template_uuid: str, count: int) -> None:
    """``count`` copies of the template node, inspected over the past days, each with its
    inventory: Ironic's own rows, written in one transaction."""
    connection = sqlite3.connect(database, timeout=60)
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(nodes)")
                   if row[1] not in ("id",)]
        template = dict(zip(columns, connection.execute(
            f"SELECT {', '.join(columns)} FROM nodes WHERE uuid = ?",
            (template_uuid,)).fetchone(), strict=True))
        start = utcnow() - datetime.timedelta(days=3)
        rows = []
        for index in range(count):
            finished = start + datetime.timedelta(seconds=index * 2)
            rows.append({**template, "uuid": f"{index:08x}-0000-4000-8000-{index:012x}",
                         "name": f"bulk-{index}", "inspection_finished_at": stamp(finished),
                         "inspection_started_at": None, "created_at": stamp(start)})
        marks = ", ".join("?" for _ in columns)
        connection.executemany(
            f"INSERT INTO nodes ({', '.join(columns)}) VALUES ({marks})",
            [tuple(row[c] for c in columns) for row in rows])
        ids = dict(connection.execute("SELECT uuid, id FROM nodes WHERE name LIKE 'bulk-%'"))
        connection.executemany(
            "INSERT INTO node_inventory (inventory_data, plugin_data, node_id, version, "
            "created_at) VALUES (?, ?, ?, '1.0', ?)",
            [(*inventory(index), ids[row["uuid"]], row["inspection_finished_at"])
             for index, row in enumerate(rows)])
        connection.commit()
    finally:
        connection.close()


def inspect_in_database(database: Path, rng: random.Random, count: int) -> tuple[str, str]:
    """One node inspected again (new time, less memory), as Ironic's inspection writes it;
    its UUID and ``inspection_finished_at``."""
    index = rng.randrange(count)
    uuid = f"{index:08x}-0000-4000-8000-{index:012x}"
    finished = stamp(utcnow())
    connection = sqlite3.connect(database, timeout=60)
    try:
        node_id = connection.execute("SELECT id FROM nodes WHERE uuid = ?", (uuid,)).fetchone()[0]
        data, plugin = inventory(index, memory_mb=rng.choice((32768, 49152, 98304)))
        connection.execute("UPDATE node_inventory SET inventory_data = ?, plugin_data = ?, "
                           "updated_at = ? WHERE node_id = ?", (data, plugin, finished, node_id))
        connection.execute("UPDATE nodes SET inspection_finished_at = ?, updated_at = ? "
                           "WHERE id = ?", (finished, finished, node_id))
        connection.commit()
    finally:
        connection.close()
    return uuid, finished


def requests_between(log: Path, start: datetime.datetime,
                     end: datetime.datetime) -> list[dict[str, Any]]:
    found = []
    for match in _LINE.finditer(log.read_text(errors="replace")):
        when = datetime.datetime.strptime(match["when"], _STAMP)
        if start <= when < end:
            found.append({"path": match["path"], "status": int(match["status"]),
                          "ms": float(match["ms"])})
    return found


def classify(path: str) -> str:
    if path.startswith("/v1/nodes?") and "sort_key=inspection_finished_at" in path:
        return "list_by_inspection"
    if path.startswith("/v1/nodes?") and "sort_key=uuid" in path:
        return "list_sweep"
    if path.endswith("/inventory"):
        return "get_inventory"
    return "other"


def phase(ironic_log: Path, database: Path, service: LocalMetalScope, *, nodes: int,
          duration: float, poll_interval: float, inspections: int,
          rng: random.Random) -> dict[str, Any]:
    start = utcnow()
    made: list[tuple[str, str]] = []
    gap = duration / max(inspections, 1)
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if len(made) < inspections:
            made.append(inspect_in_database(database, rng, nodes))
        # Random gaps (mean ``gap``): inspections fall anywhere between two polls, not at
        # a few fixed offsets from them.
        time.sleep(min(rng.uniform(0, 2 * gap), max(0.0, deadline - time.monotonic())))
    time.sleep(poll_interval * 2)  # the last inspections' polls
    end = utcnow()
    requests = requests_between(ironic_log, start, end)
    seconds = (end - start).total_seconds()
    kinds: dict[str, int] = {}
    for request in requests:
        kinds[classify(request["path"])] = kinds.get(classify(request["path"]), 0) + 1
    # Every poll ends with one page of the deletion sweep; a poll reading 20 inventories
    # can take longer than a short poll interval, so polls are counted, not assumed.
    polls = max(kinds.get("list_sweep", 0), 1)
    list_ms = [r["ms"] for r in requests if classify(r["path"]) == "list_by_inspection"]
    delays = recorded_delays(service, made)
    per_poll = len(requests) / polls
    return {
        "seconds": round(seconds, 1), "polls": polls, "requests": len(requests),
        "by_call": kinds, "requests_per_poll": round(per_poll, 2),
        "requests_per_minute_at_30s": round(per_poll * 2, 1),
        "list_ms_median": round(statistics.median(list_ms), 1) if list_ms else None,
        "inspections": len(made), "recorded": len(delays),
        "delay_s_p50": quantile(delays, 0.5), "delay_s_p95": quantile(delays, 0.95),
        "delay_s_max": round(max(delays), 2) if delays else None,
    }


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def recorded_delays(service: LocalMetalScope, made: list[tuple[str, str]]) -> list[float]:
    database = str(service.sections["database"]["connection"]).removeprefix("sqlite:///")
    connection = sqlite3.connect(database, timeout=60)
    try:
        delays = []
        for uuid, finished in made:
            row = connection.execute(
                "SELECT recorded_at FROM introspection_history WHERE uuid = ? AND "
                "finished_at = ?", (uuid, finished)).fetchone()
            if row is not None:
                recorded = datetime.datetime.fromisoformat(str(row[0]))
                delays.append((recorded - datetime.datetime.strptime(finished, _STAMP))
                              .total_seconds())
        return delays
    finally:
        connection.close()


def finish_backfill(service: LocalMetalScope) -> None:
    database = str(service.sections["database"]["connection"]).removeprefix("sqlite:///")
    connection = sqlite3.connect(database, timeout=60)
    try:
        connection.execute("UPDATE follower_state SET backfill_done = 1, "
                           "backfill_marker = NULL")
        connection.execute("UPDATE follower_nodes SET next_attempt_at = NULL "
                           "WHERE recorded_finished_at IS NULL")
        connection.commit()
    finally:
        connection.close()


def run(count: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    bin_dir = REPO / ".venv-ironic" / "bin"
    ironic = agent_inspecting_ironic(workdir / f"ironic-{count}", bin_dir,
                                     schema_cache_dir=REPO / ".work" / "ironic-schema")
    rng = random.Random(count)
    with ironic:
        template = ironic.enroll_node("template", {}, [], inspect_interface="agent")
        started = time.monotonic()
        populate(ironic.database_file, template["uuid"], count)
        print(f"{count} nodes inserted in {time.monotonic() - started:.0f} s", flush=True)
        options = {"DEFAULT": {"clean_up_period": 0},
                   "follower": {"enabled": True, "poll_interval": args.poll_interval,
                                "page_size": 100, "backfill_per_poll": 20}}
        service = LocalMetalScope(workdir / f"metalscope-{count}", ironic.url, options=options)
        common = {"nodes": count, "duration": args.duration,
                  "poll_interval": args.poll_interval, "inspections": args.inspections,
                  "rng": rng}
        with service:
            backfill = phase(ironic.log_file, ironic.database_file, service, **common)
        finish_backfill(service)
        with service:
            steady = phase(ironic.log_file, ironic.database_file, service, **common)
    return {"nodes": count, "backfill": backfill, "steady": steady}


def save(results: list[dict[str, Any]], poll_interval: float) -> None:
    """Keep the runs in the results file, replacing those of the same size and interval."""
    kept: list[dict[str, Any]] = []
    if RESULTS.exists():
        kept = [run for run in json.loads(RESULTS.read_text()).get("runs", [])
                if (run["nodes"], run.get("poll_interval")) not in
                {(r["nodes"], poll_interval) for r in results}]
    runs = kept + [{**result, "poll_interval": poll_interval} for result in results]
    runs.sort(key=lambda run: (run["poll_interval"], run["nodes"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": runs}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=90.0)
    parser.add_argument("--inspections", type=int, default=18)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="follower-cost-") as tmp:
        for count in args.nodes:
            result = run(count, args, Path(tmp))
            results.append(result)
            print(json.dumps(result, indent=1), flush=True)
    save(results, args.poll_interval)
    print(f"{'nodes':>8} {'phase':>9} {'req/poll':>9} {'req/min@30s':>12} {'list ms':>8} "
          f"{'delay p50':>10} {'delay p95':>10} {'recorded':>9}")
    for result in results:
        for name in ("backfill", "steady"):
            p = result[name]
            print(f"{result['nodes']:>8} {name:>9} {p['requests_per_poll']:>9} "
                  f"{p['requests_per_minute_at_30s']:>12} {p['list_ms_median']!s:>8} "
                  f"{p['delay_s_p50']!s:>10} {p['delay_s_p95']!s:>10} "
                  f"{p['recorded']:>4}/{p['inspections']}")


if __name__ == "__main__":
    main()
