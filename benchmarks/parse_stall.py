"""How long parsing dense JSON bodies holds the event loop: ``GET /`` latency while clients
post, again and again, ``/v1/continue`` bodies made of as many empty arrays (or objects, or
numbers) as the default parsing budget admits, and the server's peak RSS.

    .venv/bin/python benchmarks/parse_stall.py [--kind arrays] [--posters 3] [--seconds 15]

A fresh Ironic (fake hardware, from ``.venv-ironic``) and ``metalscope serve`` are started;
the bodies find no node (400). Figures go to stdout as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from metalscope.body_budget import parse_cost  # noqa: E402
from metalscope.testing.ironic import LocalIronic  # noqa: E402
from metalscope.testing.service import LocalMetalScope  # noqa: E402

UNITS = {"arrays": b"[],", "objects": b"{},", "nested": b'{"a":[]},', "floats": b"1.5,"}
BUDGET = 64 * 2**20


def densest_body(unit: bytes) -> bytes:
    """The largest body of ``unit`` repeated whose parse cost fits the default budget."""
    low, high = 1, 10_000_000
    while low < high:
        middle = (low + high + 1) // 2
        if parse_cost(b'{"f":[' + unit * middle + b"0]}") <= BUDGET:
            low = middle
        else:
            high = middle - 1
    return b'{"f":[' + unit * low + b"0]}"


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
    return int(rss_kib) / 1024


def measure(url: str, pid: int, body: bytes, posters: int, seconds: float) -> dict[str, object]:
    stop, statuses, peak = threading.Event(), [], [0.0]

    def post() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while not stop.is_set():
                statuses.append(client.post("/v1/continue", content=body).status_code)

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=post) for _ in range(posters)]
    threads.append(threading.Thread(target=sample))
    for thread in threads:
        thread.start()
    latencies = []
    time.sleep(1)
    with httpx.Client(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            began = time.monotonic()
            client.get("/")
            latencies.append(time.monotonic() - began)
            time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join()
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)  # noqa: E731
    return {"get_root_ms": {"n": len(latencies), "p50": pick(0.5), "p95": pick(0.95),
                            "p99": pick(0.99), "max": round(latencies[-1] * 1000, 1)},
            "bodies": {str(s): statuses.count(s) for s in sorted(set(statuses))},
            "peak_rss_mib": round(peak[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=sorted(UNITS), default="arrays")
    parser.add_argument("--posters", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    body = densest_body(UNITS[args.kind])
    with tempfile.TemporaryDirectory() as workdir, \
            LocalIronic(Path(workdir, "ironic"), REPO / ".venv-ironic" / "bin") as ironic, \
            LocalMetalScope(Path(workdir, "ms"), ironic.url) as service:
        assert service.process is not None
        figures = measure(service.url, service.process.pid, body, args.posters, args.seconds)
    print(json.dumps({"kind": args.kind, "body_mib": round(len(body) / 2**20, 2),
                      "posters": args.posters, **figures}), flush=True)


if __name__ == "__main__":
    main()
