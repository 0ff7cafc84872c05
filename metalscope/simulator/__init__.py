"""A ramdisk simulator: realistic ironic-python-agent documents and an IPA-like poster.

Used by the demo, the integration tests and the benchmarks. Generation is deterministic: the
same ``(seed, index)`` always yields the same machine and the same document.
"""

from __future__ import annotations

from metalscope.simulator.dmi import SimulatedDimm, dmi_section, dmidecode_text
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
from metalscope.simulator.mutations import (
    add_dimm,
    add_pci_device,
    change_firmware,
    remove_dimm,
    replace_disk,
    replace_nic,
    swap_nic,
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
    "SimulatedDimm",
    "SimulatedDisk",
    "SimulatedNic",
    "SimulatedNode",
    "SimulatedPciDevice",
    "SwitchPort",
    "add_dimm",
    "add_pci_device",
    "change_firmware",
    "continue_url",
    "dmi_section",
    "dmidecode_text",
    "ipa_backoff",
    "lldp_tlvs",
    "make_fleet",
    "make_node",
    "post_inventory",
    "ramdisk_data",
    "ramdisk_logs",
    "remove_dimm",
    "replace_disk",
    "replace_nic",
    "run_fleet",
    "swap_nic",
]
