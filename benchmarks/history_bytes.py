"""Bytes per stored inspection: a MetalScope history version against upstream's copy, for a
small and a large server, and the CPU each history codec costs.

    .venv/bin/python benchmarks/history_bytes.py [--repeat 20] [--upstream-run]

Both inventories come from the simulator (``metalscope.simulator``): a 1U server with two
NICs, and a 2U server with 16 NICs (LLDP on every cabled port), 24 disks, an NVMe
controller per disk and the extra-hardware collector's data. The processed data is what
upstream's six default processing hooks make of the ramdisk's document (MetalScope's
implementation of them; no Ironic needed). Upstream ironic-inspector 12.5.0 stores both
documents, without the ramdisk logs, as ``json.dumps`` text in two ``introspection_data``
rows; that is its figure. Then every codec is measured on the same documents: stored
bytes, encode and decode time (median of ``--repeat``), and a version recorded and read
back through the repository on SQLite. With ``--upstream-run`` the documents and upstream's
bytes come instead from a real run of upstream against a real Ironic
(``benchmarks/history_upstream.py``; ``scripts/setup``'s ``.venv-ironic``): the sizes of the
rows it wrote, and the very documents it stored. Figures go to stdout as a table and to
``benchmarks/results/history_bytes.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import json
import lzma
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from metalscope.extensions import ExtensionRegistry  # noqa: E402
from metalscope.settings.loader import load_settings  # noqa: E402
from metalscope.simulator.inventory import (  # noqa: E402
    SimulatedNode,
    SimulatedPciDevice,
    make_node,
    ramdisk_data,
)
from metalscope.storage import history_codec, migrate  # noqa: E402
from metalscope.storage.engine import create_engine  # noqa: E402
from metalscope.storage.repository import Repository, utcnow  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "history_bytes.json"
#: Upstream's ``$default_processing_hooks``.
HOOKS = ("ramdisk_error,root_disk_selection,scheduler,validate_interfaces,capabilities,"
         "pci_devices")
SEED = 20261206
LARGE_DISKS = 24

Documents = tuple[dict[str, Any], dict[str, Any]]


def small_server() -> SimulatedNode:
    return make_node(SEED, 0, model="PowerEdge R650", nic_count=2)


def large_server() -> SimulatedNode:
    """A 16-NIC server given 24 disks (the simulator's own, repeated with new names,
    serials and WWNs), an NVMe controller per disk and the extra-hardware collector's data."""
    node = make_node(SEED, 1, model="ThinkSystem SR650 V2", nic_count=16)
    disks = tuple(dataclasses.replace(
        node.disks[k % len(node.disks)], name=f"/dev/nvme{k}n1",
        serial=f"S6EXNG0T{k:06d}", wwn=f"eui.0025385b71{k:06x}", hctl=None,
        by_path=f"/dev/disk/by-path/pci-0000:{0xc1 + k:02x}:00.0-nvme-1")
        for k in range(LARGE_DISKS))
    nvme = tuple(SimulatedPciDevice(f"0000:{0xc1 + k:02x}:00.0", "144d", "a80a", "010802",
                                    "00", str(k % 2)) for k in range(LARGE_DISKS))
    return dataclasses.replace(node, disks=disks, pci_devices=node.pci_devices + nvme,
                               extra_hardware=True)


def documents(node: SimulatedNode, registry: ExtensionRegistry) -> Documents:
    """(processed, unprocessed) as an introspection stores them: without the logs."""
    posted = ramdisk_data(node)
    unprocessed = {k: v for k, v in posted.items() if k != "logs"}
    processed = copy.deepcopy(posted)
    for _name, hook in registry.hooks:
        hook.before_processing(processed)
    processed.pop("logs", None)
    return processed, unprocessed


def upstream_bytes(docs: Documents) -> int:
    """What ironic-inspector 12.5.0 writes: ``json.dumps(data)`` of each document."""
    return sum(len(json.dumps(doc).encode()) for doc in docs)


def _joint(compress: Callable[[bytes], bytes]) -> Callable[[Documents], int]:
    """Both documents compressed as one stream (the compressor finds the repeats)."""
    return lambda docs: len(compress(history_codec.dumps(list(docs))))


def _codec(name: str) -> Callable[[Documents], int]:
    return lambda docs: history_codec.encode(*docs, codec=name).stored_bytes


#: Name → stored bytes of (processed, unprocessed).
VARIANTS: dict[str, Callable[[Documents], int]] = {
    "zlib, apart": _codec("zlib"),
    "lzma, apart": _codec("lzma"),
    "zlib, one stream": _joint(lambda raw: zlib.compress(raw, 9)),
    "lzma, one stream": _joint(lzma.compress),
    "zlib, shared keys (chosen)": _codec("shared+zlib"),
    "lzma, shared keys": _codec("shared+lzma"),
}
CODECS = {"zlib, apart": "zlib", "lzma, apart": "lzma",
          "zlib, shared keys (chosen)": "shared+zlib", "lzma, shared keys": "shared+lzma"}


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def codec_times(docs: Documents, codec: str, repeat: int) -> dict[str, float]:
    encoded = history_codec.encode(*docs, codec=codec)
    return {"encode_ms": median_ms(lambda: history_codec.encode(*docs, codec=codec), repeat),
            "decode_ms": median_ms(lambda: history_codec.decode(
                codec, encoded.processed, encoded.unprocessed), repeat)}


def measure_codecs(docs: Documents, repeat: int) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    for name, stored in VARIANTS.items():
        entry: dict[str, Any] = {"stored_bytes": stored(docs)}
        if name in CODECS:
            entry.update(codec_times(docs, CODECS[name], repeat))
        figures[name] = entry
    return figures


async def repository_latency(docs: Documents, repeat: int) -> dict[str, float]:
    """Median ms of record_version and get_version on SQLite (a temporary file)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/history.sqlite"
        migrate.upgrade(url)
        repo = Repository(create_engine(url))
        try:
            record, read = [], []
            for _ in range(repeat):
                start = time.perf_counter()
                version = await repo.record_version(
                    "0a4e1f5c-7b0d-4c8e-9e61-3d2f5b8c9a10", started_at=None,
                    finished_at=utcnow(), source="inband", processed=docs[0],
                    unprocessed=docs[1], error=None, summary=None, changed=None)
                record.append(time.perf_counter() - start)
                start = time.perf_counter()
                await repo.get_version("0a4e1f5c-7b0d-4c8e-9e61-3d2f5b8c9a10", version)
                read.append(time.perf_counter() - start)
        finally:
            await repo.engine.dispose()
    return {"record_ms": round(statistics.median(record) * 1000, 3),
            "read_ms": round(statistics.median(read) * 1000, 3)}


MACHINES = {"small (1U, 2 NICs)": small_server,
            "large (16 NICs, LLDP, 24 disks, extra data)": large_server}


def simulated(machines: list[SimulatedNode]) -> list[tuple[Documents, int]]:
    """The documents as MetalScope's hooks process them, upstream's bytes computed."""
    settings = load_settings(overrides={"processing": {"processing_hooks": HOOKS,
                                                       "store_data": "database"}})
    registry = ExtensionRegistry.from_settings(settings)
    pairs = [documents(machine, registry) for machine in machines]
    return [(docs, upstream_bytes(docs)) for docs in pairs]


def from_upstream(machines: list[SimulatedNode]) -> list[tuple[Documents, int]]:
    """The documents and row sizes of a real upstream run."""
    from history_upstream import upstream_rows

    rows = upstream_rows(REPO / ".venv-ironic" / "bin", machines)
    return [((row.processed, row.unprocessed), row.stored_bytes) for row in rows]


def run(repeat: int, upstream_run: bool) -> dict[str, Any]:
    machines = [make() for make in MACHINES.values()]
    measured = from_upstream(machines) if upstream_run else simulated(machines)
    results: dict[str, Any] = {"upstream_bytes_from": "a real ironic-inspector 12.5.0 run"
                               if upstream_run else "json.dumps of the same documents"}
    for label, (docs, upstream) in zip(MACHINES, measured, strict=True):
        results[label] = {
            "json_bytes": {"processed": len(history_codec.dumps(docs[0])),
                           "unprocessed": len(history_codec.dumps(docs[1]))},
            "upstream_bytes": upstream,
            "codecs": measure_codecs(docs, repeat),
            "repository": asyncio.run(repository_latency(docs, repeat)),
        }
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"upstream's bytes: {results['upstream_bytes_from']}"]
    for label, figures in results.items():
        if not isinstance(figures, dict):
            continue
        upstream = figures["upstream_bytes"]
        lines.append(f"{label}: upstream stores {upstream:,} bytes per inspection "
                     f"(processed + unprocessed JSON)")
        for name, entry in figures["codecs"].items():
            times = (f"  encode {entry['encode_ms']:.2f} ms, decode {entry['decode_ms']:.2f} ms"
                     if "encode_ms" in entry else "")
            lines.append(f"  {name:<28} {entry['stored_bytes']:>8,} bytes "
                         f"({entry['stored_bytes'] / upstream:6.1%} of upstream){times}")
        repo = figures["repository"]
        lines.append(f"  repository on SQLite: record_version {repo['record_ms']:.2f} ms, "
                     f"get_version {repo['read_ms']:.2f} ms (median)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--upstream-run", action="store_true",
                        help="measure upstream's rows in a real run (needs .venv-ironic)")
    args = parser.parse_args()
    results = run(max(args.repeat, 1), args.upstream_run)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
