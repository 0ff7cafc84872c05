"""A large fleet written straight into a real Ironic's SQLite database.

Enrolling 100,000 nodes through Ironic's API takes hours on two cores; rows inserted with SQL
in batches take seconds. The schema is the one ``ironic-dbsync create_schema`` of the Ironic
virtual environment makes, and every row carries what the API would have written for a
``fake-hardware`` node in ``manageable`` with one port (checked against a node enrolled through
Ironic 39.0's API: the same JSON defaults, interfaces and object versions, which are read from
that Ironic's own object classes). Node ``i`` has a deterministic UUID, name and PXE MAC
(:func:`node_uuid`, :func:`node_mac`), so other benchmark parts can refer to the same nodes
(``introspection_records.py`` gives each of them a finished introspection record).

``--inspected`` also gives every node what Ironic's own inspection leaves behind:
``inspection_started_at``/``inspection_finished_at``, the scheduling properties and a
``node_inventory`` row (inventory and plugin data of a simulated machine).

    .venv/bin/python benchmarks/ironic_population.py DB --nodes 100000 [--inspected]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
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

from metalscope.simulator import make_fleet  # noqa: E402
from metalscope.simulator.inventory import ramdisk_data  # noqa: E402

NAMESPACE = uuid.UUID("6f1d2c2e-5a43-4e0b-9d1e-2d7a6f0c1a55")
BATCH = 5000
#: Distinct simulated machines whose inventories the inspected nodes share (round robin).
TEMPLATES = 64
SEED = 2026

_INTERFACES = {
    "bios_interface": "fake", "boot_interface": "fake", "console_interface": "fake",
    "deploy_interface": "fake", "firmware_interface": "fake", "inspect_interface": "fake",
    "management_interface": "fake", "network_interface": "noop", "raid_interface": "fake",
    "rescue_interface": "fake", "storage_interface": "noop", "power_interface": "fake",
    "vendor_interface": "fake",
}
_EMPTY_JSON = ("instance_info", "driver_internal_info", "clean_step", "deploy_step",
               "raid_config", "target_raid_config", "extra", "network_data", "service_step")


def node_uuid(index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"node-{index}"))


def port_uuid(index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"port-{index}"))


def node_mac(index: int) -> str:
    """A locally administered MAC unique per index below 2**32."""
    low = index.to_bytes(4, "big")
    return "02:1d:" + ":".join(f"{byte:02x}" for byte in low)


def bmc_address(index: int) -> str:
    return f"10.{(index >> 16) & 0xff}.{(index >> 8) & 0xff}.{index & 0xff}"


@dataclass(frozen=True)
class ObjectVersions:
    """Ironic's versioned-object versions stored in each row's ``version`` column."""

    node: str
    port: str
    node_inventory: str


def object_versions(ironic_bin: Path) -> ObjectVersions:
    """Read from the Ironic installed beside ``ironic_bin`` (about 2 s: it imports Ironic)."""
    script = ("import json\nfrom ironic.objects import node, port, node_inventory\n"
              "print(json.dumps([node.Node.VERSION, port.Port.VERSION, "
              "node_inventory.NodeInventory.VERSION]))")
    result = subprocess.run([str(ironic_bin / "python"), "-W", "ignore", "-c", script],
                            capture_output=True, text=True, check=True)
    node, port, inventory = json.loads(result.stdout.strip().splitlines()[-1])
    return ObjectVersions(node, port, inventory)


def create_schema(ironic_bin: Path, database: Path) -> None:
    """An empty Ironic database made by ``ironic-dbsync create_schema``."""
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    config = database.with_suffix(".dbsync.conf")
    config.write_text(f"[database]\nconnection = sqlite:///{database.absolute()}\n")
    subprocess.run([str(ironic_bin / "ironic-dbsync"), "--config-file", str(config),
                    "create_schema"], capture_output=True, check=True)
    config.unlink()


def _timestamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True)
class Inspection:
    """What an inspection leaves on a node: scheduling properties and the inventory row."""

    properties: str
    inventory: str
    plugin_data: str


def inspection_templates(count: int = TEMPLATES) -> list[Inspection]:
    templates = []
    for machine in make_fleet(SEED, count):
        data = ramdisk_data(machine, with_logs=False, with_lldp=False)
        inventory = data.pop("inventory")
        data.pop("error", None)
        disks = [disk["size"] for disk in inventory["disks"]]
        properties = {"cpus": inventory["cpu"]["count"],
                      "memory_mb": inventory["memory"]["physical_mb"],
                      "local_gb": max(disks) // (1 << 30) - 1 if disks else 0,
                      "cpu_arch": inventory["cpu"]["architecture"]}
        templates.append(Inspection(json.dumps(properties), json.dumps(inventory),
                                    json.dumps(data)))
    return templates


def node_rows(start: int, stop: int, now: datetime.datetime, versions: ObjectVersions,
              inspections: Sequence[Inspection] | None) -> Iterator[dict[str, Any]]:
    created = _timestamp(now)
    for index in range(start, stop):
        row: dict[str, Any] = {
            "id": index + 1, "uuid": node_uuid(index), "name": f"node-{index:06d}",
            "provision_state": "manageable", "provision_updated_at": created,
            "properties": "{}", "driver": "fake-hardware",
            "driver_info": json.dumps({"ipmi_address": bmc_address(index)}),
            "conductor_group": "", "maintenance": 0, "console_enabled": 0, "protected": 0,
            "retired": 0, "disable_power_off": 0, "version": versions.node,
            "created_at": created, "updated_at": created,
            "inspection_started_at": None, "inspection_finished_at": None,
            **_INTERFACES, **dict.fromkeys(_EMPTY_JSON, "{}"),
        }
        if inspections:
            row["properties"] = inspections[index % len(inspections)].properties
            row["inspection_started_at"] = _timestamp(now - datetime.timedelta(minutes=10))
            row["inspection_finished_at"] = _timestamp(now - datetime.timedelta(minutes=5))
        yield row


def port_rows(start: int, stop: int, now: datetime.datetime,
              versions: ObjectVersions) -> Iterator[tuple[Any, ...]]:
    created = _timestamp(now)
    for index in range(start, stop):
        yield (index + 1, port_uuid(index), node_mac(index), index + 1, "{}", "{}", 1, "{}", 0,
               1, versions.port, created)


def inventory_rows(start: int, stop: int, now: datetime.datetime, versions: ObjectVersions,
                   inspections: Sequence[Inspection]) -> Iterator[tuple[Any, ...]]:
    created = _timestamp(now - datetime.timedelta(minutes=5))
    for index in range(start, stop):
        template = inspections[index % len(inspections)]
        yield (index + 1, template.inventory, template.plugin_data, index + 1,
               versions.node_inventory, created)


def populate(database: Path, count: int, versions: ObjectVersions, inspected: bool = False,
             now: datetime.datetime | None = None) -> None:
    """Insert ``count`` nodes with one port each (and inventories when ``inspected``) into an
    Ironic database holding no nodes yet."""
    now = now or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    inspections = inspection_templates() if inspected else None
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")
        columns = list(next(node_rows(0, 1, now, versions, inspections)))
        insert_node = (f"INSERT INTO nodes ({', '.join(columns)}) VALUES "
                       f"({', '.join(':' + column for column in columns)})")
        insert_port = ("INSERT INTO ports (id, uuid, address, node_id, extra, "
                       "local_link_connection, pxe_enabled, internal_info, is_smartnic, "
                       "available_for_dynamic_portgroup, version, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        insert_inventory = ("INSERT INTO node_inventory (id, inventory_data, plugin_data, "
                            "node_id, version, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        for start in range(0, count, BATCH):
            stop = min(count, start + BATCH)
            with connection:
                connection.executemany(insert_node,
                                       node_rows(start, stop, now, versions, inspections))
                connection.executemany(insert_port, port_rows(start, stop, now, versions))
                if inspections:
                    connection.executemany(insert_inventory, inventory_rows(
                        start, stop, now, versions, inspections))
    finally:
        connection.close()


def build(ironic_bin: Path, database: Path, count: int, inspected: bool = False,
          schema_cache: Path | None = None) -> float:
    """Create ``database`` with ``count`` nodes; returns the seconds the inserts took.

    ``schema_cache`` keeps the empty schema (``ironic-dbsync`` takes a few seconds)."""
    if schema_cache is not None and schema_cache.exists():
        database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(schema_cache, database)
    else:
        create_schema(ironic_bin, database)
        if schema_cache is not None:
            schema_cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(database, schema_cache)
    versions = object_versions(ironic_bin)
    began = time.monotonic()
    populate(database, count, versions, inspected)
    return time.monotonic() - began


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="the SQLite file to create (replaced)")
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--inspected", action="store_true",
                        help="give nodes inspection times, properties and inventories")
    parser.add_argument("--ironic-bin", type=Path, default=REPO / ".venv-ironic" / "bin")
    args = parser.parse_args(argv)
    seconds = build(args.ironic_bin, args.database, args.nodes, args.inspected)
    print(f"{args.nodes} nodes with one port each in {args.database}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
