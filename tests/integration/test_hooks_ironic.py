"""Every optional processing hook and introspection rules, end to end against the real Ironic.

One MetalScope instance runs with all optional hooks enabled and their configuration
sections set; one simulated machine (a bare-metal x86 server with a GPU, LLDP on its PXE
NIC and extra-hardware data) is introspected once, and each test checks one kind of result
on the node in Ironic: properties, capabilities, traits, extra, ports, accelerators. The
last tests run ``metalscope rules test`` against that node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import SimulatedNode, ramdisk_data
from metalscope.simulator import make_node as make_machine
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

SEED = 31
HOOKS = ("$default_processing_hooks,extra_hardware,lldp_basic,local_link_connection,"
         "physnet_cidr_map,accelerators,raid_device")
GPU = ("10de", "1eb8")
GPU_ALIAS = json.dumps({"vendor_id": GPU[0], "product_id": GPU[1], "name": "gpu_t4"})
PXE_PHYSNET = "physnet-provisioning"
OPTIONS = {
    "processing": {"processing_hooks": HOOKS},
    "capabilities": {"boot_mode": "True"},
    "pci_devices": {"alias": GPU_ALIAS},
    "port_physnet": {"cidr_map": f"192.0.2.0/24:{PXE_PHYSNET},198.51.100.0/24:physnet-data"},
}


def pick_machine(predicate: Callable[[SimulatedNode], bool]) -> SimulatedNode:
    """The first machine of the seed's fleet with the wanted hardware."""
    for index in range(1000):
        machine = make_machine(SEED, index)
        if predicate(machine):
            return machine
    raise AssertionError("no simulated machine has the hardware this test needs")


def pxe_nic(machine: SimulatedNode) -> Any:
    return next(nic for nic in machine.nics if nic.mac_address == machine.pxe_mac)


def wanted(machine: SimulatedNode) -> bool:
    """Bare metal, UEFI, a GPU, LLDP heard on the PXE NIC, extra-hardware data, a BMC."""
    return (not machine.virtual and machine.boot_mode == "uefi"
            and pxe_nic(machine).switch is not None and machine.extra_hardware
            and any((d.vendor_id, d.product_id) == GPU for d in machine.pci_devices)
            and machine.bmc_address not in (None, "0.0.0.0")
            and any(disk.serial for disk in machine.disks))


def wait_finished(api: httpx.Client, uuid: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(f"/v1/introspection/{uuid}").json()
        if status.get("finished"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out, last status {status}")
        time.sleep(0.1)


def gpu_rule() -> dict[str, Any]:
    return {"description": "GPU nodes", "conditions": [
        {"op": "eq", "field": "data://pci_devices[*].vendor_id", "value": GPU[0]}],
        "actions": [{"action": "add-trait", "name": "CUSTOM_GPU"}]}


def extra_hardware_rule(machine: SimulatedNode) -> dict[str, Any]:
    """Conditions and values read the data the extra_hardware hook reshaped."""
    return {"description": "BIOS from extra hardware", "conditions": [
        {"op": "eq", "field": "extra.system.product.vendor", "value": machine.vendor}],
        "actions": [
            {"action": "set-attribute", "path": "/extra/bios_version",
             "value": "{data[extra][firmware][bios][version]}"},
            {"action": "extend-attribute", "path": "/extra/tags", "value": "extra-hardware",
             "unique": True}]}


@dataclass
class Introspected:
    machine: SimulatedNode
    uuid: str
    service: LocalMetalScope
    api: httpx.Client


@pytest.fixture(scope="module")
def introspected(ironic: LocalIronic,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Introspected]:
    """The machine introspected once by a MetalScope with every optional hook."""
    machine = pick_machine(wanted)
    with LocalMetalScope(tmp_path_factory.mktemp("metalscope-hooks"), ironic.url,
                         options=OPTIONS) as service, \
            httpx.Client(base_url=service.url, timeout=60) as api:
        for rule in (gpu_rule(), extra_hardware_rule(machine)):
            assert api.post("/v1/rules", json=rule).status_code == 201
        node = ironic.enroll_node(None, {"ipmi_address": machine.bmc_address},
                                  [machine.pxe_mac])
        try:
            response = api.post(f"/v1/introspection/{node['uuid']}",
                                params={"manage_boot": "false"})
            assert response.status_code == 202, response.text
            response = api.post("/v1/continue", json=ramdisk_data(machine))
            assert response.status_code == 200, response.text
            status = wait_finished(api, node["uuid"])
            assert status["state"] == "finished" and status["error"] is None, status
            yield Introspected(machine, node["uuid"], service, api)
        finally:
            ironic.delete_node(node["uuid"])


def test_properties(introspected: Introspected, ironic: LocalIronic) -> None:
    """scheduler: cpus, memory, architecture and disk size; raid_device leaves root_device."""
    props = ironic.get_node(introspected.uuid)["properties"]
    machine = introspected.machine
    assert props["cpus"] == str(machine.cpu.count)
    assert props["memory_mb"] == str(machine.memory_mb)
    assert props["cpu_arch"] == machine.cpu.architecture
    assert int(props["local_gb"]) > 0
    assert "root_device" not in props  # first raid_device run only records the disks


def test_capabilities(introspected: Introspected, ironic: LocalIronic) -> None:
    """capabilities (boot mode, CPU flags) and pci_devices (alias counts) merge into one string."""
    raw = ironic.get_node(introspected.uuid)["properties"]["capabilities"]
    caps = dict(item.split(":", 1) for item in raw.split(","))
    machine = introspected.machine
    assert caps["boot_mode"] == "uefi"
    flags = set(machine.cpu.flags)
    assert ("vmx" in flags or "svm" in flags) == (caps.get("cpu_vt") == "true")
    assert ("aes" in flags) == (caps.get("cpu_aes") == "true")
    gpus = sum((d.vendor_id, d.product_id) == GPU for d in machine.pci_devices)
    assert caps["gpu_t4"] == str(gpus)


def test_traits_from_rule(introspected: Introspected, ironic: LocalIronic) -> None:
    """A rule's add-trait reaches the node's traits."""
    assert "CUSTOM_GPU" in ironic.get_node(introspected.uuid)["traits"]


def test_extra(introspected: Introspected, ironic: LocalIronic) -> None:
    """extra_hardware feeds a rule (set-attribute, extend-attribute); raid_device saves serials."""
    extra = ironic.get_node(introspected.uuid)["extra"]
    machine = introspected.machine
    assert extra["bios_version"] == machine.firmware_version
    assert extra["tags"] == ["extra-hardware"]
    assert extra["block_devices"] == {"serials": [d.serial for d in machine.disks if d.serial]}


def test_ports(introspected: Introspected, ironic: LocalIronic) -> None:
    """lldp_basic + local_link_connection and physnet_cidr_map edit the PXE port."""
    switch = pxe_nic(introspected.machine).switch
    ports = ironic.list_ports(introspected.uuid)
    assert [p["address"] for p in ports] == [introspected.machine.pxe_mac]
    assert ports[0]["local_link_connection"] == {"switch_id": switch.chassis_mac,
                                                 "port_id": switch.port_id}
    assert ports[0]["physical_network"] == PXE_PHYSNET


def test_accelerators(introspected: Introspected, ironic: LocalIronic) -> None:
    """accelerators: the known GPU with its PCI address."""
    gpus = [d for d in introspected.machine.pci_devices if (d.vendor_id, d.product_id) == GPU]
    accelerators = ironic.get_node(introspected.uuid)["properties"]["accelerators"]
    assert accelerators == [{"vendor_id": GPU[0], "device_id": GPU[1], "type": "GPU",
                             "device_info": "NVIDIA Corporation Tesla T4",
                             "pci_address": gpu.bus} for gpu in gpus]


def test_stored_data(introspected: Introspected) -> None:
    """The stored data has the hooks' keys: extra (not data) and lldp_processed."""
    data = introspected.api.get(f"/v1/introspection/{introspected.uuid}/data").json()
    pxe = pxe_nic(introspected.machine)
    assert "data" not in data
    assert data["extra"]["system"]["product"]["name"] == introspected.machine.model
    processed = data["all_interfaces"][pxe.name]["lldp_processed"]
    assert processed["switch_port_id"] == pxe.switch.port_id


def rules_test(service: LocalMetalScope, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "metalscope.cli", "rules", "test", *args,
               "--config-file", str(service.config_file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture
def dry_run_rules(introspected: Introspected) -> Iterator[dict[str, str]]:
    """A rule that would change the node now and one that does not match; removed after."""
    machine = introspected.machine
    new = {"description": "would tag", "conditions": [
        {"op": "eq", "field": "inventory.system_vendor.manufacturer", "value": machine.vendor}],
        "actions": [{"action": "add-trait", "name": "CUSTOM_DRY_RUN"},
                    {"action": "set-attribute", "path": "/extra/dry_run", "value": "yes"}]}
    miss = {"description": "tiny", "conditions": [
        {"op": "lt", "field": "memory_mb", "value": 1}], "actions": [
        {"action": "fail", "message": "too small"}]}
    created = {name: introspected.api.post("/v1/rules", json=body).json()["uuid"]
               for name, body in (("new", new), ("miss", miss))}
    yield created
    for uuid in created.values():
        introspected.api.delete(f"/v1/rules/{uuid}")


def test_rules_dry_run(introspected: Introspected, ironic: LocalIronic,
                       dry_run_rules: dict[str, str]) -> None:
    """`metalscope rules test --node` reports matches and pending changes, changing nothing."""
    before = ironic.get_node(introspected.uuid)
    result = rules_test(introspected.service, "--node", introspected.uuid, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {r["description"] for r in report["matching"]} == {
        "GPU nodes", "BIOS from extra hardware", "would tag"}
    (miss,) = report["not_matching"]
    assert miss["uuid"] == dry_run_rules["miss"]
    assert miss["reason"] == ("condition 1 (memory_mb lt 1) is false: found "
                              f"{introspected.machine.memory_mb}")
    # The rules already applied change nothing more; only the new rule would.
    assert report["changes"]["traits_added"] == ["CUSTOM_DRY_RUN"]
    assert report["changes"]["node_patch"] == [
        {"op": "add", "path": "/extra/dry_run", "value": "yes"}]
    after = ironic.get_node(introspected.uuid)
    assert after["traits"] == before["traits"] and "CUSTOM_DRY_RUN" not in after["traits"]
    assert after["extra"] == before["extra"] and after["updated_at"] == before["updated_at"]


def test_rules_dry_run_text(introspected: Introspected,
                            dry_run_rules: dict[str, str]) -> None:
    """The text form names the node, the failing condition and each change."""
    result = rules_test(introspected.service, "--node", introspected.uuid)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Dry run of 4 rule(s) for node {introspected.uuid} (nothing is changed)"
    assert "  trait added: CUSTOM_DRY_RUN" in lines
    assert f"  {dry_run_rules['miss']} (tiny): condition 1 (memory_mb lt 1) is false: found " \
           f"{introspected.machine.memory_mb}" in lines


def test_rules_dry_run_without_data(introspected: Introspected, make_node: Any) -> None:
    """A node never introspected: a clear message and exit status 1."""
    node = make_node()
    result = rules_test(introspected.service, "--node", node["uuid"])
    assert result.returncode == 1
    assert f"No processed introspection data is stored for node {node['uuid']}" in result.stderr


def test_rules_export_import_live(introspected: Introspected, tmp_path: Path) -> None:
    """export reads the running service's rules; import of that file skips every one."""
    base = [sys.executable, "-m", "metalscope.cli", "rules"]
    conf = ["--config-file", str(introspected.service.config_file)]
    exported = subprocess.run([*base, "export", *conf], capture_output=True, text=True,
                              timeout=120, check=True).stdout
    listed = introspected.api.get("/v1/rules").json()["rules"]
    assert [r["uuid"] for r in json.loads(exported)] == [r["uuid"] for r in listed]
    path = tmp_path / "rules.json"
    path.write_text(exported)
    result = subprocess.run([*base, "import", str(path), *conf], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"0 created, {len(listed)} skipped"
