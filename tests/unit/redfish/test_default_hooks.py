"""The default processing hooks run unchanged on out-of-band data; what they say about the
data Redfish does not supply is recorded here."""

import logging
from typing import Any

import pytest

from metalscope.errors import MetalScopeError
from metalscope.extensions import ExtensionRegistry
from metalscope.node_changes import NodeChanges
from metalscope.redfish.inventory import ramdisk_data
from metalscope.redfish.reader import Documents
from tests.factories import node_changes, settings
from tests.unit.redfish.test_inventory import full_documents, minimal_documents

DEFAULT_HOOKS = ["ramdisk_error", "root_disk_selection", "scheduler", "validate_interfaces",
                 "capabilities", "pci_devices"]


def emulator_documents() -> Documents:
    """What sushy-emulator's fake driver serves: a system, a NIC without an address, a drive."""
    return Documents(
        system_path="/redfish/v1/Systems/x",
        system={"Id": "x", "UUID": "x", "Manufacturer": "Sushy Emulator",
                "Boot": {"BootSourceOverrideMode": "UEFI"}},
        ethernet=[{"Id": "n1", "MACAddress": "52:54:00:AA:BB:01", "Status": {"State": "Enabled"}}],
        storage=[{"storage": {"Id": "1"}, "controllers": [],
                  "drives": [{"Id": "d1", "CapacityBytes": 500 << 30, "MediaType": "HDD"}]}],
        missing=["Processors", "Memory", "PCIeDevices", "Bios"])


def run_hooks(data: dict[str, Any], node: NodeChanges) -> tuple[list[str], list[str]]:
    """Both phases as processing runs them: pre-processing failures collected, then (only
    without them) the update phase; returns (pre-processing failures, update failures)."""
    registry = ExtensionRegistry.from_settings(settings())
    assert [name for name, _ in registry.hooks] == DEFAULT_HOOKS
    failures = []
    for name, hook in registry.hooks:
        try:
            hook.before_processing(data)
        except MetalScopeError as exc:
            failures.append(f"Preprocessing hook {name}: {exc}")
    update_failures = []
    for name, hook in registry.hooks:
        try:
            hook.before_update(data, node)
        except MetalScopeError as exc:
            update_failures.append(f"{name}: {exc}")
    return failures, update_failures


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name.rsplit('.', 1)[-1]}: {r.getMessage()}" for r in caplog.records
            if r.levelno >= logging.WARNING]


def test_full_bmc(caplog: pytest.LogCaptureFixture) -> None:
    """Every resource served: the scheduler properties, local_gb and a port, as from a
    ramdisk; only the PXE interface is unknown (Redfish does not say which NIC booted), so
    every NIC gets a port (out-of-band data has no IP addresses to select by)."""
    data, node = ramdisk_data(full_documents()), node_changes()
    with caplog.at_level(logging.WARNING):
        assert run_hooks(data, node) == ([], [])
    assert {op["path"]: op["value"] for op in node.pending.node_patch} == {
        "/properties/local_gb": "446", "/properties/cpus": "48",
        "/properties/cpu_arch": "x86_64", "/properties/memory_mb": "98304"}
    assert [p.address for p in node.pending.ports_created] == ["3c:fd:fe:aa:00:01",
                                                               "3c:fd:fe:aa:00:02"]
    assert warnings(caplog) == [
        "validate_interfaces: The ramdisk did not report the PXE boot interface, selecting "
        "interfaces as with add_ports=active"]


def test_emulator_like_bmc(caplog: pytest.LogCaptureFixture) -> None:
    """No Processors/Memory and NICs without addresses: validate_interfaces takes the NIC
    (a BMC knows no host address), scheduler warns; only local_gb is set."""
    data, node = ramdisk_data(emulator_documents()), node_changes()
    with caplog.at_level(logging.WARNING):
        pre, update = run_hooks(data, node)
    assert pre == []
    assert update == []
    assert [p.address for p in node.pending.ports_created] == ["52:54:00:aa:bb:01"]
    assert node.pending.node_patch == [
        {"op": "add", "path": "/properties/local_gb", "value": "499"}]
    assert warnings(caplog)[1:] == [
        "scheduler: Malformed or missing CPU information in the inventory: None",
        "scheduler: Malformed or missing memory information in the inventory: None"]


def test_bare_bmc() -> None:
    """A system and nothing else: every inventory hook fails on the missing interfaces."""
    pre, update = run_hooks(ramdisk_data(minimal_documents()), node_changes())
    assert pre == ["Preprocessing hook validate_interfaces: "
                   "No network interfaces provided in the inventory"]
    assert update == [f"{name}: No network interfaces provided in the inventory"
                      for name in ("root_disk_selection", "scheduler", "capabilities")]
