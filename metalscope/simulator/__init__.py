"""A ramdisk simulator: realistic ironic-python-agent documents and an IPA-like poster.

Used by the demo, the integration tests and the benchmarks. Generation is deterministic: the
same ``(seed, index)`` always yields the same machine and the same document.
"""

from __future__ import annotations

from metalscope.simulator.inventory import (
    SimulatedCpu,
    SimulatedDisk,
    SimulatedNic,
    SimulatedNode,
    SimulatedPciDevice,
    SwitchPort,
    lldp_tlvs,
    make_fleet,
    make_node,
    ramdisk_data,
    ramdisk_logs,
)
from metalscope.simulator.poster import (
    PostResult,
    RetryPolicy,
    continue_url,
    ipa_backoff,
    post_inventory,
    run_fleet,
)

__all__ = [
    "PostResult",
    "RetryPolicy",
    "SimulatedCpu",
    "SimulatedDisk",
    "SimulatedNic",
    "SimulatedNode",
    "SimulatedPciDevice",
    "SwitchPort",
    "continue_url",
    "ipa_backoff",
    "lldp_tlvs",
    "make_fleet",
    "make_node",
    "post_inventory",
    "ramdisk_data",
    "ramdisk_logs",
    "run_fleet",
]
