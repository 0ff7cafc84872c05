"""Three MetalScope instances over one PostgreSQL or MariaDB database, behind a balancer.

Hundreds of simulated nodes go through the instances round robin; one instance is killed
with SIGKILL in the middle, and every node must still be accounted for: finished, its
hardware in Ironic, processed to the end exactly once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import (
    RetryPolicy,
    SimulatedNode,
    make_fleet,
    post_inventory,
    ramdisk_data,
    run_fleet,
)
from metalscope.testing.balancer import RoundRobinBalancer
from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

FLEET_SIZE = int(os.environ.get("METALSCOPE_SCALE_OUT_NODES", "200"))
FLEET_SEED = 5150
QUICK_RETRIES = RetryPolicy(attempts=8, backoff=lambda retry: min(0.5 * retry, 3.0))
FINISHED_LINE = re.compile(r"Introspection of node ([0-9a-f-]{36}) finished")
SETTLE_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def fleet(ironic: LocalIronic) -> Iterator[list[tuple[str, SimulatedNode]]]:
    """``FLEET_SIZE`` machines enrolled in Ironic (PXE port, in ``enroll``)."""
    machines = make_fleet(FLEET_SEED, FLEET_SIZE)
    nodes: list[tuple[str, SimulatedNode]] = []
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        enrolled = pool.map(lambda m: ironic.enroll_node(
            None, {}, [m.pxe_mac], provision_state="enroll"), machines)
        nodes = [(node["uuid"], machine) for node, machine in zip(enrolled, machines, strict=True)]
    yield nodes
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(ironic.delete_node, [uuid for uuid, _ in nodes]))


@contextlib.contextmanager
def instances(workdir: Path, database: ScratchDatabase, ironic_urls: list[str],
              extra: dict[str, dict[str, Any]] | None = None) -> Iterator[list[LocalMetalScope]]:
    """One instance per Ironic URL, all on ``database``; stopped (or already dead) at exit."""
    started: list[LocalMetalScope] = []
    try:
        for index, ironic_url in enumerate(ironic_urls):
            service = LocalMetalScope(workdir / f"instance-{index}", ironic_url, options={
                "DEFAULT": {"clean_up_period": 2},
                "database": {"connection": database.url}, **(extra or {})})
            started.append(service.start())
        yield started
    finally:
        for service in started:
            service.stop()


def backends(services: list[LocalMetalScope]) -> list[tuple[str, int]]:
    return [("127.0.0.1", service.port) for service in services]


def start_all(url: str, uuids: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        def start(uuid: str) -> int:
            return client.post(f"/v1/introspection/{uuid}?manage_boot=0").status_code
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = Counter(pool.map(start, uuids))
    assert codes == {202: len(uuids)}, codes


def statuses(url: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{url}/v1/introspection?limit=1000", timeout=30,
                         headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.18"})
    response.raise_for_status()
    return {item["uuid"]: item for item in response.json()["introspection"]}


def wait_settled(url: str, uuids: list[str]) -> dict[str, dict[str, Any]]:
    """Statuses once every node is finished or in error (or the timeout passes)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        current = statuses(url)
        if all(current[u]["state"] in ("finished", "error") for u in uuids):
            return current
        if time.monotonic() > deadline:
            return current
        time.sleep(0.5)


def history_versions(url: str, uuids: list[str]) -> dict[str, int]:
    """How many hardware versions each node's history holds."""
    with httpx.Client(base_url=url, timeout=30,
                      headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}) as client:
        def count(uuid: str) -> int:
            response = client.get(f"/v1/introspection/{uuid}/history")
            response.raise_for_status()
            return len(response.json()["history"])
        return {uuid: count(uuid) for uuid in uuids}


def finished_lines(services: list[LocalMetalScope]) -> Counter[str]:
    seen: Counter[str] = Counter()
    for service in services:
        seen.update(FINISHED_LINE.findall(service.log_file.read_text(errors="replace")))
    return seen


def ironic_properties(ironic: LocalIronic) -> dict[str, dict[str, Any]]:
    """Every node's properties, a page of 1000 at a time."""
    nodes: dict[str, dict[str, Any]] = {}
    marker = ""
    while True:
        page = ironic._checked(
            "GET", f"/v1/nodes?fields=uuid,properties&limit=1000{marker}")["nodes"]
        nodes.update((n["uuid"], n) for n in page)
        if len(page) < 1000:
            return nodes
        marker = f"&marker={page[-1]['uuid']}"


def unsettled_report(current: dict[str, dict[str, Any]], uuids: list[str]) -> str:
    left = Counter(current[u]["state"] for u in uuids)
    errors = {current[u]["error"] for u in uuids if current[u]["error"]}
    return f"states {dict(left)}, errors {sorted(errors)[:5]}"


def kill_while_processing(uuid: str, machine: SimulatedNode, doomed: LocalMetalScope,
                          other: LocalMetalScope, balancer: RoundRobinBalancer,
                          policy: RetryPolicy) -> httpx.Response:
    """Post the node's data through the balancer (it reaches ``doomed`` first), SIGKILL
    ``doomed`` once the node is processing, and return the ramdisk's final answer."""
    outcome: list[httpx.Response] = []

    async def ramdisk() -> None:
        async with httpx.AsyncClient(timeout=180) as client:
            outcome.append(await post_inventory(
                client, f"{balancer.url}/v1/continue", ramdisk_data(machine),
                attempts=policy.attempts, backoff=policy.backoff))

    posting = threading.Thread(target=lambda: asyncio.run(ramdisk()))
    posting.start()
    deadline = time.monotonic() + 60
    while statuses(other.url)[uuid]["state"] != "processing":
        assert time.monotonic() < deadline, "the first instance never started processing"
        time.sleep(0.05)
    doomed.kill()
    posting.join(300)
    assert outcome, "the ramdisk got no answer"
    return outcome[0]


def test_fleet_through_three_instances_survives_a_killed_one(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]],
        scratch_database: ScratchDatabase, tmp_path: Path) -> None:
    uuids = [uuid for uuid, _ in fleet]
    documents = [ramdisk_data(machine) for _, machine in fleet]
    with instances(tmp_path, scratch_database, [ironic.url] * 3) as services, \
            RoundRobinBalancer(backends(services)) as balancer:
        start_all(balancer.url, uuids)
        survivor, victim = services[0], services[1]
        results: list[Any] = []
        ramdisks = threading.Thread(target=lambda: results.extend(asyncio.run(run_fleet(
            balancer.url, documents, concurrency=16, policy=QUICK_RETRIES))))
        ramdisks.start()
        while ramdisks.is_alive():
            done = sum(1 for s in statuses(survivor.url).values() if s["state"] == "finished")
            if done >= len(uuids) // 3:
                victim.kill()
                break
            time.sleep(0.2)
        ramdisks.join(600)
        assert victim.process is not None and victim.process.returncode is not None, \
            "the instance was killed in the middle of the run"
        answered = [(r.status, r.uuid) for r in results]
        assert answered == [(200, uuid) for uuid in uuids], \
            Counter((r.status, r.error) for r in results if r.status != 200)
        current = wait_settled(survivor.url, uuids)
        assert all(current[u]["state"] == "finished" and current[u]["error"] is None
                   for u in uuids), unsettled_report(current, uuids)
        finishes = finished_lines(services)
        versions = history_versions(survivor.url, uuids)
        logs = "".join(service.log_file.read_text(errors="replace") for service in services)
    print(f"\n{len(uuids)} nodes over 3 instances, one killed: "
          f"{sum(1 for r in results if r.attempts > 1)} callbacks retried, "
          f"{logs.count('Resuming the processing of node')} processings resumed on a retry, "
          f"{logs.count('by a stopped instance; recovering it')} records recovered by the leader")
    # A kill between a finish's commit and its log line leaves no line, so the log only
    # shows that no node finished twice; the history, recorded once per introspection in the
    # same database, shows that each was processed to the end exactly once.
    assert all(finishes[u] <= 1 for u in uuids), "no node is finished twice"
    assert versions == dict.fromkeys(uuids, 1), \
        "every node is processed to the end exactly once"
    nodes = ironic_properties(ironic)
    for uuid, machine in fleet:
        assert nodes[uuid]["properties"].get("memory_mb") == str(machine.memory_mb), uuid


def test_processing_cut_by_a_kill_resumes_on_the_ramdisk_retry(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]],
        scratch_database: ScratchDatabase, tmp_path: Path) -> None:
    """The instance processing a node dies; the retry, through the balancer, finishes it."""
    uuid, machine = fleet[0]
    with RoundRobinBalancer([("127.0.0.1", ironic.port)], delay=0.3) as slow_ironic, \
            instances(tmp_path, scratch_database, [slow_ironic.url, ironic.url]) as services, \
            RoundRobinBalancer(backends(services)) as balancer:
        doomed, other = services
        start_all(other.url, [uuid])
        answer = kill_while_processing(uuid, machine, doomed, other, balancer, QUICK_RETRIES)
        assert answer.status_code == 200 and answer.json() == {"uuid": uuid}
        status = wait_settled(other.url, [uuid])[uuid]
        assert status["state"] == "finished" and status["error"] is None
        assert "Resuming the processing of node " + uuid in other.log_file.read_text()
    assert ironic.get_node(uuid)["properties"]["memory_mb"] == str(machine.memory_mb)


def test_the_same_callback_on_every_instance_at_once_is_processed_once(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]],
        scratch_database: ScratchDatabase, tmp_path: Path) -> None:
    uuid, machine = fleet[1]
    body = ramdisk_data(machine)
    with instances(tmp_path, scratch_database, [ironic.url] * 3) as services:
        start_all(services[0].url, [uuid])

        async def post_everywhere() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=120) as client:
                return list(await asyncio.gather(*(
                    post_inventory(client, f"{s.url}/v1/continue", body) for s in services)))

        responses = asyncio.run(post_everywhere())
        assert [(r.status_code, r.json()) for r in responses] == [(200, {"uuid": uuid})] * 3
        assert wait_settled(services[2].url, [uuid])[uuid]["state"] == "finished"
        assert finished_lines(services)[uuid] == 1


def test_with_a_tooz_redis_backend_a_cut_processing_resumes_once_its_lock_expires(
        ironic: LocalIronic, fleet: list[tuple[str, SimulatedNode]], tmp_path: Path) -> None:
    """``[coordination]backend_url = redis://``: the dead instance's lock expires (tooz's
    lock timeout, 30 s) and the ramdisk's retry then finishes the node on the other one."""
    from tests.integration.server_databases.test_shared_locks import REDIS_URL, require_redis

    require_redis()
    uuid, machine = fleet[2]
    coordination = {"coordination": {"backend_url": REDIS_URL}}
    patient = RetryPolicy(attempts=12, backoff=lambda retry: 5.0)
    with ScratchDatabase.create("postgresql") as database, \
            RoundRobinBalancer([("127.0.0.1", ironic.port)], delay=0.3) as slow_ironic, \
            instances(tmp_path, database, [slow_ironic.url, ironic.url],
                      coordination) as services, \
            RoundRobinBalancer(backends(services)) as balancer:
        doomed, other = services
        assert "tooz backend redis://" in other.log_file.read_text()
        start_all(other.url, [uuid])
        answer = kill_while_processing(uuid, machine, doomed, other, balancer, patient)
        assert answer.status_code == 200 and answer.json() == {"uuid": uuid}
        status = wait_settled(other.url, [uuid])[uuid]
        assert status["state"] == "finished" and status["error"] is None
