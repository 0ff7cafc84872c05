"""Following Ironic 39's own out-of-band inspections: Ironic's ``redfish`` inspect
interface reads a BMC (sushy-tools' ``sushy-static`` over a mockup with every resource
Ironic's inspection reads) and keeps the inventory in its database; a real
``metalscope serve`` with ``[follower]`` records it as a version with source
``ironic-redfish``, and a second inspection, the BMC reporting less memory, as a second
version with its diff."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.redfish import LocalRedfishMockup
from metalscope.testing.redfish_ironic import enroll_redfish_node, redfish_ironic_options
from metalscope.testing.service import LocalMetalScope
from tests.integration.following import history_of, wait_until

pytestmark = pytest.mark.integration

API = {"X-OpenStack-Ironic-Inspector-API-Version": "1.19"}


@pytest.fixture(scope="module")
def inspecting_redfish_ironic(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory,
                              repo_root: Path) -> Iterator[LocalIronic]:
    """An Ironic with ``redfish`` nodes inspected out of band by Ironic itself."""
    workdir = tmp_path_factory.mktemp("follow-redfish-ironic")
    options = redfish_ironic_options(workdir)
    options["DEFAULT"]["enabled_inspect_interfaces"] = "fake,no-inspect,redfish"
    options["inventory"] = {"data_backend": "database"}
    local = LocalIronic(workdir, ironic.bin_dir,
                        schema_cache_dir=repo_root / ".work" / "ironic-schema",
                        options=options)
    with local:
        yield local




@pytest.fixture
def bmc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedfishMockup]:
    with LocalRedfishMockup(tmp_path_factory.mktemp("follow-mockup")) as server:
        yield server


def inspect(ironic: LocalIronic, uuid: str) -> None:
    ironic.request_provision_action(uuid, "inspect")
    deadline = time.monotonic() + 120
    while True:
        node = ironic.get_node(uuid)
        if node["provision_state"] == "manageable" and node["reservation"] is None:
            return
        assert node["provision_state"] != "inspect failed", node["last_error"]
        assert time.monotonic() < deadline, f"node {uuid} is in {node['provision_state']}"
        time.sleep(0.25)


def test_follows_ironics_redfish_inspections(inspecting_redfish_ironic: LocalIronic,
                                             bmc: LocalRedfishMockup,
                                             tmp_path: Path) -> None:
    ironic = inspecting_redfish_ironic
    node = enroll_redfish_node(ironic, "follow-rf", bmc.driver_info(),
                               inspect_interface="redfish")
    uuid = node["uuid"]
    service = LocalMetalScope(tmp_path / "metalscope", ironic.url, options={
        "follower": {"enabled": True, "poll_interval": 1}})
    with service, httpx.Client(base_url=service.url, timeout=30, headers=API) as api:
        inspect(ironic, uuid)
        wait_until(lambda: history_of(api, uuid), "version 1")
        data = api.get(f"/v1/introspection/{uuid}/history/1").json()["data"]
        assert data["inventory"]["cpu"] and data["inventory"]["interfaces"]
        shrink_memory(bmc, 64)  # a DIMM pulled: the BMC reports less memory
        inspect(ironic, uuid)
        history = wait_until(lambda: len(h := history_of(api, uuid)) >= 2 and h, "version 2")
        assert [v["source"] for v in history] == ["ironic-redfish", "ironic-redfish"]
        assert history[0]["changed"] is True
        diff = api.get(f"/v1/introspection/{uuid}/diff").json()
        assert diff["memory"]["total_mb"]["delta"] == (64 - 96) * 1024


def shrink_memory(bmc: LocalRedfishMockup, gib: int) -> None:
    document = bmc.tree / "Systems" / "1" / "index.json"
    system = json.loads(document.read_text())
    system["MemorySummary"]["TotalSystemMemoryGiB"] = gib
    document.write_text(json.dumps(system))
