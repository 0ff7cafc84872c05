"""A running ironic-inspector handed over to MetalScope, and back, on one database.

``handover`` runs the whole story against the session's real Ironic: upstream's service
creates rules and introspects nodes (finished, waiting, failed by a rule, aborted); it is
stopped; ``metalscope db upgrade`` adopts its database; MetalScope answers every read as
upstream did, finishes the waiting node with upstream's rules, reapplies stored data, takes
new introspections and rule changes; ``metalscope db downgrade`` gives the database back and
upstream serves it again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.simulator.inventory import SimulatedNode
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository, utcnow
from metalscope.storage.upstream_revisions import HEAD
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope
from metalscope.testing.upstream import LocalUpstreamInspector
from tests.integration.upstream_databases import metalscope_db

VERSION = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
SEED = 5417
FAIL_SCOPE = "handover-fail"
RULES: list[dict[str, Any]] = [
    {"description": "memory seen", "conditions": [
        {"op": "gt", "field": "data://inventory.memory.physical_mb", "value": 0}],
     "actions": [{"action": "set-attribute", "path": "/extra/adopted_rule", "value": "yes"}]},
    {"description": "scoped failure", "scope": FAIL_SCOPE,
     "actions": [{"action": "fail", "message": "The rule said no"}]},
    {"conditions": [{"op": "eq", "field": "node://driver", "value": "nope", "invert": True,
                     "multiple": "any"}],
     "actions": [{"action": "set-capability", "name": "handover", "value": "1"}]},
    {"actions": [{"action": "extend-attribute", "path": "/extra/tags", "value": "adopted",
                  "unique": True}]},
]

NodeFactory = Callable[..., dict[str, Any]]


@dataclass
class Fleet:
    """The nodes of the story, by role, with their simulated machines."""

    machines: dict[str, SimulatedNode]
    uuids: dict[str, str] = field(default_factory=dict)


def wait_status(api: httpx.Client, uuid: str, done: Callable[[dict[str, Any]], bool],
                timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/v1/introspection/{uuid}").json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out, last status {status}")
        time.sleep(0.2)


def enroll(make_node: NodeFactory, first_index: int) -> Fleet:
    roles = ("finished", "reapplied", "waiting", "failed", "aborted", "new")
    fleet = Fleet({role: make_machine(seed=SEED, index=first_index + i, virtual=False)
                   for i, role in enumerate(roles)})
    for role, machine in fleet.machines.items():
        properties = {"inspection_scope": FAIL_SCOPE} if role == "failed" else {}
        node = make_node(driver_info={"ipmi_address": machine.bmc_address},
                         macs=[machine.pxe_mac], properties=properties)
        fleet.uuids[role] = node["uuid"]
    return fleet


def start(api: httpx.Client, uuid: str) -> None:
    response = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert response.status_code == 202, response.text
    wait_status(api, uuid, lambda s: s["state"] == "waiting")


def post_data(api: httpx.Client, fleet: Fleet, role: str) -> httpx.Response:
    return api.post("/v1/continue", json=ramdisk_data(fleet.machines[role]))


def run_upstream(api: httpx.Client, fleet: Fleet) -> list[str]:
    """Rules and introspections on upstream's service; returns the rule UUIDs."""
    rules = []
    for rule in RULES:
        response = api.post("/v1/rules", json=rule)
        assert response.status_code == 201, response.text
        rules.append(response.json()["uuid"])
    for role in ("finished", "reapplied", "waiting", "failed", "aborted"):
        start(api, fleet.uuids[role])
    for role in ("finished", "reapplied", "failed"):
        post_data(api, fleet, role)
        wait_status(api, fleet.uuids[role], lambda s: s["finished"])
    assert api.post(f"/v1/introspection/{fleet.uuids['aborted']}/abort").status_code == 202
    wait_status(api, fleet.uuids["aborted"], lambda s: s["finished"])
    return rules


def answers(api: httpx.Client, fleet: Fleet, rules: list[str]) -> dict[str, Any]:
    """Every read upstream's API offers on this data: status code and JSON, links made
    relative to the service's own address."""
    paths = ["/v1/introspection", "/v1/introspection?state=waiting,error",
             "/v1/introspection?limit=2", "/v1/rules"]
    paths += [f"/v1/rules/{uuid}" for uuid in rules]
    for role in ("finished", "reapplied", "waiting", "failed", "aborted"):
        uuid = fleet.uuids[role]
        paths += [f"/v1/introspection/{uuid}", f"/v1/introspection/{uuid}/data",
                  f"/v1/introspection/{uuid}/data/unprocessed"]
    base = str(api.base_url).rstrip("/")
    return {path: _answer(api.get(path), base) for path in paths}


def _answer(response: httpx.Response, base: str) -> tuple[int, Any]:
    return response.status_code, json.loads(response.text.replace(base, "BASE"))


def check_metalscope(api: httpx.Client, ironic: LocalIronic, fleet: Fleet) -> None:
    """The waiting node finishes with upstream's rules, stored data is reapplied, a new
    introspection and a rule change work."""
    waiting = fleet.uuids["waiting"]
    assert post_data(api, fleet, "waiting").json() == {"uuid": waiting}
    status = wait_status(api, waiting, lambda s: s["finished"])
    assert status["state"] == "finished" and status["error"] is None
    node = ironic.get_node(waiting)
    assert node["extra"]["adopted_rule"] == "yes" and node["extra"]["tags"] == ["adopted"]
    assert "handover:1" in node["properties"]["capabilities"]
    reapplied = fleet.uuids["reapplied"]
    before = api.get(f"/v1/introspection/{reapplied}").json()
    assert api.post(f"/v1/introspection/{reapplied}/data/unprocessed").status_code == 202
    # A reapply runs in the background with `finished` still true, as upstream: wait for its state.
    after = wait_status(api, reapplied, lambda s: s["state"] != "reapplying")
    assert after["state"] == "finished" and after["started_at"] > before["started_at"]
    start(api, fleet.uuids["new"])
    post_data(api, fleet, "new")
    assert wait_status(api, fleet.uuids["new"], lambda s: s["finished"])["state"] == "finished"
    assert ironic.get_node(fleet.uuids["new"])["extra"]["adopted_rule"] == "yes"
    created = api.post("/v1/rules", json={"actions": [{"action": "example"}]})
    assert created.status_code == 201, created.text
    assert api.delete(f"/v1/rules/{created.json()['uuid']}").status_code == 204


@dataclass
class Handover:
    workdir: Path
    database_url: str
    ironic: LocalIronic
    upstream_bin: Path

    def upstream(self) -> LocalUpstreamInspector:
        return LocalUpstreamInspector(self.workdir / "upstream", self.ironic.url,
                                      self.upstream_bin, database_url=self.database_url)

    def metalscope(self) -> LocalMetalScope:
        return LocalMetalScope(self.workdir / "metalscope", self.ironic.url,
                               options={"database": {"connection": self.database_url}})

    def run(self, make_node: NodeFactory, first_index: int) -> None:
        fleet = enroll(make_node, first_index)
        with self.upstream() as upstream, _client(upstream.url) as api:
            rules = run_upstream(api, fleet)
            expected = answers(api, fleet, rules)
        adopted = metalscope_db(self.workdir / "metalscope", self.database_url, "upgrade")
        assert adopted.returncode == 0, adopted.stderr
        assert f"Adopted the ironic-inspector database at revision {HEAD}" in adopted.stdout
        with self.metalscope() as metalscope, _client(metalscope.url) as api:
            assert answers(api, fleet, rules) == expected
            check_metalscope(api, self.ironic, fleet)
            final = api.get("/v1/introspection").json()["introspection"]
        asyncio.run(_keep_history(self.database_url, final[0]["uuid"]))
        back = metalscope_db(self.workdir / "metalscope", self.database_url, "downgrade")
        assert back.returncode == 0, back.stderr
        with self.upstream() as upstream, _client(upstream.url) as api:
            again = answers(api, fleet, rules)
            assert again["/v1/rules"] == expected["/v1/rules"]
            assert {k: v for k, v in again.items() if k.startswith("/v1/rules/")} == {
                k: v for k, v in expected.items() if k.startswith("/v1/rules/")}
            listed = api.get("/v1/introspection").json()["introspection"]
            assert _states(listed) == _states(final) and len(listed) == 6


async def _keep_history(database_url: str, uuid: str) -> None:
    """Hardware history versions in the database handed back: the downgrade drops them."""
    repo = Repository(create_engine(database_url))
    try:
        for _ in range(2):
            await repo.record_version(uuid, started_at=None, finished_at=utcnow(),
                                      source="inband", processed={"inventory": {}},
                                      unprocessed=None, error=None, summary=None, changed=None)
    finally:
        await repo.engine.dispose()


def _states(statuses: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(s["uuid"], s["state"], s["error"]) for s in statuses]


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers=VERSION, timeout=60)
