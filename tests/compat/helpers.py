"""Helpers for the compat tier: simulated machines, the ramdisk's side of an introspection,
and polling.

The real clients only ever play the operator's part; the ramdisk's ``POST /v1/continue`` is
sent with plain HTTP, exactly as ironic-python-agent sends it (one JSON object, no version
header).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from metalscope.simulator import SimulatedNode, make_node, ramdisk_data

T = TypeVar("T")

NodeFactory = Callable[..., dict[str, Any]]

# Seed 31 keeps the MACs clear of the integration tier's machines (seed 11). Simulated BMC
# addresses depend on the index alone, so compat machines use indices from 100 on: a record the
# integration tier leaves behind can never claim a compat machine's BMC address at lookup.
SEED = 31
FIRST_INDEX = 100


def machine(offset: int, **overrides: Any) -> SimulatedNode:
    """Simulated physical machine number ``FIRST_INDEX + offset`` of the compat fleet."""
    overrides.setdefault("virtual", False)
    return make_node(SEED, FIRST_INDEX + offset, **overrides)


def enroll(make_node_fixture: NodeFactory, box: SimulatedNode, name: str | None = None,
           **fields: Any) -> dict[str, Any]:
    """Enroll ``box`` in Ironic with a port for its PXE NIC and its BMC address, if it has a
    usable one (an unconfigured BMC reports ``0.0.0.0``)."""
    usable = box.bmc_address not in (None, "0.0.0.0")
    driver_info = {"ipmi_address": box.bmc_address} if usable else {}
    return make_node_fixture(name=name, driver_info=driver_info, macs=[box.pxe_mac], **fields)


def post_ramdisk_data(base_url: str, data: dict[str, Any]) -> httpx.Response:
    """POST ``data`` to ``/v1/continue`` the way the ramdisk does."""
    return httpx.post(f"{base_url}/v1/continue", json=data, timeout=60)


def run_ramdisk(base_url: str, box: SimulatedNode, **options: Any) -> dict[str, Any]:
    """Post ``box``'s ramdisk document; return the document after checking the 200 answer."""
    data = ramdisk_data(box, **options)
    response = post_ramdisk_data(base_url, data)
    assert response.status_code == 200, response.text
    return data


def wait_for(probe: Callable[[], T | None], timeout: float = 30,
             interval: float = 0.1, what: str = "condition") -> T:
    """Call ``probe`` until it returns something other than None (or False); return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def state_is(get_status: Callable[[str], dict[str, Any]], node_id: str,
             *states: str) -> Callable[[], dict[str, Any] | None]:
    """A probe for :func:`wait_for`: the status once its ``state`` is one of ``states``."""
    def probe() -> dict[str, Any] | None:
        status = get_status(node_id)
        return status if status["state"] in states else None
    return probe
