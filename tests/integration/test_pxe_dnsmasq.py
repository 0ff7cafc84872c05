"""The dnsmasq PXE filter against a real dnsmasq and a real DHCP client.

Two network namespaces joined by a veth pair: dnsmasq (``--dhcp-hostsdir``) serves one end,
``dhclient`` asks for an address from the other end with the MAC under test. Needs root,
``ip netns``, ``dnsmasq`` and ``dhclient`` (Debian: iproute2, dnsmasq, isc-dhcp-client);
without them the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.pxe_filter.dnsmasq import UNKNOWN_HOSTS, HostsDir
from metalscope.pxe_filter.policy import Changes, DesiredState, Verdict
from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope, render_config

pytestmark = pytest.mark.integration

#: DISCOVERs for 3 s (at least two); dnsmasq (``--no-ping``) answers the first in ~50 ms.
DHCLIENT_CONF = "timeout 3;\nretry 1;\ninitial-interval 1;\ninitial-delay 0;\n"
OFFER_TIMEOUT = 8.0
FILE_TIMEOUT = 15.0
OFFERED, NOT_OFFERED = b"DHCPOFFER of ", b"No DHCPOFFERS received"
_lab_numbers = itertools.count(1)


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing_capability() -> str | None:
    for tool in ("ip", "dnsmasq", "dhclient"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install iproute2 dnsmasq isc-dhcp-client)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"msprobe{os.getpid()}"
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return f"cannot create a network namespace: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@pytest.fixture(scope="module")
def namespaces_possible() -> None:
    reason = _missing_capability()
    if reason is None:
        return
    if _running_in_ci():
        pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
    pytest.skip(reason)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@dataclass
class DhcpLab:
    """dnsmasq in ``server`` on ``10.<n>.0.1/24``, a DHCP client interface in ``client``."""

    server: str
    client: str
    client_if: str
    hostsdir: Path
    workdir: Path
    dnsmasq: subprocess.Popen[bytes] | None = None

    def offers(self, mac: str, timeout: float = OFFER_TIMEOUT) -> bool:
        """Whether dnsmasq offers an address to ``mac`` (a fresh client, bounded wait)."""
        sh("ip", "-n", self.client, "link", "set", self.client_if, "down")
        sh("ip", "-n", self.client, "link", "set", self.client_if, "address", mac)
        sh("ip", "-n", self.client, "link", "set", self.client_if, "up")
        lease = self.workdir / "dhclient.leases"
        lease.unlink(missing_ok=True)
        client = subprocess.Popen(
            ["ip", "netns", "exec", self.client, "dhclient", "-1", "-d", "-v",
             "-cf", str(self.workdir / "dhclient.conf"), "-sf", "/bin/true",
             "-lf", str(lease), "-pf", str(self.workdir / "dhclient.pid"), self.client_if],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert client.stdout is not None
        output = b""
        deadline = time.monotonic() + timeout
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client.stdout, selectors.EVENT_READ)
                while OFFERED not in output and NOT_OFFERED not in output:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not selector.select(remaining):
                        break
                    chunk = os.read(client.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    output += chunk
            return OFFERED in output
        finally:
            client.kill()
            client.wait(timeout=10)
            client.stdout.close()

    def log(self) -> str:
        path = self.workdir / "dnsmasq.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def lab(namespaces_possible: None, tmp_path: Path) -> Iterator[DhcpLab]:
    number = next(_lab_numbers)
    tag = f"{os.getpid() % 10000}x{number}"
    subnet = f"10.{100 + (os.getpid() + number) % 100}.0"
    lab = DhcpLab(server=f"mss{tag}", client=f"msc{tag}", client_if="veth1",
                  hostsdir=tmp_path / "hostsdir", workdir=tmp_path)
    lab.hostsdir.mkdir()
    (tmp_path / "dhclient.conf").write_text(DHCLIENT_CONF)
    try:
        sh("ip", "netns", "add", lab.server)
        sh("ip", "netns", "add", lab.client)
        sh("ip", "-n", lab.server, "link", "add", "veth0", "type", "veth", "peer", "name",
           "veth1", "netns", lab.client)
        sh("ip", "-n", lab.server, "addr", "add", f"{subnet}.1/24", "dev", "veth0")
        for ns, interface in ((lab.server, "veth0"), (lab.client, "veth1")):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", interface, "up")
        lab.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", lab.server, "dnsmasq", "--no-daemon", "--conf-file=/dev/null",
             "--port=0", "--interface=veth0", "--bind-interfaces", "--user=root", "--no-ping",
             f"--dhcp-range={subnet}.10,{subnet}.250,1h", f"--dhcp-hostsdir={lab.hostsdir}",
             f"--dhcp-leasefile={tmp_path / 'dnsmasq.leases'}", "--log-dhcp",
             f"--log-facility={tmp_path / 'dnsmasq.log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: "DHCP, sockets bound" in lab.log(), 10, "dnsmasq did not start")
        yield lab
    finally:
        if lab.dnsmasq is not None:
            lab.dnsmasq.terminate()
            try:
                lab.dnsmasq.wait(timeout=10)
            except subprocess.TimeoutExpired:
                lab.dnsmasq.kill()
                lab.dnsmasq.wait()
        for ns in (lab.client, lab.server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def wait_file(hostsdir: Path, name: str, text: str, timeout: float = FILE_TIMEOUT) -> None:
    path = hostsdir / name
    _wait_for(lambda: path.exists() and path.read_text() == text, timeout,
              f"{path} never became {text!r}: "
              f"{path.read_text() if path.exists() else 'missing'!r}")


MAC_1, MAC_2, MAC_3 = "02:5c:00:00:00:01", "02:5c:00:00:00:02", "02:5c:00:00:00:03"


class TestRealDnsmasq:
    def test_denied_mac_gets_no_offer_allowed_mac_does(self, lab: DhcpLab) -> None:
        """Files written by the driver: an allowed MAC is answered, a denied one ignored,
        and an unknown MAC follows the wildcard."""
        hosts = HostsDir(lab.hostsdir, purge=False)

        async def write() -> None:
            await hosts.open(initial=True)
            desired = DesiredState({MAC_1, MAC_2}, {MAC_1}, Verdict.DENY, dhcp_disabled=False)
            await hosts.apply(Changes(write={MAC_1: Verdict.ALLOW, MAC_2: Verdict.DENY},
                                      unknown=Verdict.DENY), desired)
        asyncio.run(write())
        assert lab.offers(MAC_1), lab.log()
        assert not lab.offers(MAC_2), lab.log()
        assert not lab.offers(MAC_3), lab.log()

        async def flip() -> None:
            desired = DesiredState({MAC_1, MAC_2}, {MAC_2}, Verdict.ALLOW, dhcp_disabled=False)
            await hosts.apply(Changes(write={MAC_1: Verdict.DENY, MAC_2: Verdict.ALLOW},
                                      unknown=Verdict.ALLOW), desired)
        asyncio.run(flip())
        assert not lab.offers(MAC_1), lab.log()
        assert lab.offers(MAC_2), lab.log()
        assert lab.offers(MAC_3), lab.log()


@pytest.fixture
def filtered_metalscope(lab: DhcpLab, ironic: LocalIronic,
                        tmp_path: Path) -> Iterator[LocalMetalScope]:
    service = LocalMetalScope(tmp_path / "metalscope", ironic.url, options={
        "pxe_filter": {"driver": "dnsmasq", "sync_period": 1},
        "dnsmasq_pxe_filter": {"dhcp_hostsdir": str(lab.hostsdir)}})
    with service:
        yield service


def start(api: httpx.Client, uuid: str) -> None:
    response = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert response.status_code == 202, response.text
    assert api.get(f"/v1/introspection/{uuid}").json()["state"] == "waiting"


def wait_finished(api: httpx.Client, uuid: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/v1/introspection/{uuid}").json()
        if status["finished"]:
            return status  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"introspection of {uuid} did not finish: {status}")
        time.sleep(0.1)


class TestIntrospectionDrivesTheFilter:
    def test_finished_introspection(self, lab: DhcpLab, filtered_metalscope: LocalMetalScope,
                                    make_node: Any, mac_factory: Callable[[], str]) -> None:
        """Closed while idle, open once introspection starts, closed again once finished."""
        machine = make_machine(seed=23, index=1, macs=[mac_factory()])
        node = make_node(macs=[machine.pxe_mac])
        wait_file(lab.hostsdir, machine.pxe_mac, f"{machine.pxe_mac},ignore\n")
        assert not lab.offers(machine.pxe_mac), lab.log()
        with httpx.Client(base_url=filtered_metalscope.url, timeout=60) as api:
            start(api, node["uuid"])
            assert (lab.hostsdir / machine.pxe_mac).read_text() == f"{machine.pxe_mac}\n"
            assert lab.offers(machine.pxe_mac), lab.log()
            response = api.post("/v1/continue", json=ramdisk_data(machine))
            assert response.status_code == 200, response.text
            assert wait_finished(api, node["uuid"])["state"] == "finished"
        wait_file(lab.hostsdir, machine.pxe_mac, f"{machine.pxe_mac},ignore\n")
        assert not lab.offers(machine.pxe_mac), lab.log()

    def test_aborted_introspection(self, lab: DhcpLab, filtered_metalscope: LocalMetalScope,
                                   make_node: Any, mac_factory: Callable[[], str]) -> None:
        mac = mac_factory()
        node = make_node(macs=[mac])
        wait_file(lab.hostsdir, mac, f"{mac},ignore\n")
        with httpx.Client(base_url=filtered_metalscope.url, timeout=60) as api:
            start(api, node["uuid"])
            assert lab.offers(mac), lab.log()
            assert (lab.hostsdir / UNKNOWN_HOSTS).read_text() == "*:*:*:*:*:*\n"
            assert api.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
            wait_file(lab.hostsdir, mac, f"{mac},ignore\n")  # the abort ends in the background
        assert not lab.offers(mac), lab.log()


def test_pxe_filter_command_follows_the_shared_database(
        lab: DhcpLab, ironic: LocalIronic, make_node: Any, mac_factory: Callable[[], str],
        tmp_path: Path) -> None:
    """``metalscope pxe-filter`` beside dnsmasq, the API instance with the noop filter."""
    service = LocalMetalScope(tmp_path / "metalscope", ironic.url)
    mac = mac_factory()
    node = make_node(macs=[mac])
    with service:
        sections = {**service.sections,
                    "pxe_filter": {"driver": "dnsmasq", "sync_period": 1},
                    "dnsmasq_pxe_filter": {"dhcp_hostsdir": str(lab.hostsdir)}}
        config = tmp_path / "pxe-filter.conf"
        config.write_text(render_config(sections))
        log = (tmp_path / "pxe-filter.log").open("wb")
        command = subprocess.Popen([service.python, "-m", "metalscope.cli", "pxe-filter",
                                    "--config-file", str(config)], stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            wait_file(lab.hostsdir, mac, f"{mac},ignore\n")
            with httpx.Client(base_url=service.url, timeout=60) as api:
                start(api, node["uuid"])
                wait_file(lab.hostsdir, mac, f"{mac}\n")
                assert lab.offers(mac), lab.log()
                assert api.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
            wait_file(lab.hostsdir, mac, f"{mac},ignore\n")
            assert not lab.offers(mac), lab.log()
        finally:
            command.terminate()
            try:
                assert command.wait(timeout=30) == 0, (tmp_path / "pxe-filter.log").read_text()
            finally:
                if command.poll() is None:
                    command.kill()
                    command.wait()
                log.close()
