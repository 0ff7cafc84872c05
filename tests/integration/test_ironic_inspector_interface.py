"""A real Ironic 32.x with ``inspect_interface = inspector`` drives MetalScope.

Ironic calls MetalScope's API exactly as it called ironic-inspector (see
``metalscope/testing/inspector_interface.py`` for what it does): it starts the
introspection, polls the status, fetches the processed data, and aborts. Here Ironic leaves
the boot to MetalScope (fake boot interface, noop network), MetalScope runs with no auth and
the noop PXE filter, and the ramdisk is simulated by posting IPA data to ``/v1/continue``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from metalscope.simulator import SimulatedNode, make_node, ramdisk_data
from metalscope.testing.inspector_interface import callback_host_name, inspector_interface_options
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope, free_port

pytestmark = pytest.mark.integration

T = TypeVar("T")
#: Simulated machines of this module (seed and indices apart from the other tiers').
SEED = 47
#: What "the abort returns at once" means here: Ironic's own work on the request included.
ABORT_ANSWER_LIMIT = 1.0


@dataclass
class DrivenMetalScope:
    ironic: LocalIronic
    metalscope: LocalMetalScope
    api: httpx.Client

    def status(self, uuid: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/introspection/{uuid}")
        return response.json() if response.status_code == 200 else {}  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def driven(ironic32_bin_dir: Path, repo_root: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrivenMetalScope]:
    """Ironic 32 whose ``inspector`` interface points at a MetalScope that manages Ironic."""
    port = free_port()
    options = inspector_interface_options(f"http://127.0.0.1:{port}", callback_host_name())
    ironic = LocalIronic(tmp_path_factory.mktemp("ironic32"), ironic32_bin_dir,
                         schema_cache_dir=repo_root / ".work" / "ironic-schema", options=options)
    with (ironic,
          LocalMetalScope(tmp_path_factory.mktemp("metalscope-driven"), ironic.url,
                          port=port) as metalscope,
          httpx.Client(base_url=metalscope.url, timeout=60) as api):
        yield DrivenMetalScope(ironic, metalscope, api)


@pytest.fixture
def enroll(driven: DrivenMetalScope) -> Iterator[Callable[[SimulatedNode], dict[str, Any]]]:
    """Enroll a simulated machine in ``manageable`` with ``inspect_interface = inspector``."""
    created: list[str] = []

    def make(box: SimulatedNode) -> dict[str, Any]:
        node = driven.ironic.enroll_node(None, {"ipmi_address": box.bmc_address}, [box.pxe_mac],
                                         inspect_interface="inspector")
        created.append(node["uuid"])
        return node

    yield make
    for uuid in created:
        driven.ironic.delete_node(uuid)


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def provision_state_is(ironic: LocalIronic, uuid: str, state: str) -> dict[str, Any] | None:
    node = ironic.get_node(uuid)
    return node if node["provision_state"] == state and node["reservation"] is None else None


def inspect_until_waiting(driven: DrivenMetalScope, uuid: str) -> dict[str, Any]:
    """``inspect`` through Ironic; return once MetalScope waits for the ramdisk and the
    reboot it asked Ironic for is done (node powered on, no reservation)."""
    driven.ironic.request_provision_action(uuid, "inspect")

    def booted() -> dict[str, Any] | None:
        node = driven.ironic.get_node(uuid)
        ready = (driven.status(uuid).get("state") == "waiting" and node["reservation"] is None
                 and node["provision_state"] == "inspect wait"
                 and node["power_state"] == "power on")
        return node if ready else None

    return wait_for(booted, "MetalScope to boot the node")


def test_inspection_driven_by_ironic(driven: DrivenMetalScope,
                                     enroll: Callable[[SimulatedNode], dict[str, Any]]) -> None:
    """inspect → MetalScope boots the node → ramdisk data → Ironic sees the end, stores the
    inventory, sets the properties and returns the node to ``manageable``."""
    box = make_node(SEED, 1, virtual=False)
    uuid = enroll(box)["uuid"]
    inspect_until_waiting(driven, uuid)
    response = driven.api.post("/v1/continue", json=ramdisk_data(box))
    assert response.status_code == 200 and response.json() == {"uuid": uuid}
    node = driven.ironic.wait_for_rest(uuid, "manageable", timeout=60)
    node = driven.ironic.get_node(uuid)
    assert node["last_error"] is None and node["power_state"] == "power off"
    properties = node["properties"]
    assert (properties["cpus"], properties["memory_mb"], properties["cpu_arch"]) == (
        str(box.cpu.count), str(box.memory_mb), box.cpu.architecture)
    inventory = httpx.get(f"{driven.ironic.url}/v1/nodes/{uuid}/inventory", timeout=30,
                          headers={"X-OpenStack-Ironic-API-Version": "1.81"})
    assert inventory.status_code == 200, inventory.text
    assert inventory.json()["inventory"]["cpu"]["count"] == box.cpu.count
    status = driven.status(uuid)
    assert (status["state"], status["finished"], status["error"]) == ("finished", True, None)


def test_abort_driven_by_ironic(driven: DrivenMetalScope,
                                enroll: Callable[[SimulatedNode], dict[str, Any]],
                                record_property: Callable[[str, object], None]) -> None:
    """Ironic's abort (its conductor holding the node lock while it calls MetalScope) returns
    at once; MetalScope powers the node off afterwards and ends "Canceled by operator"."""
    box = make_node(SEED, 2, virtual=False)
    uuid = enroll(box)["uuid"]
    inspect_until_waiting(driven, uuid)
    started = time.monotonic()
    driven.ironic.request_provision_action(uuid, "abort")
    elapsed = time.monotonic() - started
    record_property("abort_seconds", round(elapsed, 3))
    print(f"abort through Ironic answered in {elapsed:.3f} s")
    assert elapsed < ABORT_ANSWER_LIMIT, f"the abort took {elapsed:.2f} s"
    wait_for(lambda: provision_state_is(driven.ironic, uuid, "inspect failed"),
             "Ironic to fail the inspection")
    status = wait_for(lambda: driven.status(uuid) if driven.status(uuid).get("finished") else None,
                      "MetalScope to finish the abort")
    assert (status["state"], status["error"]) == ("error", "Canceled by operator")
    wait_for(lambda: True if driven.ironic.get_node(uuid)["power_state"] == "power off" else None,
             "the node to be powered off", timeout=30)
