"""An Ironic (33 and later) that inspects by itself, and a simulated ramdisk for it.

:func:`agent_inspecting_ironic` configures a :class:`~metalscope.testing.ironic.LocalIronic`
for in-band inspection of its own: the ``agent`` inspect interface enabled beside ``fake``
and ``no-inspect``, ``[inspector]require_managed_boot = false`` (the fake boot interface
cannot validate an inspection boot) and the inventories kept in Ironic's database
(``[inventory]data_backend = database``), so ``GET /v1/nodes/{node}/inventory`` serves them.

:class:`RamdiskInspections` drives one inspection as Ironic and its ramdisk would: the
``inspect`` provision action (the node goes to ``inspect wait``), then the simulated
machine's IPA document posted to Ironic's ``/v1/continue_inspection`` (no authentication;
Ironic finds the node by the inventory's MACs or BMC address), then the wait until the node
rests in ``manageable`` with ``inspection_finished_at`` set.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from metalscope.simulator import SimulatedNode, ramdisk_data
from metalscope.testing.ironic import LocalIronic

#: The options of an Ironic that inspects in band by itself.
AGENT_INSPECTION_OPTIONS: dict[str, dict[str, Any]] = {
    "DEFAULT": {"enabled_inspect_interfaces": "agent,fake,no-inspect"},
    "inspector": {"require_managed_boot": False},
    "inventory": {"data_backend": "database"},
}
#: The first microversion of the continue_inspection call.
CONTINUE_API_VERSION = "1.84"


def agent_inspecting_ironic(workdir: Path, bin_dir: Path, *,
                            schema_cache_dir: Path | None = None,
                            options: dict[str, dict[str, Any]] | None = None) -> LocalIronic:
    """A LocalIronic (not started) configured for its own agent inspection; ``options``
    are merged over it, section by section."""
    merged = {section: dict(values) for section, values in AGENT_INSPECTION_OPTIONS.items()}
    for section, values in (options or {}).items():
        merged.setdefault(section, {}).update(values)
    return LocalIronic(workdir, bin_dir, schema_cache_dir=schema_cache_dir, options=merged)


class InspectionFailed(RuntimeError):
    """Ironic refused the ramdisk's data or did not finish the inspection."""


class RamdiskInspections:
    """Ironic's own inspections of simulated machines, the ramdisk played by this class."""

    def __init__(self, ironic: LocalIronic, timeout: float = 60) -> None:
        self.ironic = ironic
        self.timeout = timeout

    def enroll(self, machine: SimulatedNode, name: str | None = None,
               **fields: Any) -> dict[str, Any]:
        """A ``manageable`` node with the machine's ports and the agent inspect interface."""
        return self.ironic.enroll_node(name or machine.name, {}, list(machine.macs),
                                       inspect_interface="agent", **fields)

    def inspect(self, uuid: str, machine: SimulatedNode) -> dict[str, Any]:
        """One whole inspection of node ``uuid`` finding ``machine``; the node afterwards."""
        self.ironic.request_provision_action(uuid, "inspect")
        self._wait(uuid, "inspect wait")
        document = ramdisk_data(machine, with_logs=False)
        headers = {"X-OpenStack-Ironic-API-Version": self.ironic.api_version
                   or CONTINUE_API_VERSION}
        with httpx.Client(base_url=self.ironic.url, timeout=30) as http:
            answer = http.post("/v1/continue_inspection", json=document, headers=headers)
        if answer.status_code != 202:
            raise InspectionFailed(f"Ironic answered the ramdisk of node {uuid} with "
                                   f"{answer.status_code}: {answer.text}")
        node = self._wait(uuid, "manageable")
        if not node.get("inspection_finished_at"):
            raise InspectionFailed(f"node {uuid} has no inspection_finished_at")
        return node

    def _wait(self, uuid: str, state: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            node = self.ironic.get_node(uuid)
            if node["provision_state"] == state and node["reservation"] is None:
                return node
            if node["provision_state"] == "inspect failed" or time.monotonic() > deadline:
                raise InspectionFailed(f"node {uuid} is in {node['provision_state']}, not "
                                       f"{state}: {node['last_error']}")
            time.sleep(0.2)
