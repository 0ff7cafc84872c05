"""Following Ironic 39's own inspections: a real ``metalscope serve`` with ``[follower]``
beside an Ironic that inspects by itself (``inspect_interface = agent``, inventories in its
database), the ramdisk simulated posting to Ironic's ``/v1/continue_inspection``.

MetalScope picks each inventory up (one inspected before it started, through the backfill;
the others as they come), a second inspection with a DIMM removed gives a diff over
MetalScope's API and a signed webhook received by a real HTTP server, a drift rule sets a
trait seen in Ironic, and a node deleted from Ironic is marked with its history kept.
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.errors import IronicError
from metalscope.follower import backoff
from metalscope.follower.convert import LIST_FIELDS
from metalscope.follower.poll import SORT_KEY
from metalscope.ironic_client import IronicClient
from metalscope.settings import load_settings
from metalscope.simulator import make_node, remove_dimm
from metalscope.storage.engine import create_engine
from metalscope.storage.follower import FollowerStore
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.ironic_inspection import RamdiskInspections, agent_inspecting_ironic
from metalscope.testing.service import LocalMetalScope
from metalscope.testing.webhook_receiver import WebhookReceiver
from tests.integration.following import history_of, wait_until

pytestmark = pytest.mark.integration

SECRET = "follower-shared-secret"
API = {"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}
SEED = 2121
MEMORY_LOST_RULE = {
    "description": "memory lost since the last inspection",
    "conditions": [{"op": "lt", "field": "diff://memory.total_mb.delta", "value": 0}],
    "actions": [{"action": "add-trait", "name": "CUSTOM_MEMORY_LOST"},
                {"action": "set-attribute", "path": "/extra/metalscope_drift",
                 "value": "memory"}],
}


@pytest.fixture(scope="module")
def inspecting_ironic(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory,
                      repo_root: Path) -> Iterator[LocalIronic]:
    """A second Ironic 39 (the session's installation) inspecting by itself."""
    local = agent_inspecting_ironic(tmp_path_factory.mktemp("follow-ironic"), ironic.bin_dir,
                                    schema_cache_dir=repo_root / ".work" / "ironic-schema")
    with local:
        yield local




def versions(api: httpx.Client, uuid: str, count: int) -> list[dict[str, Any]]:
    return list(wait_until(lambda: (h := history_of(api, uuid)) and len(h) >= count and h,
                           f"{count} version(s) of node {uuid}"))


def test_follows_ironics_own_inspections(inspecting_ironic: LocalIronic,
                                         tmp_path: Path) -> None:
    ramdisk = RamdiskInspections(inspecting_ironic)
    early_machine = make_node(SEED, 0)
    early = ramdisk.enroll(early_machine)
    ramdisk.inspect(early["uuid"], early_machine)  # before MetalScope runs: backfilled

    receiver = WebhookReceiver(SECRET)
    with receiver.running():
        service = LocalMetalScope(tmp_path / "metalscope", inspecting_ironic.url, options={
            "follower": {"enabled": True, "poll_interval": 1, "backfill_per_poll": 5},
            "drift": {"notifiers": "log,webhook", "webhook_url": receiver.url,
                      "webhook_secret": SECRET, "webhook_retry_delay": 0.1},
        })
        with service, httpx.Client(base_url=service.url, timeout=30, headers=API) as api:
            (first,) = versions(api, early["uuid"], 1)
            assert first["source"] == "ironic-agent"
            assert first["finished_at"].startswith(
                early_uuid_time(inspecting_ironic, early["uuid"]))

            created = api.post("/v1/rules", json=MEMORY_LOST_RULE)
            assert created.status_code in (200, 201), created.text

            machine = make_node(SEED, 1)
            node = ramdisk.enroll(machine)
            uuid = node["uuid"]
            ramdisk.inspect(uuid, machine)
            (v1,) = versions(api, uuid, 1)
            assert v1["version"] == 1 and v1["source"] == "ironic-agent"
            status = api.get(f"/v1/introspection/{uuid}").json()
            assert status["finished"] is True and status["error"] is None

            changed = remove_dimm(machine)
            ramdisk.inspect(uuid, changed)
            v2 = versions(api, uuid, 2)[0]
            assert v2["version"] == 2 and v2["changed"] is True

            diff = api.get(f"/v1/introspection/{uuid}/diff").json()
            assert diff["changed"] is True
            assert diff["memory"]["total_mb"]["delta"] == changed.memory_mb - machine.memory_mb
            assert diff["components"]["memory"]["removed"]

            (delivery,) = [r for r in receiver.wait_for(1)
                           if r.payload()["node"]["uuid"] == uuid]
            assert delivery.signature_ok and delivery.status == 200
            payload = delivery.payload()
            assert (payload["from_version"], payload["to_version"]) == (1, 2)

            traits = wait_until(lambda: "CUSTOM_MEMORY_LOST" in (
                t := inspecting_ironic.get_node(uuid)["traits"]) and t, "the drift trait")
            assert traits == ["CUSTOM_MEMORY_LOST"]
            ironic_node = inspecting_ironic.get_node(uuid)
            assert ironic_node["extra"]["metalscope_drift"] == "memory"
            assert ironic_node["provision_state"] == "manageable"
            assert not ironic_node["maintenance"]

            metrics = api.get("/metrics").text
            assert 'metalscope_follower_versions_total{source="ironic-agent"} 3.0' in metrics

            inspecting_ironic.delete_node(early["uuid"])
            wait_until(lambda: early["uuid"] in deleted_nodes(service),
                       "the deleted node's mark")
            assert len(history_of(api, early["uuid"])) == 1  # kept
        log = service.log_file.read_text()
    assert "Following Ironic" in log
    assert f"node {early['uuid']} was deleted from Ironic" in log


def early_uuid_time(ironic: LocalIronic, uuid: str) -> str:
    """Ironic's inspection_finished_at of the node, to the second, as MetalScope shows it."""
    finished = str(ironic.get_node(uuid)["inspection_finished_at"])
    return finished[:19]


def deleted_nodes(service: LocalMetalScope) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(str(service.sections["database"]["connection"]))
        try:
            return set(await FollowerStore(engine).deleted())
        finally:
            await engine.dispose()
    return asyncio.run(read())


def test_ironic_answers_as_the_follower_reads_it(inspecting_ironic: LocalIronic) -> None:
    """Ironic 39 itself: the sort key and fields are accepted, pages follow the marker newest
    first (and stop before the nodes never inspected), and its two 404s (no inventory, no
    node) are told apart."""
    ramdisk = RamdiskInspections(inspecting_ironic)
    inspected = []
    for index in range(10, 13):
        machine = make_node(SEED, index)
        node = ramdisk.enroll(machine)
        ramdisk.inspect(node["uuid"], machine)
        inspected.append(node["uuid"])
    never = ramdisk.enroll(make_node(SEED, 13))["uuid"]

    async def check() -> None:
        settings = load_settings(overrides={"ironic": {
            "auth_type": "none", "endpoint_override": inspecting_ironic.url}})
        client = IronicClient.from_settings(settings)
        try:
            listed: list[dict[str, Any]] = []
            marker = None
            while True:
                page, marker = await client.list_nodes_page(
                    fields=LIST_FIELDS, sort_key=SORT_KEY, sort_dir="desc", limit=1,
                    marker=marker)
                listed.extend(page)
                if marker is None:
                    break
            assert set(listed[0]) - {"links"} == set(LIST_FIELDS)
            times = [n["inspection_finished_at"] for n in listed
                     if n["inspection_finished_at"]]
            assert times == sorted(times, reverse=True)
            order = [n["uuid"] for n in listed if n["uuid"] in inspected]
            assert order == list(reversed(inspected))
            # Pages after a node with a time never reach the nodes without one (on its
            # SQLite, NULL sorts last and the marker's comparison leaves NULL out); a first
            # page lists them after the others.
            assert never not in {n["uuid"] for n in listed}
            first, _ = await client.list_nodes_page(fields=LIST_FIELDS, sort_key=SORT_KEY,
                                                    sort_dir="desc", limit=100)
            assert first[-1]["uuid"] == never and first[-1]["inspection_finished_at"] is None
            answer = await client.get_inventory(inspected[0])
            assert answer["inventory"]["interfaces"] and "plugin_data" in answer
            with pytest.raises(IronicError) as missing:
                await client.get_inventory(never)
            assert backoff.inventory_missing(missing.value)
            with pytest.raises(IronicError) as gone:
                await client.get_inventory(str(uuidlib.uuid4()))
            assert backoff.node_gone(gone.value)
        finally:
            await client.aclose()

    asyncio.run(check())
