"""Records of nodes deleted from Ironic: forgotten as the leader's rolling walk of Ironic's
nodes reaches their UUID range, once Ironic confirms the node is gone."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, cast

from metalscope import background
from metalscope.coordination import LocalCoordinator
from metalscope.errors import NodeNotInIronic
from metalscope.services import Services
from metalscope.settings import load_settings
from metalscope.storage.repository import Repository
from tests.unit.fake_collection import FakeCollection


class Leadership(LocalCoordinator):
    def __init__(self, leader: bool) -> None:
        super().__init__()
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


class NodesIronic:
    """Ironic's nodes, paged as Ironic pages them, and ``get_node``."""

    def __init__(self, count: int) -> None:
        self.nodes = FakeCollection()
        for _ in range(count):
            self.nodes.create()
        #: Nodes a page does not show (created just after it was read).
        self.hidden: set[str] = set()
        self.gets: list[str] = []

    async def list_page(self, path: str, key: str, params: Mapping[str, str],
                        ) -> tuple[list[dict[str, Any]], str | None]:
        assert (path, key) == ("/v1/nodes", "nodes")
        items, following = await self.nodes.list_page(params)
        return [i for i in items if i["uuid"] not in self.hidden], following

    async def get_node(self, node_id: str, fields: Any = None) -> dict[str, Any]:
        self.gets.append(node_id)
        if node_id not in self.nodes.items:
            raise NodeNotInIronic(node_id)
        return {"uuid": node_id}


def services(repo: Repository, ironic: NodesIronic, leader: bool = True,
             **ironic_options: Any) -> Services:
    settings = load_settings(overrides={"ironic": ironic_options} if ironic_options else None)
    return cast(Services, SimpleNamespace(repo=repo, ironic=ironic, settings=settings,
                                          coordinator=Leadership(leader)))


async def introspected(repo: Repository, uuids: list[str]) -> None:
    for uuid in uuids:
        await repo.start_introspection(uuid, False, [], None)


async def test_uuids_between(repo: Repository) -> None:
    uuids = [f"{i:x}0000000-0000-4000-8000-000000000000" for i in range(6)]
    await introspected(repo, uuids[::-1])
    assert await repo.uuids_between(None, None) == uuids
    assert await repo.uuids_between(uuids[1], uuids[3]) == uuids[2:4]
    assert await repo.uuids_between(None, uuids[0]) == uuids[:1]
    assert await repo.uuids_between(uuids[4], None) == uuids[5:]


async def test_deleted_nodes_are_forgotten_page_by_page(repo: Repository) -> None:
    ironic = NodesIronic(2500)
    kept = sorted(ironic.nodes.items)[::50]
    gone = sorted(ironic.nodes.items)[25::500]
    await introspected(repo, kept + gone)
    for uuid in gone:
        ironic.nodes.delete(uuid)
    clock = [0.0]
    svc = services(repo, ironic, node_walk_period=3000)
    walk = background.node_walk(svc, clock=lambda: clock[0])
    assert await background.forget_deleted_nodes(svc, walk) == len(gone)  # first walk: whole
    assert sorted(await repo.all_uuids()) == sorted(kept)
    assert sorted(ironic.gets) == sorted(gone)
    assert [r["sort_key"] for r in ironic.nodes.requests] == ["uuid"] * 3
    assert ironic.nodes.requests[0]["fields"] == "uuid"
    # Afterwards a page every 1,000 s: a node deleted now is forgotten when its page is due.
    last = sorted(kept)[-1]
    ironic.nodes.delete(last)
    for t in (60, 1000, 2000):
        clock[0] = float(t)
        assert last in await repo.all_uuids()
        await background.forget_deleted_nodes(svc, walk)
    clock[0] = 3000.0
    await background.forget_deleted_nodes(svc, walk)
    assert last not in await repo.all_uuids()
    assert len(ironic.nodes.requests) == 6


async def test_a_node_the_page_missed_but_ironic_has_is_kept(repo: Repository) -> None:
    """A node created and introspected just after its page was read is in neither the page
    nor, yet, the comparison: Ironic's answer to the node itself decides."""
    ironic = NodesIronic(10)
    late = next(iter(ironic.nodes.items))
    ironic.hidden.add(late)
    await introspected(repo, [late])
    svc = services(repo, ironic, node_walk_period=0)
    assert await background.forget_deleted_nodes(svc, background.node_walk(svc)) == 0
    assert await repo.all_uuids() == [late] and ironic.gets == [late]


async def test_followers_do_not_walk(repo: Repository) -> None:
    ironic = NodesIronic(10)
    svc = services(repo, ironic, leader=False)
    assert await background.forget_deleted_nodes(svc, background.node_walk(svc)) == 0
    assert ironic.nodes.requests == []


async def test_period_zero_walks_every_node_every_round(repo: Repository) -> None:
    ironic = NodesIronic(1500)
    svc = services(repo, ironic, node_walk_period=0)
    walk = background.node_walk(svc)
    for _ in range(3):
        await background.forget_deleted_nodes(svc, walk)
    assert len(ironic.nodes.requests) == 6


def test_the_walk_runs_with_the_clean_ups() -> None:
    svc = cast(Services, SimpleNamespace(settings=load_settings()))
    assert "sync-ironic" in [name for name, _, _ in background.periodic_tasks(svc)]
