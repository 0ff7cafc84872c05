"""Two MetalScope instances following one Ironic 39 over one PostgreSQL or MariaDB database:
every inspection Ironic makes becomes exactly one version, whichever instance leads, and
when the leader stops the other takes the polls over from the stored watermark."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metalscope.simulator import make_node, replace_disk
from metalscope.testing.databases import ScratchDatabase
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.ironic_inspection import RamdiskInspections, agent_inspecting_ironic
from metalscope.testing.service import LocalMetalScope
from tests.integration.following import wait_until

pytestmark = pytest.mark.integration

API = {"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}
RECORDED = re.compile(r"Following Ironic: version \d+ of node ([0-9a-f-]{36}) recorded")
SEED = 4242


@pytest.fixture(scope="module")
def inspecting_ironic(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory,
                      repo_root: Path) -> Iterator[LocalIronic]:
    local = agent_inspecting_ironic(tmp_path_factory.mktemp("follow-instances"),
                                    ironic.bin_dir,
                                    schema_cache_dir=repo_root / ".work" / "ironic-schema")
    with local:
        yield local



def version_count(url: str, uuid: str) -> int:
    answer = httpx.get(f"{url}/v1/introspection/{uuid}/history", headers=API, timeout=30)
    return len(answer.json()["history"]) if answer.status_code == 200 else 0


def recorded(services: list[LocalMetalScope]) -> list[str]:
    return [match[1] for service in services
            for match in RECORDED.finditer(service.log_file.read_text(errors="replace"))]


def test_two_instances_record_each_inspection_once(inspecting_ironic: LocalIronic,
                                                   scratch_database: ScratchDatabase,
                                                   tmp_path: Path) -> None:
    ramdisk = RamdiskInspections(inspecting_ironic)
    seed = SEED + len(scratch_database.kind)  # the two databases' runs share one Ironic
    machines = [make_node(seed, index) for index in range(3)]
    uuids = [ramdisk.enroll(machine, name=f"{scratch_database.kind}-{machine.name}")["uuid"]
             for machine in machines]
    services = [LocalMetalScope(tmp_path / f"instance-{index}", inspecting_ironic.url, options={
        "DEFAULT": {"clean_up_period": 0},
        "database": {"connection": scratch_database.url},
        "follower": {"enabled": True, "poll_interval": 1}}) for index in range(2)]
    try:
        for service in services:
            service.start()
        for uuid, machine in zip(uuids, machines, strict=True):
            ramdisk.inspect(uuid, machine)
        for uuid in uuids:
            wait_until(lambda u=uuid: version_count(services[1].url, u) == 1, f"{uuid} v1",
                       timeout=90)
        # The leader stops; the other instance goes on from the stored watermark.
        leader = next(s for s in services if recorded([s]))
        leader.stop()
        follower = next(s for s in services if s is not leader)
        for uuid, machine in zip(uuids, machines, strict=True):
            ramdisk.inspect(uuid, replace_disk(machine))
        for uuid in uuids:
            wait_until(lambda u=uuid: version_count(follower.url, u) == 2, f"{uuid} v2",
                       timeout=90)
        time.sleep(3)  # a few more polls: nothing more is recorded
        assert all(version_count(follower.url, uuid) == 2 for uuid in uuids)
        # Each inspection recorded once in all (the other database's run left its nodes
        # in this Ironic: they are followed too, and left out here).
        lines = [uuid for uuid in recorded(services) if uuid in uuids]
        assert sorted(lines) == sorted(uuids * 2)
        assert set(recorded([follower])) >= set(uuids)
    finally:
        for service in services:
            service.stop()
