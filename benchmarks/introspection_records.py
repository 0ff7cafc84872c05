"""Finished introspection records with their stored data, bulk-inserted into MetalScope's and
upstream ironic-inspector 12.5.0's databases (the same rows in both).

Record ``i`` belongs to node ``i`` of ``ironic_population.py`` (same UUID, PXE MAC and BMC
address): a ``nodes`` row in ``finished`` and two ``introspection_data`` rows, the
unprocessed ramdisk data (what IPA's ``default`` collector posts, from one of a few dozen
simulated machines, with the node's own MAC and BMC address) and the processed data (the same
with the keys upstream's default hooks add). MetalScope's database also gets what its own
processing writes beside them: the node's hardware summary (the fleet pages) and version 1 of
its hardware history (``[history]`` is on by default). Both schemas are made by the services'
own tools (``ironic-inspector-dbsync upgrade`` and ``metalscope db upgrade``); the rows go in
with SQL in batches. 100,000 records are about 1 GiB of SQLite per database.

    .venv/bin/python benchmarks/introspection_records.py DIR --records 100000
"""

from __future__ import annotations

import argparse
import datetime
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ironic_population import SEED, bmc_address, node_mac, node_uuid  # noqa: E402

from metalscope.fleet.summary import summarise  # noqa: E402
from metalscope.simulator import make_fleet  # noqa: E402
from metalscope.simulator.inventory import ramdisk_data  # noqa: E402
from metalscope.storage.fleet import summary_values  # noqa: E402
from metalscope.storage.history_codec import Encoded, encode  # noqa: E402

BATCH = 2000
TEMPLATES = 64
_MAC = "@MAC@"
_BMC = "@BMC@"


@dataclass(frozen=True)
class DataTemplate:
    """Unprocessed and processed data of one simulated machine, as JSON text with the PXE
    MAC and the BMC address as placeholders."""

    unprocessed: str
    processed: str

    def for_node(self, index: int) -> tuple[str, str]:
        mac, bmc = node_mac(index), bmc_address(index)
        return (self.unprocessed.replace(_MAC, mac).replace(_BMC, bmc),
                self.processed.replace(_MAC, mac).replace(_BMC, bmc))


def _processed(data: dict[str, Any], pxe_mac: str) -> dict[str, Any]:
    inventory = data["inventory"]
    interfaces = {nic["name"]: {"ip": nic.get("ipv4_address"), "mac": nic["mac_address"],
                                "client_id": nic.get("client_id"),
                                "pxe": nic["mac_address"] == pxe_mac}
                  for nic in inventory["interfaces"]}
    disks = [disk["size"] for disk in inventory["disks"]]
    return {**data,
            "all_interfaces": interfaces,
            "interfaces": {name: nic for name, nic in interfaces.items() if nic["pxe"]},
            "macs": [pxe_mac], "boot_interface": pxe_mac,
            "ipmi_address": inventory["bmc_address"],
            "cpus": inventory["cpu"]["count"], "cpu_arch": inventory["cpu"]["architecture"],
            "memory_mb": inventory["memory"]["physical_mb"],
            "local_gb": max(disks) // (1 << 30) - 1 if disks else 0}


def data_templates(count: int = TEMPLATES) -> list[DataTemplate]:
    templates = []
    for machine in make_fleet(SEED, count):
        data = ramdisk_data(machine, with_logs=False, with_lldp=False, with_pci_devices=False,
                            with_dmi=False, with_extra_hardware=False)
        pxe = machine.macs[0]
        inventory = data["inventory"]
        bmc = inventory.get("bmc_address") or ""
        unprocessed = json.dumps(data)
        processed = json.dumps(_processed(data, pxe))
        templates.append(DataTemplate(
            unprocessed.replace(pxe, _MAC).replace(f'"{bmc}"', f'"{_BMC}"'),
            processed.replace(pxe, _MAC).replace(f'"{bmc}"', f'"{_BMC}"')))
    return templates


def _timestamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def record_rows(start: int, stop: int, now: datetime.datetime,
                templates: Sequence[DataTemplate]
                ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``nodes`` rows and ``introspection_data`` rows of records ``start`` to ``stop - 1``:
    finished over the last day, one node a second apart."""
    nodes, data = [], []
    for index in range(start, stop):
        uuid_ = node_uuid(index)
        finished = now - datetime.timedelta(seconds=index % 86400)
        started = finished - datetime.timedelta(seconds=90)
        nodes.append((uuid_, None, str(uuid.UUID(int=index + 1)), "finished",
                      _timestamp(started), _timestamp(finished), 1))
        unprocessed, processed = templates[index % len(templates)].for_node(index)
        data += [(uuid_, 0, unprocessed), (uuid_, 1, processed)]
    return nodes, data


def summary_rows(start: int, stop: int, templates: Sequence[DataTemplate]
                 ) -> list[dict[str, Any]]:
    """MetalScope's ``hardware_summaries`` rows of records ``start`` to ``stop - 1``, as its
    processing would have written them (the fleet pages' data; without them the service
    would spend its first hours filling them in from the stored data)."""
    rows = []
    for index in range(start, stop):
        _, processed = templates[index % len(templates)].for_node(index)
        finished = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=index)
        values = summary_values(f"node-{index:06d}", summarise(json.loads(processed)),
                                finished)
        values["inspected_at"] = _timestamp(finished)
        rows.append({"uuid": node_uuid(index), **values})
    return rows


def insert_summaries(database: Path, count: int,
                     templates: Sequence[DataTemplate] | None = None) -> None:
    templates = templates or data_templates()
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        for start in range(0, count, BATCH):
            rows = summary_rows(start, min(count, start + BATCH), templates)
            columns = list(rows[0])
            with connection:
                connection.executemany(
                    f"INSERT INTO hardware_summaries ({', '.join(columns)}) VALUES "
                    f"({', '.join(':' + column for column in columns)})", rows)
        connection.execute("ANALYZE")
    finally:
        connection.close()


def encoded_versions(templates: Sequence[DataTemplate]) -> list[Encoded]:
    """Each template's data as a history version stores it (compressed). The versions keep
    the template machine's own MAC and BMC address: compressing every record's data would
    take minutes, and no idle work reads the blobs."""
    return [encode(json.loads(t.processed), json.loads(t.unprocessed)) for t in templates]


def history_rows(start: int, stop: int, now: datetime.datetime,
                 versions: Sequence[Encoded]) -> list[tuple[Any, ...]]:
    """MetalScope's ``introspection_history`` rows: version 1 of each record, finished when
    the record did (:func:`record_rows`)."""
    rows = []
    for index in range(start, stop):
        finished = now - datetime.timedelta(seconds=index % 86400)
        encoded = versions[index % len(versions)]
        rows.append((node_uuid(index), 1, _timestamp(finished - datetime.timedelta(seconds=90)),
                     _timestamp(finished), _timestamp(finished), "inband", None, None, None,
                     encoded.codec, encoded.raw_bytes, encoded.stored_bytes, encoded.processed,
                     encoded.unprocessed))
    return rows


def insert_history(database: Path, count: int, now: datetime.datetime,
                   templates: Sequence[DataTemplate] | None = None) -> None:
    versions = encoded_versions(templates or data_templates())
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        for start in range(0, count, BATCH):
            with connection:
                connection.executemany(
                    "INSERT INTO introspection_history (uuid, version, started_at, "
                    "finished_at, recorded_at, source, error, changed, summary, codec, "
                    "raw_bytes, stored_bytes, processed, unprocessed) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    history_rows(start, min(count, start + BATCH), now, versions))
        connection.execute("ANALYZE")
    finally:
        connection.close()


def insert_records(database: Path, count: int, now: datetime.datetime | None = None,
                   templates: Sequence[DataTemplate] | None = None) -> None:
    now = now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    templates = templates or data_templates()
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")
        for start in range(0, count, BATCH):
            nodes, data = record_rows(start, min(count, start + BATCH), now, templates)
            with connection:
                connection.executemany(
                    "INSERT INTO nodes (uuid, error, version_id, state, started_at, "
                    "finished_at, manage_boot) VALUES (?, ?, ?, ?, ?, ?, ?)", nodes)
                connection.executemany(
                    "INSERT INTO introspection_data (uuid, processed, data) VALUES (?, ?, ?)",
                    data)
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _config(database: Path) -> Path:
    config = database.with_suffix(".dbsync.conf")
    config.write_text(f"[database]\nconnection = sqlite:///{database.absolute()}\n")
    return config


def create_upstream_schema(ironic_bin: Path, database: Path) -> None:
    config = _config(database)
    subprocess.run([str(ironic_bin / "ironic-inspector-dbsync"), "--config-file", str(config),
                    "upgrade"], capture_output=True, check=True)
    config.unlink()


def create_metalscope_schema(python: Path, database: Path, source: Path = REPO) -> None:
    """``metalscope db upgrade`` with the code in ``source``: creates the schema, or brings
    an existing database to that code's head."""
    config = _config(database)
    subprocess.run([str(python), "-m", "metalscope.cli", "db", "upgrade", "--config-file",
                    str(config)], capture_output=True, check=True, cwd=source,
                   env={"PYTHONPATH": str(source)})
    config.unlink()


@dataclass(frozen=True)
class RecordDatabases:
    metalscope: Path
    upstream: Path


def build(directory: Path, count: int, ironic_bin: Path, python: Path) -> RecordDatabases:
    """Both databases in ``directory`` (replaced), ``count`` records each."""
    directory.mkdir(parents=True, exist_ok=True)
    databases = RecordDatabases(directory / "metalscope.sqlite", directory / "upstream.sqlite")
    for database in (databases.metalscope, databases.upstream):
        database.unlink(missing_ok=True)
    create_metalscope_schema(python, databases.metalscope)
    create_upstream_schema(ironic_bin, databases.upstream)
    templates = data_templates()
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    for database in (databases.metalscope, databases.upstream):
        insert_records(database, count, now, templates)
    insert_summaries(databases.metalscope, count, templates)
    insert_history(databases.metalscope, count, now, templates)
    return databases


def rows_of(database: Path) -> Iterator[tuple[Any, ...]]:
    """``(state, records, data rows, data bytes)`` of a database, for a quick check."""
    connection = sqlite3.connect(database)
    try:
        yield from connection.execute(
            "SELECT n.state, COUNT(DISTINCT n.uuid), COUNT(d.uuid), SUM(LENGTH(d.data)) "
            "FROM nodes n LEFT JOIN introspection_data d ON d.uuid = n.uuid GROUP BY n.state")
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path,
                        help="where metalscope.sqlite and upstream.sqlite are created")
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--ironic-bin", type=Path, default=REPO / ".venv-ironic" / "bin")
    parser.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python")
    args = parser.parse_args(argv)
    began = time.monotonic()
    databases = build(args.directory, args.records, args.ironic_bin, args.python)
    for database in (databases.metalscope, databases.upstream):
        print(database, list(rows_of(database)))
    print(f"{args.records} records in each database: {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
