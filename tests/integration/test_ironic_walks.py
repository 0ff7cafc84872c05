"""The PXE filter's rounds against the real Ironic: what an idle round costs, how soon a new
port is filtered and a deleted one forgotten.

The filter runs in-process (dnsmasq's hosts directory, no dnsmasq: the files are what it
would read) over a real SQLite database and an IronicClient on a real Ironic.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.ironic_client import IronicClient, StaticCredentials
from metalscope.pxe_filter.dnsmasq import HostsDir
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.settings import Settings, load_settings
from metalscope.storage.repository import Repository
from metalscope.testing.ironic import LocalIronic
from tests.factories import start_introspection

pytestmark = pytest.mark.integration

SYNC_PERIOD = 0.5
FULL_SYNC_PERIOD = 3


class Counter:
    """Every request an IronicClient sends, and the bytes of the bodies it reads."""

    def __init__(self) -> None:
        self.requests: list[httpx.URL] = []
        self.bytes = 0

    async def on_response(self, response: httpx.Response) -> None:
        await response.aread()
        self.requests.append(response.request.url)
        self.bytes += len(response.content)

    def reset(self) -> None:
        self.requests, self.bytes = [], 0


def counting_client(url: str, counter: Counter) -> IronicClient:
    http = httpx.AsyncClient(event_hooks={"response": [counter.on_response]})
    return IronicClient(StaticCredentials(url), http)


def filter_settings(hosts: Path, full_sync_period: float) -> Settings:
    return load_settings(overrides={
        "pxe_filter": {"driver": "dnsmasq", "sync_period": SYNC_PERIOD,
                       "full_sync_period": full_sync_period},
        "dnsmasq_pxe_filter": {"dhcp_hostsdir": str(hosts)}})


def make_filter(tmp_path: Path, repo: Repository, client: IronicClient,
                full_sync_period: float = FULL_SYNC_PERIOD,
                overlap: float = 60) -> tuple[DiffFilter, Path]:
    hosts = tmp_path / f"hosts-{full_sync_period}"
    hosts.mkdir()
    settings = filter_settings(hosts, full_sync_period)
    return DiffFilter(HostsDir(hosts), settings, repo, client, feed_overlap=overlap), hosts


def mac_file(hosts: Path, mac: str) -> str | None:
    path = hosts / mac
    return path.read_text() if path.exists() else None


@pytest.fixture
async def counted(ironic: LocalIronic) -> AsyncIterator[tuple[IronicClient, Counter]]:
    counter = Counter()
    client = counting_client(ironic.url, counter)
    yield client, counter
    await client.aclose()


async def test_new_port_is_filtered_within_one_round(
        tmp_path: Path, repo: Repository, counted: tuple[IronicClient, Counter],
        make_node: Any) -> None:
    client, counter = counted
    await start_introspection(repo, "11111111-1111-4111-8111-111111111111",
                              ["02:ff:00:00:00:01"])  # unknown MACs are allowed meanwhile
    pxe, hosts = make_filter(tmp_path, repo, client)
    await pxe.start()
    node = await asyncio.to_thread(make_node)
    mac = (await client.list_node_ports(node["uuid"]))[0]["address"]
    assert mac_file(hosts, mac) is None
    counter.reset()
    await pxe.reconcile()
    assert mac_file(hosts, mac) == f"{mac},ignore\n"
    assert [(u.path, u.params["sort_key"]) for u in counter.requests] == [
        ("/v1/ports", "updated_at"), ("/v1/ports", "id")]
    await pxe.stop()


async def test_deleted_port_is_forgotten_after_the_walk(
        tmp_path: Path, repo: Repository, counted: tuple[IronicClient, Counter],
        ironic: LocalIronic, make_node: Any) -> None:
    client, _ = counted
    await start_introspection(repo, "22222222-2222-4222-8222-222222222222",
                              ["02:ff:00:00:00:02"])
    node = await asyncio.to_thread(make_node)
    mac = (await client.list_node_ports(node["uuid"]))[0]["address"]
    pxe, hosts = make_filter(tmp_path, repo, client)
    await pxe.start()
    assert mac_file(hosts, mac) == f"{mac},ignore\n"
    await asyncio.to_thread(ironic.delete_node, node["uuid"])
    deleted = time.monotonic()
    while mac_file(hosts, mac) != f"{mac}\n":  # unknown, so allowed during introspection
        assert time.monotonic() - deleted < FULL_SYNC_PERIOD + 2 * SYNC_PERIOD + 5, \
            "the deleted port is still filtered as Ironic's"
        await asyncio.sleep(SYNC_PERIOD)
        await pxe.reconcile()
    await pxe.stop()


# -- what an idle round costs, on an Ironic of its own ----------------------------------------

SIZES = (50, 1050)
#: Seconds the feed reads back (60 in service; short here, so the fleet is soon "idle").
OVERLAP = 2.0


@pytest.fixture(scope="module")
def own_ironic(repo_root: Path, tmp_path_factory: pytest.TempPathFactory,
               ironic: LocalIronic) -> Iterator[LocalIronic]:
    """An Ironic with only the ports this module enrolls (``ironic`` first: it skips or
    fails the module the same way when Ironic is not installed)."""
    bin_dir = Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic")
    with LocalIronic(tmp_path_factory.mktemp("idle-ironic"), bin_dir / "bin",
                     schema_cache_dir=repo_root / ".work" / "ironic-schema") as local:
        yield local


async def enroll_ports(url: str, first: int, count: int) -> None:
    """``count`` ports, 100 to a node, posted 8 at a time."""
    headers = {"X-OpenStack-Ironic-API-Version": "1.109"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        nodes = []
        for _ in range((count + 99) // 100):
            nodes.append((await http.post("/v1/nodes", json={"driver": "fake-hardware"}))
                         .json()["uuid"])
        slots = asyncio.Semaphore(8)

        async def port(i: int) -> None:
            async with slots:
                n = first + i
                response = await http.post("/v1/ports", json={
                    "node_uuid": nodes[i // 100],
                    "address": f"02:0e:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x}"})
                assert response.status_code == 201, response.text

        await asyncio.gather(*(port(i) for i in range(count)))


async def test_idle_round_is_two_small_requests_whatever_the_fleet(
        tmp_path: Path, repo: Repository, own_ironic: LocalIronic) -> None:
    """An idle round sends two GETs of at most 50 ports whatever the number of ports; the
    full listing of every port (``full_sync_period = 0``) grows with them."""
    figures = {}
    enrolled = 0
    for size in SIZES:
        await enroll_ports(own_ironic.url, enrolled, size - enrolled)
        enrolled = size
        counter = Counter()
        client = counting_client(own_ironic.url, counter)
        base = tmp_path / str(size)
        base.mkdir()
        pxe, _ = make_filter(base, repo, client, full_sync_period=3600, overlap=OVERLAP)
        await pxe.start()
        # The ports just enrolled are read again while less than an overlap old.
        await asyncio.sleep(OVERLAP + 0.5)
        await pxe.reconcile()
        logged = len(own_ironic.api_requests())
        counter.reset()
        await pxe.reconcile()
        idle = (len(counter.requests), counter.bytes)
        assert [(u.path, u.params["limit"]) for u in counter.requests] == [
            ("/v1/ports", "50"), ("/v1/ports", "50")]
        assert [r.method for r in own_ironic.api_requests()[logged:]] == ["GET", "GET"]
        await pxe.stop()
        full, _ = make_filter(base, repo, client, full_sync_period=0)
        await full.start()
        counter.reset()
        await full.reconcile()
        figures[size] = {"idle": idle, "full": (len(counter.requests), counter.bytes)}
        await full.stop()
        await client.aclose()
    small, large = (figures[size] for size in SIZES)
    print(f"\nidle round vs full listing: {figures}")
    # 50 ports either way: the same size, give or take a timestamp without microseconds.
    assert abs(small["idle"][1] - large["idle"][1]) < small["idle"][1] / 100
    # The full listing grows with the ports (21 times as many here), the idle round does not.
    assert large["full"][0] == 2 and large["full"][1] > 15 * small["full"][1]
    assert large["full"][1] > 5 * large["idle"][1]
