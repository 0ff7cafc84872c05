"""ironic-python-agent 13.0.0's own inspection code, run on this test machine, against MetalScope.

Nothing of IPA is copied or imitated: the test runs ``ironic-collect-introspection-data``, the
console script IPA ships for posting a fresh inventory from a running OS (ecosystem.md 6.4),
from the Ironic virtual environment. It calls IPA's ``inspector.inspect()``: the hardware
managers collect the real inventory of this machine (``lshw``, ``dmidecode``, ``udevadm``,
``lspci`` and ``/sys``, hence the Debian packages ``lshw dmidecode udev pciutils``), and IPA
posts it to ``/v1/continue`` with its own retry logic.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope
from tests.compat.helpers import NodeFactory, wait_for

pytestmark = pytest.mark.compat

IPA_SCRIPT = "ironic-collect-introspection-data"
# What IPA's hardware managers shell out to (Debian packages udev, lshw, dmidecode, pciutils).
HARDWARE_TOOLS = ("udevadm", "lshw", "dmidecode", "lspci")
GIB = 1024 ** 3
# IPA retries a 5xx answer up to 5 times, waiting 5-30 s in between.
IPA_TIMEOUT = 240


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip locally, but fail under CI, where .ci/run installs everything this test needs."""
    if _running_in_ci():
        pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
    pytest.skip(reason)


def machine_nics() -> dict[str, str]:
    """Name -> MAC of this machine's network devices, by IPA's own criterion (a ``device``
    link under ``/sys/class/net``), so the node can be enrolled before IPA runs."""
    nics = {}
    for path in sorted(Path("/sys/class/net").iterdir()):
        if not (path / "device").exists() or not (path / "address").exists():
            continue
        address = (path / "address").read_text().strip().lower()
        if address not in ("", "00:00:00:00:00:00"):
            nics[path.name] = address
    return nics


def meminfo_mb() -> int:
    """MemTotal in MiB: what the kernel can use, a little below the installed RAM."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def disk_gib(device: str) -> int:
    """Size of a block device such as ``/dev/vda`` in GiB, from ``/sys/block``."""
    sectors = int((Path("/sys/block") / Path(device).name / "size").read_text())
    return sectors * 512 // GIB


@pytest.fixture
def ipa_script(ironic: LocalIronic) -> Path:
    """IPA's console script in the Ironic virtual environment, with its tools installed."""
    script = ironic.bin_dir / IPA_SCRIPT
    if not script.is_file():
        _unavailable(f"ironic-python-agent is not installed: {script} is missing")
    missing = [tool for tool in HARDWARE_TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(f"IPA's hardware tools are missing ({', '.join(missing)}); "
                     "apt-get install udev lshw dmidecode pciutils")
    return script


@pytest.fixture
def nics() -> dict[str, str]:
    """This machine's NICs; IPA reports no interface (and lookup cannot work) without one."""
    found = machine_nics()
    if not found:
        _unavailable("this machine has no network device with a MAC under /sys/class/net")
    return found


def run_ipa(script: Path, callback_url: str) -> subprocess.CompletedProcess[str]:
    """One run of IPA's inspection with IPA's default collectors.

    DHCP waiting is off: there is no ``BOOTIF`` on a test machine's kernel command line, and
    the interfaces are already configured.
    """
    command = [str(script), "--inspection_callback_url", callback_url,
               "--inspection_collectors", "default,logs",
               "--inspection_dhcp_wait_timeout", "0"]
    return subprocess.run(command, capture_output=True, text=True, timeout=IPA_TIMEOUT,
                          check=False)


def finished(api: httpx.Client, node_id: str) -> dict[str, Any] | None:
    status: dict[str, Any] = api.get(f"/v1/introspection/{node_id}").json()
    return status if status["finished"] else None


def test_ipa_inspects_this_machine(metalscope: LocalMetalScope, ironic: LocalIronic,
                                   make_node: NodeFactory, ipa_script: Path,
                                   nics: dict[str, str]) -> None:
    """IPA's real inventory of this machine is found by MAC, finishes the introspection and
    sets Ironic's cpus, memory_mb, cpu_arch and local_gb to this machine's values."""
    node = make_node(macs=sorted(nics.values()))
    with httpx.Client(base_url=metalscope.url, timeout=60) as api:
        started = api.post(f"/v1/introspection/{node['uuid']}", params={"manage_boot": "false"})
        assert started.status_code == 202, started.text
        wait_for(lambda: api.get(f"/v1/introspection/{node['uuid']}").json()["state"]
                 == "waiting", what="waiting")
        ipa = run_ipa(ipa_script, f"{metalscope.url}/v1/continue")
        output = ipa.stdout + ipa.stderr
        assert ipa.returncode == 0, output[-4000:]
        assert "inspection finished successfully" in output
        status = wait_for(lambda: finished(api, node["uuid"]), what="finished")
        data: dict[str, Any] = api.get(f"/v1/introspection/{node['uuid']}/data").json()
    assert (status["state"], status["error"]) == ("finished", None)
    assert {iface["mac_address"] for iface in data["inventory"]["interfaces"]} >= set(
        nics.values())
    assert data["configuration"]["collectors"] == ["default", "logs"]
    properties = ironic.get_node(node["uuid"])["properties"]
    assert properties["cpu_arch"] == platform.machine()
    assert properties["cpus"] == str(os.cpu_count())
    memory_mb = int(properties["memory_mb"])
    assert memory_mb == data["inventory"]["memory"]["physical_mb"]
    assert meminfo_mb() <= memory_mb <= meminfo_mb() * 5 // 4
    assert properties["local_gb"] == str(disk_gib(data["root_disk"]["name"]) - 1)
